"""Incremental ingest: any sequence of adds, replaces and removes answers like a rebuild from scratch.

Segments, tombstones and merges must never show in the results: the same documents give the
same hits with the same scores for every gold question, however they got into the index.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from corpus.document import Document
from index import IndexSettings, add_documents, remove_documents
from index.manifest import SegmentEntry
from index.retriever import Retriever
from index.settings import DenseSettings
from index.store import IndexStore
from index.upkeep import merge_plan

GOLD = Path(__file__).resolve().parent.parent / "eval" / "gold" / "article.json"
QUESTIONS = [q["question"] for a in json.loads(GOLD.read_text())["data"] for p in a["paragraphs"] for q in p["qas"]]


class MemoEmbedder:
    """The real embedder with one vector per text, whatever batch it comes in (batches pad differently)."""

    def __init__(self, inner) -> None:
        self.inner, self.model_name, self.dimension = inner, inner.model_name, inner.dimension
        self.cache: dict[str, np.ndarray] = {}
        self.queries: dict[str, np.ndarray] = {}

    def embed_query(self, text):
        if text not in self.queries:
            self.queries[text] = self.inner.embed_query(text)
        return self.queries[text]

    def embed_documents(self, texts, show_progress=False):
        missing = [t for t in dict.fromkeys(texts) if t not in self.cache]
        for text, vector in zip(missing, self.inner.embed_documents(missing) if missing else []):
            self.cache[text] = vector
        return np.array([self.cache[t] for t in texts], dtype=np.float32).reshape(len(texts), -1)


@pytest.fixture(scope="module")
def memo(embedder):
    return MemoEmbedder(embedder)


@pytest.fixture(scope="module")
def pool(article):
    """Small documents cut from the article's paragraphs, plus a second version of each."""
    paragraphs = [p.strip() for p in article.text.split("\n") if len(p.split()) > 12]
    docs = [Document(f"p{i}", f"Part {i}", text, f"mem:p{i}") for i, text in enumerate(paragraphs[:12])]
    edits = [Document(d.doc_id, d.title, d.text + " Officials repeated the warning on Friday.", d.source) for d in docs]
    return docs, edits


def hits(store, embedder, mode):
    retriever = Retriever(store, embedder)
    return [[(h.chunk.chunk_id, h.chunk.text, round(h.score, 5)) for h in retriever.search(q, k=5, mode=mode)]
            for q in QUESTIONS]  # fmt: skip


# Small thresholds, so a few steps exercise tombstones, merges and automatic compaction.
SETTINGS = IndexSettings(chunk_words=40, max_segments=3, compact_dead_fraction=0.5)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_incremental_ingest_equals_a_rebuild(tmp_path, memo, pool, seed):
    docs, edits = pool
    rng = random.Random(seed)
    store = IndexStore.create(tmp_path / "inc", memo, settings=SETTINGS)
    current: dict[str, Document] = {}
    for _ in range(8):
        op = rng.choice(["add", "add", "replace", "remove"])
        if op == "add" or not current:
            batch = rng.sample(docs, rng.randint(1, 3))
        elif op == "replace":
            batch = [rng.choice(edits + docs) for _ in range(2)]
            batch = [d for d in batch if d.doc_id in current] or batch[:1]
            batch = list({d.doc_id: d for d in batch}.values())  # one version per id: add_documents refuses two
        else:
            gone = rng.sample(sorted(current), rng.randint(1, min(2, len(current))))
            remove_documents(store, gone)
            for doc_id in gone:
                del current[doc_id]
            continue
        add_documents(store, memo, batch)
        current.update({d.doc_id: d for d in batch})
    rebuilt = IndexStore.create(tmp_path / "scratch", memo, settings=SETTINGS, commit=False)
    add_documents(rebuilt, memo, list(current.values()))
    reopened = IndexStore.open(tmp_path / "inc", settings=SETTINGS)
    assert {d.doc_id: d for d in reopened.documents()} == current
    for mode in ("dense", "bm25", "hybrid"):
        assert hits(reopened, memo, mode) == hits(rebuilt, memo, mode)
    assert len(reopened.view().segments) <= SETTINGS.max_segments


def test_compact_keeps_the_answers_and_drops_deleted_rows(tmp_path, memo, pool):
    docs, edits = pool
    store = IndexStore.create(tmp_path / "index", memo, settings=IndexSettings(chunk_words=40, max_segments=50))
    for d in docs[:6]:
        add_documents(store, memo, [d])
    add_documents(store, memo, edits[:2])
    remove_documents(store, [docs[5].doc_id])
    before = hits(store, memo, "hybrid")
    assert len(store.view().segments) > 1
    assert store.compact() is True
    (entry,) = store.view().manifest.segments
    assert entry.deleted_documents == 0 and entry.documents == 5
    assert hits(IndexStore.open(tmp_path / "index"), memo, "hybrid") == before
    assert len(list((tmp_path / "index").glob("seg-*"))) == 1 and store.compact() is False


def test_adding_a_document_writes_only_that_document(tmp_path, memo, pool):
    docs, _ = pool
    path = tmp_path / "index"
    store = IndexStore.create(path, memo, settings=IndexSettings(chunk_words=40), commit=False)
    add_documents(store, memo, docs[:-1])
    before = {p: p.stat().st_size for p in path.rglob("*") if p.is_file()}
    add_documents(store, memo, docs[-1:])
    after = {p: p.stat().st_size for p in path.rglob("*") if p.is_file()}
    new = sum(size for p, size in after.items() if p not in before)
    assert all(after[p] == size for p, size in before.items() if p in after and p.name != "manifest.json")
    (segment,) = [e for e in store.view().manifest.segments if e.documents == 1]
    assert new == segment.bytes  # the new segment, nothing else rewritten
    assert new < sum(before.values()) / 3


def entry(name, chunks, deleted=0):
    return SegmentEntry(name, chunks, chunks, chunks * 10, {"kind": "flat"}, {}, None, min(deleted, 1), deleted, 0)


def test_merge_plan():
    settings = IndexSettings(max_segments=4, compact_dead_fraction=0.25)
    assert merge_plan((entry("a", 100), entry("b", 5)), settings) == []
    assert merge_plan((entry("a", 100, deleted=30), entry("b", 5)), settings) == [0]  # rewrite one segment alone
    many = tuple(entry(n, c) for n, c in zip("abcde", (1000, 3, 50, 2, 7)))
    assert merge_plan(many, settings) == [1, 2, 3, 4]  # the smallest, down to half the limit
    assert merge_plan(many[:4], settings) == []


@pytest.mark.parametrize("large", ["ivf", "hnsw"])
def test_big_segments_get_ivf_or_hnsw_and_still_find_and_give_back_their_vectors(tmp_path, large):
    """Past flat_max_rows a segment is inverted lists (the default) or an HNSW graph, over float16
    vectors; the file opens memory-mapped, deleted rows stay out, and rows read back (compaction)."""
    from index.dense import DenseIndex, unit_rows

    rng = np.random.default_rng(0)
    vectors = unit_rows(rng.standard_normal((400, 32)))
    index = DenseIndex.build(vectors, settings=DenseSettings(flat_max_rows=100, large=large))
    assert index.kind == large and index.params()["storage"] == "float16"
    assert DenseIndex.build(vectors[:100], settings=DenseSettings(flat_max_rows=100, large=large)).kind == "flat"
    index.save(tmp_path / "dense.faiss")
    loaded = DenseIndex.load(tmp_path / "dense.faiss", DenseSettings(large=large))
    assert loaded.kind == large and loaded.params() == index.params()
    rows, scores = loaded.search(vectors[7], k=3)
    assert rows[0] == 7 and scores[0] == pytest.approx(1.0, abs=1e-3)
    allowed = np.ones(400, dtype=bool)
    allowed[7] = False
    assert 7 not in loaded.search(vectors[7], k=3, allowed=allowed)[0]
    assert np.abs(loaded.vectors(np.array([7, 399])) - vectors[[7, 399]]).max() < 1e-3  # float16 precision
    assert loaded.vectors().shape == vectors.shape


def test_the_kind_of_a_large_segment_is_checked_when_settings_are_made():
    with pytest.raises(ValueError, match="ivf, hnsw"):
        DenseSettings(large="annoy")
    assert DenseSettings.from_json(DenseSettings(large="hnsw", ivf_probe=8).to_json()) == DenseSettings(large="hnsw", ivf_probe=8)
    assert DenseSettings.from_json({"flat_max_rows": 5, "hnsw_m": 16}).large == "ivf"  # an older manifest's settings


def test_guards_wrap_each_embedder_call_and_the_commit_alone(tmp_path, embedder):
    """What ``Pipeline.ingest`` relies on: embedding in calls of ``embed_batch`` chunks, each inside
    ``embed_guard``; the commit inside ``commit_guard``, after the last call and before anyone sees it."""
    from contextlib import contextmanager

    store = IndexStore.create(tmp_path / "index", embedder)
    doc = Document("d", "D", " ".join(f"Sentence number {i} says something different." for i in range(120)), "d.txt")
    events = []

    def guard(name):
        @contextmanager
        def entered():
            events.append((name, len(list(store.view().doc_sources()))))
            yield

        return entered

    report = add_documents(store, embedder, [doc], embed_guard=guard("embed"), embed_batch=3,
                           commit_guard=guard("commit"))  # fmt: skip
    calls = [e for e in events if e[0] == "embed"]
    assert len(calls) == -(-report.chunks_embedded // 3) > 1
    assert events[-1] == ("commit", 0) and all(e == ("embed", 0) for e in events[:-1])  # nothing visible before it
    assert [d for d, _ in store.view().doc_sources()] == ["d"]
