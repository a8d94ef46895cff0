"""SQuAD-format parsing: v1.1 and v2.0 shapes, limits, errors, and the pieces of the runners that are pure."""

import json
from types import SimpleNamespace

import pytest

from corpus.document import Chunk
from eval.datasets import DatasetError, load_squad, parse_squad
from eval.run import ConfigError, config_variants, score_open, score_reader
from qa.answer import Timings
from qa.config import READERS, Config

V1 = {
    "version": "1.1",
    "data": [
        {"title": "Kosovo", "paragraphs": [
            {"context": "Kosovo declared independence in 2008.", "qas": [
                {"id": "q1", "question": "When?", "answers": [
                    {"text": "2008", "answer_start": 32}, {"text": "in 2008", "answer_start": 29}]},
            ]},
            {"context": "KFOR has been in Kosovo since 1999.", "qas": [
                {"id": "q2", "question": "Since when?", "answers": [{"text": "1999", "answer_start": 30}]},
            ]},
        ]},
        {"title": "Serbia", "paragraphs": [{"context": "Vučić is president.", "qas": [
            {"id": "q3", "question": "Who?", "answers": [{"text": "Vučić", "answer_start": 0}]}]}]},
    ],
}  # fmt: skip

V2 = {
    "version": "v2.0",
    "data": [{"title": "Kosovo", "paragraphs": [{"context": "Kirby spoke on Friday.", "qas": [
        {"id": "a", "question": "Who spoke?", "answers": [{"text": "Kirby", "answer_start": 0}],
         "is_impossible": False},
        {"id": "b", "question": "Who listened?", "answers": [], "is_impossible": True,
         "plausible_answers": [{"text": "Kirby", "answer_start": 0}]},
    ]}]}],
}  # fmt: skip


def test_v1_shape_in_file_order():
    ds = parse_squad(V1, "dev-v1.1.json")
    assert ds.version == "1.1"
    assert [it.qid for it in ds.items] == ["q1", "q2", "q3"]
    q1 = ds.items[0]
    assert q1.answers == ("2008", "in 2008") and q1.answer_starts == (32, 29) and not q1.is_impossible
    ctx = ds.context(q1.context_id)
    assert ctx.title == "Kosovo" and ctx.text[32:36] == "2008"
    assert ds.context(ds.items[2].context_id).title == "Serbia"
    assert not ds.has_unanswerable


def test_v2_shape_marks_unanswerable_and_ignores_plausible_answers():
    ds = parse_squad(V2)
    a, b = ds.items
    assert not a.is_impossible and a.answers == ("Kirby",)
    assert b.is_impossible and b.answers == () and b.answer_starts == ()
    assert ds.has_unanswerable


def test_limit_keeps_first_questions_but_every_context():
    ds = parse_squad(V1, limit=2)
    assert [it.qid for it in ds.items] == ["q1", "q2"]
    assert len(ds.contexts) == 3  # the open-domain corpus is the whole file
    docs = ds.documents()
    assert [d.doc_id for d in docs] == [c.context_id for c in ds.contexts]
    assert docs[2].title == "Serbia" and docs[2].text == "Vučić is president."


def test_tydi_shape_without_is_impossible_or_version():
    raw = {"data": [{"title": "QFT", "paragraphs": [{"context": "It began in the 1920s.", "qas": [
        {"id": "t1", "question": "When?", "answers": [{"answer_start": 16, "text": "1920s"}]}]}]}]}  # fmt: skip
    ds = parse_squad(raw)
    assert ds.version == "" and ds.items[0].answers == ("1920s",) and not ds.items[0].is_impossible


def test_load_squad_reads_files_and_reports_problems(tmp_path):
    good = tmp_path / "v2.json"
    good.write_text(json.dumps(V2), encoding="utf-8")
    ds = load_squad(good, limit=1)
    assert len(ds.items) == 1 and len(ds.sha256) == 64
    with pytest.raises(DatasetError, match="no dataset file"):
        load_squad(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(DatasetError, match="not valid UTF-8 JSON"):
        load_squad(bad)
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps({"rows": []}), encoding="utf-8")
    with pytest.raises(DatasetError, match="not a SQuAD-format file"):
        load_squad(wrong)


def test_config_variants_cross_product_and_errors():
    variants = config_variants(Config(), ["retrieval=dense,bm25", "top_k=3,5"])
    assert [label for label, _ in variants] == [
        "retrieval=dense, top_k=3", "retrieval=dense, top_k=5", "retrieval=bm25, top_k=3", "retrieval=bm25, top_k=5"]
    assert variants[1][1].retrieval == "dense" and variants[1][1].top_k == 5
    readers = config_variants(Config(), [], ["models/a", "models/b", "fast"])
    # a shipped reader is labelled by its name (fast, accurate), any other by its folder's last part
    assert [(label, c.reader_model) for label, c in readers] == [
        ("reader=a", "models/a"), ("reader=b", "models/b"), ("reader=fast", str(READERS["fast"]))]
    assert config_variants(Config()) == [("default", Config())]
    with pytest.raises(ConfigError):
        config_variants(Config(), ["nonsense=1"])
    with pytest.raises(ConfigError):
        config_variants(Config(), ["top_k=many"])


def _span(text, score, start=0):
    return SimpleNamespace(passage=0, start=start, end=start + len(text), text=text, score=score)


def test_score_reader_thresholds_only_when_asked():
    item = parse_squad(V2).items[0]
    assert score_reader(item, [_span("Kirby", 0.3)], threshold=0.5).prediction is None
    res = score_reader(item, [_span("Kirby", 0.3)], threshold=None)
    assert res.prediction == "Kirby" and res.em == 1.0 and res.raw_f1 == 1.0
    empty = score_reader(parse_squad(V2).items[1], [], threshold=0.5)
    assert empty.abstained and empty.em == 1.0 and empty.score == 0.0


def test_score_open_ranks_the_first_chunk_containing_an_occurrence():
    ds = parse_squad(V1)
    item = ds.items[0]  # "2008" / "in 2008", context 0.0
    text = ds.context(item.context_id).text
    hits = [
        SimpleNamespace(chunk=Chunk("x", "0.1", 0, 10, "")),  # another paragraph
        SimpleNamespace(chunk=Chunk("y", item.context_id, 0, 20, text[:20])),  # gold paragraph, no answer inside
        SimpleNamespace(chunk=Chunk("z", item.context_id, 20, len(text), text[20:])),
    ]
    cite = SimpleNamespace(doc_id=item.context_id, start=32, end=36, sentence=text)
    top = SimpleNamespace(text="2008", score=0.9)
    timings = Timings(retrieve_ms=5.0, read_ms=50.0, total_ms=55.0)
    answer = SimpleNamespace(text="2008", score=0.9, citations=(cite,), candidates=(top,), timings=timings)
    res = score_open(item, text, hits, answer)
    assert (res.rank, res.paragraph_rank, res.citation_ok, res.em, res.total_ms) == (3, 2, True, 1.0, 55.0)
    assert res.named_document and res.cited == text and res.cited_doc == item.context_id
    abstain = SimpleNamespace(text=None, score=0.1, citations=(), candidates=(SimpleNamespace(text="1999", score=0.1),),
                              timings=Timings(1.0, 1.0, 2.0))  # fmt: skip
    res = score_open(item, text, hits[:2], abstain)
    assert res.rank is None and res.abstained and res.top_span == "1999" and res.citation_ok is None
