"""The on-disk index with the real bundled embedder: ingest, update, reopen, search, damage."""

from __future__ import annotations

import json
import shutil

import pytest

from corpus.document import Document
from index.store import (
    DocumentNotFoundError,
    IndexCorruptError,
    IndexMissingError,
    IndexStore,
    IngestReport,
    StoreError,
    ensure_default_index,
)

QUESTION = "Who is the spokesperson for the US National Security Council?"


class CountingEmbedder:
    """The real embedder, counting the passages it embeds (and failing on demand)."""

    def __init__(self, inner, fail: bool = False) -> None:
        self.inner, self.fail, self.embedded = inner, fail, 0
        self.model_name, self.dimension = inner.model_name, inner.dimension

    def embed_query(self, text):
        return self.inner.embed_query(text)

    def embed_documents(self, texts, show_progress=False):
        if self.fail:
            raise RuntimeError("embedding backend crashed")
        self.embedded += len(texts)
        return self.inner.embed_documents(texts)


def doc(doc_id: str, text: str) -> Document:
    return Document(doc_id, doc_id.title(), text, f"mem:{doc_id}")


@pytest.fixture(scope="session")
def article_index(tmp_path_factory, embedder, article):
    """The bundled article indexed once; tests that change it work on a copy."""
    path = tmp_path_factory.mktemp("built") / "index"
    IndexStore.create(path, embedder).add_documents([article], progress=False)
    return path


@pytest.fixture
def article_copy(article_index, tmp_path):
    path = tmp_path / "index"
    shutil.copytree(article_index, path)
    return path


def test_reopened_index_holds_what_was_ingested(article_index, embedder, article):
    store = IndexStore.open(article_index, embedder)
    assert store.documents() == [article]
    chunks = store.chunks()
    assert all(article.text[c.start : c.end] == c.text for c in chunks)
    (stats,) = store.stats()
    assert (stats.doc_id, stats.chars, stats.chunks) == (article.doc_id, len(article.text), len(chunks))
    spans = store.sentences(article.doc_id)
    assert article.text[slice(*spans[0])] == "Serbian Military Buildup on Kosovo Border Raises Alarm Bells"
    manifest = json.loads((article_index / "manifest.json").read_text())
    assert manifest["embed_model"] == embedder.model_name and manifest["dimension"] == 384
    assert manifest["chunking"] == {"chunk_words": 120, "overlap_sentences": 1}


@pytest.mark.parametrize("mode", ["hybrid", "dense", "bm25"])
def test_search_finds_the_spokesperson(article_index, embedder, mode):
    hits = IndexStore.open(article_index, embedder).search(QUESTION, k=3, mode=mode)
    assert [h.rank for h in hits] == [1, 2, 3]
    assert any("John Kirby" in h.chunk.text for h in hits)
    assert all(mode in h.source_ranks or mode == "hybrid" for h in hits)
    if mode == "hybrid":
        assert hits[0].source_ranks.keys() <= {"dense", "bm25"} and hits[0].source_ranks


def test_open_without_an_embedder_uses_the_manifest_model(article_index):
    store = IndexStore.open(article_index)
    assert store.embedder.model_name == "bundled:all-MiniLM-L6-v2"


def test_reingesting_unchanged_documents_embeds_nothing(article_copy, embedder, article):
    counting = CountingEmbedder(embedder)
    report = IndexStore.open(article_copy, counting).add_documents([article], progress=False)
    assert report == IngestReport(added=0, updated=0, unchanged=1, chunks_embedded=0)
    assert counting.embedded == 0


def test_a_changed_document_replaces_its_chunks(tmp_path, embedder):
    counting = CountingEmbedder(embedder)
    store = IndexStore.create(tmp_path / "index", counting, chunk_words=8)
    first = store.add_documents([doc("tanks", "Tanks moved to the border."), doc("kirby", "Kirby spoke.")])
    assert first == IngestReport(added=2, updated=0, unchanged=0, chunks_embedded=2)
    report = store.add_documents([doc("kirby", "Kirby spoke again. He asked Serbia to withdraw its forces.")])
    assert report == IngestReport(added=0, updated=1, unchanged=0, chunks_embedded=2)
    assert counting.embedded == 4
    reopened = IndexStore.open(tmp_path / "index", embedder)
    assert [c.text for c in reopened.chunks() if c.doc_id == "kirby"] == [
        "Kirby spoke again.", "He asked Serbia to withdraw its forces.",
    ]  # fmt: skip
    assert reopened.search("tanks border", k=1, mode="dense")[0].chunk.doc_id == "tanks"
    assert reopened.search("withdraw forces", k=1, mode="dense")[0].chunk.text.startswith("He asked")


def test_remove_document(tmp_path, embedder):
    store = IndexStore.create(tmp_path / "index", embedder)
    store.add_documents([doc("a", "Alpha text."), doc("b", "Beta text.")])
    store.remove_document("a")
    assert [d.doc_id for d in IndexStore.open(tmp_path / "index", embedder).documents()] == ["b"]
    with pytest.raises(DocumentNotFoundError):
        store.remove_document("a")


def test_a_failed_embedding_leaves_the_index_as_it_was(article_copy, embedder, article):
    before = {p.name: p.read_bytes() for p in article_copy.iterdir()}
    store = IndexStore.open(article_copy, CountingEmbedder(embedder, fail=True))
    with pytest.raises(RuntimeError, match="crashed"):
        store.add_documents([doc("new", "A new document.")])
    assert {p.name: p.read_bytes() for p in article_copy.iterdir()} == before
    assert store.documents() == [article]
    assert [p.name for p in article_copy.parent.iterdir()] == ["index"]  # no temporary folder left


def test_empty_index_searches_to_nothing(tmp_path, embedder):
    store = IndexStore.create(tmp_path / "index", embedder)
    assert store.search(QUESTION) == []
    assert IndexStore.open(tmp_path / "index", embedder).search(QUESTION, mode="bm25") == []


def test_missing_index_says_how_to_build_one(tmp_path, embedder):
    with pytest.raises(IndexMissingError, match="python -m qa ingest"):
        IndexStore.open(tmp_path / "nowhere", embedder)


@pytest.mark.parametrize("name", ["manifest.json", "vectors.faiss", "chunks.jsonl", "documents.jsonl"])
def test_truncated_files_are_reported_as_damage(article_copy, embedder, name):
    data = (article_copy / name).read_bytes()
    (article_copy / name).write_bytes(data[: len(data) // 2])
    with pytest.raises(IndexCorruptError, match="is damaged"):
        IndexStore.open(article_copy, embedder)


def test_an_index_built_with_another_model_is_refused(article_copy, embedder):
    manifest = json.loads((article_copy / "manifest.json").read_text())
    manifest["embed_model"] = "some/other-model"
    (article_copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexCorruptError, match="other-model"):
        IndexStore.open(article_copy, embedder)


def test_ensure_default_index_rebuilds_a_damaged_index(article_copy, embedder, article_path, capsys):
    (article_copy / "vectors.faiss").write_bytes(b"garbage")
    store = ensure_default_index(article_copy, [article_path], embedder, progress=False)
    assert "Building the index" in capsys.readouterr().err
    assert any("John Kirby" in h.chunk.text for h in store.search(QUESTION, k=3))
    IndexStore.open(article_copy, embedder)  # repaired on disk too
    ensure_default_index(article_copy, [article_path], embedder)
    assert capsys.readouterr().err == ""  # a sound index is just opened


def test_an_interrupted_swap_is_recovered(article_copy, embedder):
    article_copy.rename(article_copy.with_name(".index.old-123"))
    assert IndexStore.open(article_copy, embedder).documents()


def test_a_folder_that_is_not_an_index_is_never_replaced(tmp_path, embedder):
    (tmp_path / "notes.txt").write_text("Mine.")
    with pytest.raises(StoreError, match="holds no index"):
        IndexStore.create(tmp_path, embedder)
    assert (tmp_path / "notes.txt").read_text() == "Mine."
