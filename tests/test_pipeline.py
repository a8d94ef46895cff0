"""The whole pipeline on the bundled article, the one path of ``ask`` on stand-ins, and the pure window logic."""

import dataclasses

import pytest

from corpus.document import Chunk, Document
from index.hit import Hit
from qa.answer import Candidate
from qa.config import Config
from qa.followup import Conversation, Turn, reply
from qa.pipeline import Pipeline, rank_candidates, sentence_range, widen_and_merge
from qa.reader import PassageSpan, Reading
from qa.spans import Calibration

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


def test_rank_candidates_keeps_the_best_score_per_location():
    cands = [Candidate("d", 0, 5, "Kirby", 0.4), Candidate("d", 0, 5, "Kirby", 0.9), Candidate("e", 3, 8, "Kirby", 0.5)]
    assert [(c.doc_id, c.score) for c in rank_candidates(cands)] == [("d", 0.9), ("e", 0.5)]


def test_overlapping_spans_are_one_answer_not_rivals():
    cands = [Candidate("d", 70, 75, "Kirby", 0.6), Candidate("d", 65, 75, "John Kirby", 0.8),
             Candidate("d", 0, 8, "Speaking", 0.1), Candidate("e", 65, 75, "John Kirby", 0.3)]  # fmt: skip
    assert [(c.doc_id, c.text) for c in rank_candidates(cands)] == [("d", "John Kirby"), ("e", "John Kirby"),
                                                                    ("d", "Speaking")]  # fmt: skip


# ---- the one path of ask(), on stand-ins that record what they were given -------------------------

TEXT = "NSC spokesperson John Kirby spoke. Serbia moved troops."


class RecordingRetriever:
    def __init__(self):
        self.spelled: list[str] = []
        self.searched: list[tuple[str, int, str, int]] = []
        self.doc = Document("d", "Title", TEXT, "test")

    def spell_out_acronyms(self, text):
        self.spelled.append(text)
        return text.replace("NSC", "National Security Council")

    def search(self, query, k, mode, rrf_k):
        self.searched.append((query, k, mode, rrf_k))
        return [Hit(Chunk("d#0", "d", 0, 34, TEXT[:34]), 0.5, 1, {"dense": 1})]

    def sentences(self, doc_id):
        return [(0, 34), (35, len(TEXT))]

    def document(self, doc_id):
        return self.doc


class RecordingReader:
    threshold = 0.5
    calibration = Calibration(threshold=0.5, settle=None)

    def __init__(self):
        self.read_calls: list[tuple[str, int, int]] = []

    def read_ranked(self, question, passages, top_k):
        self.read_calls.append((question, top_k, len(passages)))
        start = passages[0].index("John Kirby")
        return Reading([PassageSpan(0, start, start + 10, "John Kirby", 0.9, 5.0, -1.0)], 40, 1)


def recording_pipeline(**settings):
    config = dataclasses.replace(Config(), **settings)
    return Pipeline(RecordingRetriever(), RecordingReader(), config)


def test_ask_spells_out_once_and_reads_what_it_retrieved():
    pipe = recording_pipeline(top_k=7, rrf_k=42, answer_candidates=3, retrieval="bm25", settle_score=0.8)
    answer = pipe.ask("Who is the NSC spokesperson?")
    read_as = "Who is the National Security Council spokesperson?"
    assert pipe.retriever.spelled == ["Who is the NSC spokesperson?"]  # once, for retrieving and reading alike
    assert pipe.retriever.searched == [(read_as, 7, "bm25", 42)]  # every setting from Config
    assert pipe.reader.read_calls == [(read_as, 3, 1)]  # the best hit's window is all there is: read once
    assert (answer.timings.tokens_read, answer.timings.passages_read) == (40, 1)
    assert (answer.question, answer.read_as, answer.text) == ("Who is the NSC spokesperson?", read_as, "John Kirby")
    assert answer.citations[0].sentence == TEXT[:34]


def test_a_followup_is_resolved_once_and_its_turn_recorded():
    pipe = recording_pipeline()
    first = reply(pipe, "Who is the NSC spokesperson?", Conversation())
    assert first.conversation.turns == (Turn("Who is the National Security Council spokesperson?", "John Kirby"),)
    second = reply(pipe, "What did he say?", first.conversation)
    assert second.answer.question == "What did John Kirby say?"
    assert pipe.retriever.searched[-1][0] == "What did John Kirby say?"  # stand-alone now: retrieves on its own
    third = reply(pipe, "When did it happen?", second.conversation)  # cannot stand alone: the last turn helps retrieve
    assert third.answer.question == "When did it happen?"
    assert pipe.retriever.searched[-1][0] == "When did it happen? What did John Kirby say? John Kirby"
    assert pipe.reader.read_calls[-1][0] == "When did it happen?"  # ...but the reader reads the question alone
    assert len(pipe.retriever.spelled) == 3


def test_citations_are_capped_by_config():
    pipe = recording_pipeline(max_citations=0)
    answer = pipe.ask("Who spoke?")
    assert answer.text == "John Kirby" and answer.citations == ()


# ---- the real pipeline on the article, over each index backend ---------------------------------


@pytest.fixture(params=["local", "milvus"])
def pipeline(request, pipeline):
    """conftest's pipeline (the local index), then the same over Milvus Lite (skipped when not installed)."""
    return pipeline if request.param == "local" else request.getfixturevalue("milvus_pipeline")


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
        doc = pipeline.retriever.document(c.doc_id)
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
        assert pipeline.retriever.document(p.doc_id).text[p.start : p.end] == p.text
    assert [p.rank for p in answer.passages] == sorted(p.rank for p in answer.passages)
    assert answer.timings.total_ms >= answer.timings.read_ms > 0


def test_the_best_hit_alone_settles_a_clear_answer_and_anything_else_is_read_as_without_settling(pipeline):
    every = dataclasses.replace(pipeline.config, settle_score=None)
    settles = dataclasses.replace(pipeline.config, settle_score=0.5)
    never = dataclasses.replace(pipeline.config, settle_score=1.01)  # no score reaches it: falls back every time
    question = ARTICLE_QUESTIONS[0][0]
    answers = {name: Pipeline(pipeline.retriever, pipeline.reader, c).ask(question)
               for name, c in (("every", every), ("settles", settles), ("never", never))}  # fmt: skip
    assert answers["settles"].text == answers["every"].text and answers["settles"].score >= 0.5
    assert len(answers["settles"].passages) == 1 and answers["settles"].passages[0].rank == 1
    assert answers["settles"].timings.tokens_read < answers["every"].timings.tokens_read
    # not settled: exactly the answer of reading everything, having paid for the first read as well
    assert (answers["never"].text, answers["never"].score) == (answers["every"].text, answers["every"].score)
    assert answers["never"].passages == answers["every"].passages
    assert answers["never"].timings.tokens_read > answers["every"].timings.tokens_read


@pytest.fixture()
def accurate(pipeline):
    """The default pipeline: the accurate reader over the same index (the other tests read with the fast one)."""
    from qa.reader import Reader

    config = dataclasses.replace(pipeline.config, reader_model=Config().reader_model)
    return Pipeline(pipeline.retriever, Reader.from_config(config).load(), config)


def test_the_default_accurate_reader_answers_from_the_best_hit_and_abstains_where_the_article_is_silent(accurate):
    answer = accurate.ask("Who is the spokesperson for the US National Security Council?")
    assert answer.text == "John Kirby" and answer.score >= accurate.settle
    assert len(answer.passages) == 1  # settled by the best hit's window alone
    c = answer.citations[0]
    assert accurate.retriever.document(c.doc_id).text[c.start : c.end] == "John Kirby"
    silent = accurate.ask("What is the population of Kosovo?")
    assert silent.abstained and len(silent.passages) > 1  # nothing settled: everything was read, then refused


def test_the_default_settle_score_is_the_readers_own(pipeline):
    assert pipeline.config.settle_score == "reader"
    assert pipeline.settle == pipeline.reader.calibration.settle and 0 < pipeline.settle < 1  # recorded with the model


def test_json_contract(pipeline):
    data = pipeline.ask(ARTICLE_QUESTIONS[0][0]).to_json()
    assert set(data) == {"question", "answer", "score", "citations"}
    assert set(data["citations"][0]) == {"doc_id", "title", "start", "end", "sentence"}


def test_a_followup_on_the_article(pipeline):
    first = reply(pipeline, "Who is the spokesperson for the US National Security Council?", Conversation())
    second = reply(pipeline, "What did he call on Serbia to do?", first.conversation)
    assert second.answer.question == "What did John Kirby call on Serbia to do?"
    assert second.answer.passages and second.conversation.turns[-1].question == second.answer.question


def test_questions_are_answered_while_an_upload_is_embedded_and_wait_only_for_its_commit(tmp_path, embedder, reader):
    """``Pipeline.ingest`` holds the locks for the commit alone: here the commit is held back until
    a question has been answered, which would never happen if the upload blocked questions."""
    import threading
    from contextlib import contextmanager

    from qa.indexes import open_index
    from tests.conftest import FAST

    config = dataclasses.replace(FAST, default_index=tmp_path / "default")
    pipe = Pipeline(open_index(config, embedder=embedder, progress=False), reader, config)
    memo = Document("memo", "Memo", "The border memo was signed by Colonel Ana Petrovic on a rainy Tuesday. " * 40,
                    "memo.txt")
    committing, answered, seen = threading.Event(), threading.Event(), []

    @contextmanager
    def held_back():  # entered after the memo's chunks were embedded, around the commit
        seen.append(len(list(pipe.retriever.store.view().doc_sources())))
        committing.set()
        assert answered.wait(timeout=120), "the question waited for the upload"
        yield

    upload = threading.Thread(target=lambda: seen.append(pipe.ingest([memo], guard=held_back)))
    upload.start()
    assert committing.wait(timeout=300)
    during = pipe.ask(ARTICLE_QUESTIONS[0][0])  # the memo is embedded, not yet committed
    answered.set()
    upload.join(timeout=120)
    assert "Kirby" in during.text and all(c.doc_id != "memo" for c in during.citations)
    before, report = seen
    assert report.added == 1 and report.chunks_embedded > 0
    assert len(list(pipe.retriever.store.view().doc_sources())) == before + 1
    assert "Petrovic" in pipe.ask("Who signed the border memo?").text
