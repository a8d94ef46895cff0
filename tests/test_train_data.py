"""Training data for the reader: token labels hit the answer, negatives point at [CLS], order is seeded."""

import json

import pytest

from qa.training.data import Example, build_examples, featurize, load_examples, make_batches, make_negative

SQUAD = {
    "data": [
        {
            "title": "Bridges",
            "paragraphs": [
                {"context": "The Vučić bridge was designed by Marta Kowalska in 1998.",
                 "qas": [{"id": "q1", "question": "Who designed the bridge?",
                          "answers": [{"text": "Marta Kowalska", "answer_start": 33}]}]},
                {"context": "The old bridge over the river was rebuilt after the flood.",
                 "qas": [{"id": "q2", "question": "What was rebuilt?",
                          "answers": [{"text": "The old bridge", "answer_start": 0}]}]},
            ],
        }
    ]
}


@pytest.fixture(scope="module")
def tokenizer():
    from transformers import AutoTokenizer

    from index.embedder import bundled_model_dir

    return AutoTokenizer.from_pretrained(str(bundled_model_dir()))


@pytest.fixture
def squad_file(tmp_path):
    path = tmp_path / "train.json"
    path.write_text(json.dumps(SQUAD), encoding="utf-8")
    return path


def test_labels_cover_exactly_the_answer_tokens(tokenizer, squad_file):
    examples, _ = load_examples(squad_file)
    (win, start, end), _ = featurize(examples, tokenizer, 384, 128)
    assert tokenizer.decode(win.input_ids[start : end + 1]) == "marta kowalska"


def test_negative_is_another_paragraph_of_the_article_labelled_cls(tokenizer, squad_file):
    examples, paragraphs = load_examples(squad_file)
    neg = make_negative(examples[0], paragraphs[examples[0].qid.split("|", 1)[1]])
    assert neg.answer == "" and "Kowalska" not in neg.context
    ((_win, start, end),) = featurize([neg], tokenizer, 384, 128)
    assert (start, end) == (0, 0)


def test_windows_without_the_answer_point_at_cls(tokenizer):
    context = "Filler sentence about nothing at all. " * 80 + "The answer is Zanzibar."
    ex = Example("q", "What is the answer?", context, "Zanzibar", context.index("Zanzibar"))
    feats = featurize([ex], tokenizer, 128, 32)
    assert len(feats) > 3
    labelled = [f for f in feats if f[1] > 0]
    assert labelled and all(tokenizer.decode(f[0].input_ids[f[1] : f[2] + 1]) == "zanzibar" for f in labelled)
    assert all((f[1], f[2]) == (0, 0) for f in feats if f not in labelled)


def test_sampling_and_batches_are_seeded(squad_file):
    a = build_examples(squad_file, limit=0, neg_ratio=1.0, extras=[], seed=3)
    b = build_examples(squad_file, limit=0, neg_ratio=1.0, extras=[], seed=3)
    assert a == b and sum(1 for e in a if not e.answer) == 2
    lengths = [5, 90, 7, 88, 6, 91, 8, 89]
    batches = make_batches(lengths, 2, seed=1)
    assert batches == make_batches(lengths, 2, seed=1)
    assert sorted(i for batch in batches for i in batch) == list(range(8))
    assert all(abs(lengths[x] - lengths[y]) < 10 for x, y in batches)  # bucketed by length


def test_perturbed_questions_ask_for_what_the_paragraph_does_not_say():
    import random

    from qa.training.perturb import antonym, negate, perturb, swap_entity, swap_number

    passage = "Beyoncé left Destiny's Child in 2005 and released her largest tour the year after."
    rng = random.Random(0)
    swapped = swap_entity("When did Beyoncé leave Destiny's Child?", passage, rng, ["Madonna", "Beyoncé"])
    assert swapped in ("When did Madonna leave Destiny's Child?", "When did Beyoncé leave Madonna?")
    moved = swap_number("Who left a band in 2005?", passage, rng)
    assert moved.startswith("Who left a band in ") and moved[-5:-1] not in passage
    assert negate("What was the largest tour?", passage, rng) == "What was not the largest tour?"
    assert negate("What was the largest tour?", "It was not small.", rng) is None  # passage negates: unsafe
    assert antonym("What was her largest tour?", passage, rng) == "What was her smallest tour?"
    assert antonym("What was her largest tour?", passage + " Her smallest one was in 2001.", rng) is None
    assert antonym("Did they win the cup?", "They lost 3-1 in the final.", rng) is None  # "lose" ~ "lost"
    assert perturb("Why?", passage, rng, []) is None  # nothing to change: no example rather than a wrong one


def test_adversarial_negatives_keep_the_plain_sample_unchanged(squad_file):
    plain = build_examples(squad_file, limit=0, neg_ratio=1.0, extras=[], seed=3)
    with_adv = build_examples(squad_file, limit=0, neg_ratio=1.0, extras=[], seed=3, adv_ratio=1.0)
    adv = [e for e in with_adv if e.qid.endswith("|adv")]
    assert sorted(plain, key=repr) == sorted((e for e in with_adv if e not in adv), key=repr)
    assert all(e.answer == "" and e.question not in {p.question for p in plain} for e in adv)


def test_continued_training_never_sees_the_calibration_questions(tmp_path):
    from qa.training.data import calibration_ids, trained_ids

    context = "Ana built the bridge in 1998 with Ben, Cleo and Dora."
    qas = [{"id": f"q{i}", "question": f"Who helped build the bridge, part {i}?",
            "answers": [{"text": name, "answer_start": context.index(name)}]}
           for i, name in enumerate(["Ana", "Ben", "Cleo", "Dora", "1998"])]  # 5 = 2 + 2 trained + 1 kept
    path = tmp_path / "five.json"
    path.write_text(json.dumps({"data": [{"title": "T", "paragraphs": [{"context": context, "qas": qas}]}]}))
    first = {"squad_limit": 2, "neg_ratio": 0.0, "seed": 5, "calibration_n": 1}
    second = {"squad_limit": 2, "neg_ratio": 0.0, "seed": 6, "continued_from": first}
    cal = calibration_ids(path, second)
    assert cal == calibration_ids(path, first) and len(cal) == 1  # fixed by the first stage
    with pytest.raises(ValueError, match="only 1 questions were kept out"):
        calibration_ids(path, second, n=2)  # more would include questions a stage trained on
    seen_first, seen_both = trained_ids(path, first), trained_ids(path, second)
    assert len(seen_first) == 2 and len(seen_both) == 4 and seen_first < seen_both  # every stage counts
    assert not seen_both & set(cal)
    third = {"squad_limit": 2, "neg_ratio": 0.0, "seed": 7, "continued_from": second}
    assert trained_ids(path, third) == seen_both  # nothing unseen is left but the calibration question


def test_mpnet_windows_carry_no_segment_ids_and_label_the_answer():
    """MPNet's tokenizer makes no token_type_ids (its model rejects them): windows must not invent them."""
    from transformers import AutoTokenizer

    from qa.base_models import mpnet_dir
    from qa.training.data import collate

    tok = AutoTokenizer.from_pretrained(str(mpnet_dir()))
    context = "The Vučić bridge was designed by Marta Kowalska in 1998."
    ex = Example("q", "Who designed the bridge?", context, "Marta Kowalska", context.index("Marta"))
    feats = featurize([ex], tok, 256, 96)
    (win, start, end), = feats
    assert win.token_type_ids is None
    assert tok.decode(win.input_ids[start : end + 1]) == "marta kowalska"
    assert set(collate(feats, [0], tok.pad_token_id)) == {"input_ids", "attention_mask", "start_positions",
                                                           "end_positions"}


def test_v2_unanswerable_come_only_from_the_train_articles(tmp_path):
    from qa.training.data import load_unanswerable

    v2 = {"data": [
        {"title": t, "paragraphs": [{"context": "Some text.", "qas": [
            {"id": t + "1", "question": "What?", "is_impossible": True, "answers": []},
            {"id": t + "2", "question": "Which?", "is_impossible": False,
             "answers": [{"text": "Some", "answer_start": 0}]}]}]}
        for t in ("A", "B")]}
    (tmp_path / "v2.json").write_text(json.dumps(v2))
    (tmp_path / "split.json").write_text(json.dumps({"train": ["A"], "report": ["B"]}))
    (only,) = load_unanswerable(tmp_path / "v2.json", tmp_path / "split.json")
    assert only.qid.startswith("A1|") and only.answer == ""


def test_v2_holdout_keeps_every_third_train_article_for_calibration(tmp_path):
    from qa.training.data import load_unanswerable, v2_calibration_titles

    titles = [f"T{i}" for i in range(6)]
    v2 = {"data": [{"title": t, "paragraphs": [{"context": "Some text.", "qas": [
        {"id": t, "question": "What?", "is_impossible": True, "answers": []}]}]} for t in titles + ["R"]]}
    (tmp_path / "v2.json").write_text(json.dumps(v2))
    (tmp_path / "split.json").write_text(json.dumps({"train": titles[::-1], "report": ["R"]}))
    held = v2_calibration_titles(tmp_path / "split.json")
    assert held == {"T2", "T5"}  # sorted positions 2 and 5, whatever the file's order
    trained = load_unanswerable(tmp_path / "v2.json", tmp_path / "split.json", exclude_titles=held)
    assert sorted(e.qid.split("|")[0] for e in trained) == ["T0", "T1", "T3", "T4"]


def test_the_v2_questions_a_stage_cut_short_trained_on_are_rebuilt_from_its_recipe(tmp_path, tokenizer, squad_file):
    from qa.training.data import build_examples, load_unanswerable, trained_v2_ids

    v2 = {"data": [{"title": "A", "paragraphs": [{"context": f"Paragraph {i} says little.", "qas": [
        {"id": f"v{i}", "question": f"Who wrote paragraph {i}?", "is_impossible": True, "answers": []}]}
        for i in range(8)]}]}  # fmt: skip
    (tmp_path / "v2.json").write_text(json.dumps(v2))
    (tmp_path / "split.json").write_text(json.dumps({"train": ["A"], "report": []}))
    recipe = {"squad_limit": 2, "neg_ratio": 0.0, "adv_ratio": 0.0, "extra": [], "seed": 3, "v2_unanswerable": True,
              "max_length": 64, "stride": 16, "batch_size": 2, "epochs": 1, "steps": 2}  # fmt: skip
    args = (tmp_path / "v2.json", tmp_path / "split.json")
    seen = trained_v2_ids(squad_file, recipe, tokenizer, *args)
    # the same examples, windows and seeded batches as training: its first 2 steps of 2 windows
    examples = build_examples(squad_file, 2, 0.0, [], 3, unanswerable=load_unanswerable(*args))
    feats = featurize(examples, tokenizer, 64, 16)
    first = [i for b in make_batches([len(f[0].input_ids) for f in feats], 2, 3)[:2] for i in b]
    assert seen == {examples[feats[i][0].pair].qid for i in first if "|v2-" in examples[feats[i][0].pair].qid}
    assert 0 < len(seen) < 8
    assert trained_v2_ids(squad_file, {**recipe, "steps": 10}, tokenizer, *args) == {e.qid for e in examples
                                                                                     if "|v2-" in e.qid}
    assert trained_v2_ids(squad_file, {**recipe, "v2_unanswerable": False}, tokenizer, *args) == set()
