"""The shipped reader on real text: exact offsets, hard characters, long passages, bad input."""

import pytest

from qa.config import READERS

KIRBY = (
    "Speaking to reporters on Friday, National Security Council spokesperson John Kirby said the "
    "United States was monitoring a large Serbian military deployment along the border with Kosovo."
)


def assert_exact(spans, passages):
    assert spans, "the reader found nothing"
    for s in spans:
        assert passages[s.passage][s.start : s.end] == s.text
        assert 0.0 <= s.score <= 1.0


def test_finds_the_answer_with_exact_offsets(reader):
    spans = reader.read("Who is the National Security Council spokesperson?", [KIRBY])
    assert_exact(spans, [KIRBY])
    assert "Kirby" in spans[0].text
    assert spans == sorted(spans, key=lambda s: -s.score)


def test_offsets_hold_with_accents_and_emoji(reader):
    passages = [
        "Serbian President Aleksandar Vučić 🇷🇸 denied that Belgrade planned to invade. 😀 " * 3,
        "The fighting took place near the village of Banjskë, in northern Kosovo, on Sunday. ✨",
    ]
    for question in ("Who denied the plan?", "Near which village was the fighting?"):
        assert_exact(reader.read(question, passages), passages)
    top = reader.read("Near which village was the fighting?", passages)[0]
    assert top.passage == 1 and "Banjsk" in top.text


def test_passage_longer_than_one_window_is_read_to_the_end(reader):
    filler = "The committee met again and discussed the budget at length without a decision. " * 60
    passage = filler + "The new bridge was designed by the engineer Marta Kowalska in 1998. " + filler
    assert len(reader._tokenizer(passage)["input_ids"]) > 3 * reader.max_length
    spans = reader.read("Who designed the new bridge?", [passage])
    assert_exact(spans, [passage])
    assert "Kowalska" in spans[0].text


def test_read_many_equals_one_at_a_time(reader):
    items = [("Who said the US was monitoring?", [KIRBY]), ("Where was the deployment?", [KIRBY, "Nothing here."])]
    together = reader.read_many(items)
    for (question, passages), spans in zip(items, together):
        single = reader.read(question, passages)
        assert [(s.passage, s.start, s.end) for s in spans] == [(s.passage, s.start, s.end) for s in single]


BANJSKA = "The fighting took place near the village of Banjskë, in northern Kosovo, on Sunday."
WEATHER = "The weather in Belgrade was mild for the season, with light rain in the evening."


def test_ranked_reading_reads_every_passage_like_read_and_counts_its_cost(reader):
    passages = [KIRBY, BANJSKA, "", WEATHER]
    reading = reader.read_ranked("Near which village was the fighting?", passages)
    assert reading.passages == 3 and reading.tokens > 0  # the empty passage is skipped
    single = reader.read("Near which village was the fighting?", passages)
    assert [(s.passage, s.start, s.end) for s in reading.spans] == [(s.passage, s.start, s.end) for s in single]
    assert "Banjsk" in reading.spans[0].text


def test_a_window_read_before_is_answered_from_memory_with_the_same_spans():
    from qa.reader import Reader

    reader = Reader(READERS["fast"], memo_windows=64).load()
    question, passages = "Near which village was the fighting?", [KIRBY, BANJSKA]
    first = reader.read_ranked(question, passages)
    computed = reader.memo.computed
    again = reader.read_ranked(question, passages)
    assert again == first and reader.memo.computed == computed and reader.memo.hits == computed  # no forward pass
    other = reader.read_ranked("Who is the spokesperson?", passages)  # another question: other windows
    assert reader.memo.computed == 2 * computed and "Kirby" in other.spans[0].text
    reader.forget()
    assert len(reader.memo) == 0 and reader.read_ranked(question, passages) == first
    assert Reader(READERS["fast"], memo_windows=0).load().read_ranked(question, passages).spans[0].text == (
        first.spans[0].text)  # the memo changes no answer; 0 turns it off


def test_nothing_to_read_gives_an_empty_result(reader):
    assert reader.read("Who spoke?", []) == []
    assert reader.read("Who spoke?", ["", "   "]) == []


def test_a_20000_character_question_does_not_crash(reader):
    spans = reader.read("Who is the spokesperson? " * 800, [KIRBY])
    assert_exact(spans, [KIRBY])


def test_int8_reader_finds_the_same_answer_with_exact_offsets():
    from qa.reader import Reader

    fast = Reader(READERS["fast"], precision="int8").load()
    passages = [KIRBY, "The fighting took place near the village of Banjskë, in northern Kosovo, on Sunday. ✨"]
    spans = fast.read("Who is the National Security Council spokesperson?", passages)
    assert_exact(spans, passages)
    assert "Kirby" in spans[0].text


def test_int8_accurate_reader_keeps_its_feed_forward_outputs_in_fp32_and_still_answers():
    """Quantizing MPNet's feed-forward down-projections made it abstain on nearly every question."""
    import torch

    from qa.reader import Reader

    accurate = Reader(READERS["accurate"], precision="int8").load()
    kept = [name for name, module in accurate._model.named_modules() if isinstance(module, torch.nn.Linear)]
    assert len(kept) == 12 and all(name.endswith(".output.dense") for name in kept)
    spans = accurate.read("Who is the National Security Council spokesperson?", [KIRBY])
    assert_exact(spans, [KIRBY])
    assert "Kirby" in spans[0].text and spans[0].score >= accurate.calibration.threshold


def test_auto_precision_is_bf16_only_where_the_cpu_computes_it_natively():
    import torch

    from qa.reader import Reader, resolve_precision

    native = torch.ops.mkldnn._is_mkldnn_bf16_supported()
    assert resolve_precision("auto") == ("bf16" if native else "fp32")
    assert [resolve_precision(p) for p in ("bf16", "fp32", "int8")] == ["bf16", "fp32", "int8"]
    assert Reader().precision == resolve_precision("auto")  # the default


def test_unknown_precision_is_a_clear_error():
    from qa.reader import Reader

    with pytest.raises(ValueError, match="auto, bf16, fp32, int8.*QA_READER_PRECISION"):
        Reader(precision="fp8")
