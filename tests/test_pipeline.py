"""The whole pipeline on the bundled article, plus the pure window logic on hand-made sentences."""

import pytest

from corpus.document import Chunk
from index.hit import Hit
from qa.errors import QuestionError
from qa.pipeline import merge_spans, sentence_range, widen_and_merge
from qa.answer import Span

# ---- pure parts -------------------------------------------------------------------------------

SENTS = [(0, 10), (11, 20), (21, 30), (31, 40), (41, 50), (51, 60)]


def hit(start, end, rank, doc="d"):
    return Hit(Chunk(f"{doc}#{rank}", doc, start, end, "x" * (end - start)), 1.0 / rank, rank, {"dense": rank})


def test_sentence_range_finds_overlapping_sentences():
    assert sentence_range(SENTS, 0, 10) == (0, 0)
    assert sentence_range(SENTS, 15, 25) == (1, 2)  # a span across a sentence boundary
    assert sentence_range(SENTS, 10, 11) == (1, 1)  # whitespace between sentences belongs to the next


def test_windows_widen_by_whole_sentences_and_merge_when_they_touch():
    wins = widen_and_merge([hit(21, 30, 1), hit(51, 60, 2)], lambda d: SENTS, width=1)
    assert [(w.start, w.end, w.rank) for w in wins] == [(11, 60, 1)]  # [1..3] and [4..5] touch -> one window


def test_windows_of_distant_hits_stay_apart_and_keep_rank_order():
    wins = widen_and_merge([hit(51, 60, 1), hit(0, 10, 2)], lambda d: SENTS, width=0)
    assert [(w.start, w.end, w.rank) for w in wins] == [(51, 60, 1), (0, 10, 2)]


def test_a_chunk_cut_mid_sentence_is_read_as_whole_sentences():
    # a chunk that ends inside sentence 2 (an over-long sentence split by the chunker)
    wins = widen_and_merge([hit(11, 25, 1)], lambda d: SENTS, width=0)
    assert (wins[0].start, wins[0].end) == (11, 30)


def test_merge_spans_keeps_the_best_score_per_location():
    spans = [Span("d", 0, 5, "Kirby", 0.4), Span("d", 0, 5, "Kirby", 0.9), Span("e", 3, 8, "Kirby", 0.5)]
    assert [(s.doc_id, s.score) for s in merge_spans(spans)] == [("d", 0.9), ("e", 0.5)]


# ---- the real pipeline on the article ---------------------------------------------------------

ARTICLE_QUESTIONS = [
    ("Who is the spokesperson for the US National Security Council?", "Kirby"),
    ("Near which village was the battle?", "Banjsk"),
    ("How many Serb gunmen were killed?", "three"),
    ("Which weapon did the Serbian army allegedly supply?", "grenade launcher"),
]


@pytest.mark.parametrize("question,expected", ARTICLE_QUESTIONS)
def test_answers_the_article_with_an_exact_citation(pipeline, question, expected):
    answer = pipeline.ask(question)
    assert answer.text is not None and expected.lower() in answer.text.lower()
    assert answer.citations
    for c in answer.citations:
        doc = pipeline.store.document(c.doc_id)
        assert doc.text[c.start : c.end] == answer.text or doc.text[c.start : c.end].lower() == answer.text.lower()
        assert doc.text[c.sentence_start : c.sentence_end] == c.sentence
        assert c.sentence_start <= c.start < c.end <= c.sentence_end
        assert expected.lower() in c.sentence.lower()


def test_abstains_when_the_article_does_not_say(pipeline):
    answer = pipeline.ask("What is the population of Kosovo?")
    assert answer.abstained and answer.text is None and not answer.citations
    assert answer.passages, "closest passages are still shown"


def test_passages_are_exact_slices_in_rank_order(pipeline):
    answer = pipeline.ask("What did Kirby call on Serbia to do?")
    for p in answer.passages:
        assert pipeline.store.document(p.doc_id).text[p.start : p.end] == p.text
    assert [p.rank for p in answer.passages] == sorted(p.rank for p in answer.passages)
    assert answer.timings.total_ms >= answer.timings.read_ms > 0


@pytest.mark.parametrize("bad", ["", "   ", "x" * 20_000])
def test_bad_questions_are_clear_errors(pipeline, bad):
    with pytest.raises(QuestionError):
        pipeline.ask(bad)


def test_json_contract(pipeline):
    data = pipeline.ask(ARTICLE_QUESTIONS[0][0]).to_json()
    assert set(data) == {"question", "answer", "score", "citations"}
    assert set(data["citations"][0]) == {"doc_id", "title", "start", "end", "sentence"}
