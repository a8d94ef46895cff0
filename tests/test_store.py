"""The on-disk index with the real bundled embedder: ingest, update, reopen, search, damage, integrity."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import stat

import numpy as np
import pytest

from corpus.document import Document
from index import IndexSettings, IngestReport, add_documents, check, open_or_build, remove_documents
from index.manifest import read_manifest, write_manifest
from index.retriever import Retriever
from index.store import (
    DocumentNotFoundError,
    IndexDamagedError,
    IndexFormatError,
    IndexMissingError,
    IndexModelError,
    IndexStore,
    IndexWriteError,
    StoreError,
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


def files_of(path):
    """Every file below ``path`` with its bytes: a snapshot of an index folder."""
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def segment_file(path, name):
    (segment,) = read_manifest(path).segments
    return path / segment.name / name


@pytest.fixture(scope="session")
def article_index(tmp_path_factory, embedder, article):
    """The bundled article indexed once; tests that change it work on a copy."""
    path = tmp_path_factory.mktemp("built") / "index"
    store = IndexStore.create(path, embedder, commit=False)
    add_documents(store, embedder, [article])
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
    assert manifest["format_version"] == 2 and manifest["documents"] == 1 and manifest["chunks"] == len(chunks)
    assert manifest["embed_model"] == embedder.model_name and manifest["dimension"] == 384
    assert manifest["chunking"] == {"chunk_words": 120, "overlap_sentences": 1}
    assert manifest["segments"][0]["dense"]["kind"] == "flat"  # a few chunks: exact search


@pytest.mark.parametrize("mode", ["hybrid", "dense", "bm25"])
def test_search_finds_the_spokesperson(article_index, embedder, mode):
    hits = Retriever(IndexStore.open(article_index), embedder).search(QUESTION, k=3, mode=mode)
    assert [h.rank for h in hits] == [1, 2, 3]
    assert any("John Kirby" in h.chunk.text for h in hits)
    assert all(mode in h.source_ranks or mode == "hybrid" for h in hits)
    if mode == "hybrid":
        assert hits[0].source_ranks.keys() <= {"dense", "bm25"} and hits[0].source_ranks


def test_acronyms_are_spelled_out_from_the_documents(article_index, embedder):
    retriever = Retriever(IndexStore.open(article_index, embedder), embedder)
    assert retriever.spell_out_acronyms("Who is the NSC spokesperson?") == "Who is the National Security Council spokesperson?"


def test_open_without_an_embedder_reads_the_model_from_the_manifest(article_index):
    assert IndexStore.open(article_index).settings.embed_model == "bundled:all-MiniLM-L6-v2"


def test_reingesting_unchanged_documents_embeds_nothing_and_writes_nothing(article_copy, embedder, article):
    counting = CountingEmbedder(embedder)
    before = files_of(article_copy)
    report = add_documents(IndexStore.open(article_copy), counting, [article])
    assert report == IngestReport(added=0, updated=0, unchanged=1, chunks_embedded=0)
    assert counting.embedded == 0 and files_of(article_copy) == before


def test_a_changed_document_replaces_its_chunks(tmp_path, embedder):
    counting = CountingEmbedder(embedder)
    store = IndexStore.create(tmp_path / "index", counting, chunk_words=8)
    first = add_documents(store, counting, [doc("tanks", "Tanks moved to the border."), doc("kirby", "Kirby spoke.")])
    assert first == IngestReport(added=2, updated=0, unchanged=0, chunks_embedded=2)
    report = add_documents(store, counting, [doc("kirby", "Kirby spoke again. He asked Serbia to withdraw its forces.")])
    assert report == IngestReport(added=0, updated=1, unchanged=0, chunks_embedded=2)
    assert counting.embedded == 4
    reopened = Retriever(IndexStore.open(tmp_path / "index"), embedder)
    assert [c.text for c in reopened.chunks() if c.doc_id == "kirby"] == [
        "Kirby spoke again.", "He asked Serbia to withdraw its forces.",
    ]  # fmt: skip
    assert reopened.search("tanks border", k=1, mode="dense")[0].chunk.doc_id == "tanks"
    assert reopened.search("withdraw forces", k=1, mode="dense")[0].chunk.text.startswith("He asked")


def test_a_new_title_for_the_same_text_is_kept_without_embedding(tmp_path, embedder):
    counting = CountingEmbedder(embedder)
    store = IndexStore.create(tmp_path / "index", counting)
    add_documents(store, counting, [doc("a", "Alpha text."), doc("b", "Beta text.")])
    report = add_documents(store, counting, [Document("a", "A better title", "Alpha text.", "mem:a")])
    assert report.unchanged == 1 and counting.embedded == 2
    assert IndexStore.open(tmp_path / "index").document("a").title == "A better title"
    assert Retriever(store, embedder).search("alpha", k=1)[0].chunk.doc_id == "a"


def test_remove_documents(tmp_path, embedder):
    store = IndexStore.create(tmp_path / "index", embedder)
    add_documents(store, embedder, [doc("a", "Alpha text."), doc("b", "Beta text."), doc("c", "Gamma text.")])
    assert remove_documents(store, ["a"]) == 1
    assert remove_documents(store, ["c"]) == 1
    assert [d.doc_id for d in IndexStore.open(tmp_path / "index").documents()] == ["b"]
    with pytest.raises(DocumentNotFoundError, match="'a'.*nothing was changed"):
        remove_documents(store, ["a", "b"])
    assert [d.doc_id for d in store.documents()] == ["b"]  # all or nothing


def test_a_failed_embedding_leaves_the_index_as_it_was(article_copy, embedder, article):
    before = files_of(article_copy)
    store = IndexStore.open(article_copy)
    with pytest.raises(RuntimeError, match="crashed"):
        add_documents(store, CountingEmbedder(embedder, fail=True), [doc("new", "A new document.")])
    assert files_of(article_copy) == before
    assert store.documents() == [article]
    assert [p.name for p in article_copy.parent.iterdir()] == ["index"]  # nothing left beside it


def test_empty_index_searches_to_nothing(tmp_path, embedder):
    store = IndexStore.create(tmp_path / "index", embedder)
    assert Retriever(store, embedder).search(QUESTION) == []
    assert Retriever(IndexStore.open(tmp_path / "index"), embedder).search(QUESTION, mode="bm25") == []


def test_missing_index_says_how_to_build_one(tmp_path, embedder):
    with pytest.raises(IndexMissingError, match="python -m qa ingest"):
        IndexStore.open(tmp_path / "nowhere", embedder)


@pytest.mark.parametrize("name", ["manifest.json", "dense.faiss", "chunks.npy", "doc_text.strs", "bm25_rows.npy"])
def test_truncated_files_are_reported_as_damage(article_copy, embedder, name):
    path = article_copy / name if name == "manifest.json" else segment_file(article_copy, name)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(IndexDamagedError, match="is damaged.*--rebuild"):
        IndexStore.open(article_copy, embedder)


def test_random_vectors_behind_a_valid_header_are_detected_on_open(article_copy, embedder):
    path = segment_file(article_copy, "dense.faiss")
    data = path.read_bytes()
    noise = np.random.default_rng(0).standard_normal((len(data) - 64) // 4).astype(np.float32).tobytes()
    path.write_bytes(data[:64] + noise + data[64 + len(noise) :])  # same size, same FAISS header
    with pytest.raises(IndexDamagedError, match="dense.faiss does not match its checksum"):
        IndexStore.open(article_copy, embedder)
    with pytest.raises(IndexDamagedError, match="checksum"):
        check(article_copy)


def test_large_indexes_verify_each_file_when_first_read(article_copy, embedder):
    path = segment_file(article_copy, "chunk_ids.strs")
    data = bytearray(path.read_bytes())
    data[-1] ^= 1
    path.write_bytes(bytes(data))
    store = IndexStore.open(article_copy, verify=False)  # what an index over verify_max_bytes gets
    with pytest.raises(IndexDamagedError, match="chunk_ids.strs does not match its checksum"):
        Retriever(store, embedder).search(QUESTION)


def test_check_reports_a_sound_index(article_index):
    report = check(article_index)
    assert (report.documents, report.segments) == (1, 1)
    assert report.files == 14 and report.bytes > 10_000


def test_an_index_built_with_another_model_is_refused_by_name(article_copy, embedder):
    manifest = read_manifest(article_copy)
    write_manifest(article_copy, dataclasses.replace(manifest, embed_model="some/other-model"))
    with pytest.raises(IndexModelError, match="built with the embedding model some/other-model, not bundled.*--rebuild"):
        IndexStore.open(article_copy, embedder)


def test_a_newer_format_is_refused_not_misread(article_copy, embedder):
    manifest = json.loads((article_copy / "manifest.json").read_text())
    (article_copy / "manifest.json").write_text(json.dumps({**manifest, "format_version": 3}))
    with pytest.raises(IndexFormatError, match="format version 3, this program reads version 2: update"):
        IndexStore.open(article_copy, embedder)


def test_an_index_of_sources_is_rebuilt_when_damaged(article_copy, embedder, article_path, capsys):
    segment_file(article_copy, "dense.faiss").write_bytes(b"garbage")
    retriever = open_or_build(article_copy, IndexSettings(), [article_path], embedder=embedder, progress=False)
    assert "Building the index" in capsys.readouterr().err
    assert any("John Kirby" in h.chunk.text for h in retriever.search(QUESTION, k=3))
    IndexStore.open(article_copy, embedder)  # repaired on disk too
    assert len(list(article_copy.glob("seg-*"))) == 1  # the damaged segment is gone
    open_or_build(article_copy, IndexSettings(), [article_path], embedder=embedder)
    assert capsys.readouterr().err == ""  # a sound index is just opened


def test_an_interrupted_format1_swap_is_recovered(article_copy, embedder):
    article_copy.rename(article_copy.with_name(".index.old-123"))
    assert IndexStore.open(article_copy, embedder).documents()


def test_a_folder_that_is_not_an_index_is_never_replaced(tmp_path, embedder):
    (tmp_path / "notes.txt").write_text("Mine.")
    with pytest.raises(StoreError, match="holds no index"):
        IndexStore.create(tmp_path, embedder)
    assert (tmp_path / "notes.txt").read_text() == "Mine."


def test_the_index_folder_keeps_its_mode(article_copy, embedder):
    os.chmod(article_copy, 0o755)
    add_documents(IndexStore.open(article_copy), embedder, [doc("new", "A new document about tanks.")])
    assert stat.S_IMODE(article_copy.stat().st_mode) == 0o755
    assert all(stat.S_IMODE(p.stat().st_mode) & 0o055 for p in article_copy.glob("seg-*"))  # not 0700


def test_stale_leftovers_are_cleaned_on_the_next_write(article_copy, embedder):
    (article_copy / ".tmp-seg-000009-0badc0de").mkdir()  # a kill -9 while a segment was written
    (article_copy / ".tmp-manifest.json-0badc0de").write_text("{")
    shutil.copytree(next(article_copy.glob("seg-*")), article_copy / "seg-000009-0badc0de")  # renamed, never committed
    (article_copy.parent / ".index.tmp-abc").mkdir()  # format 1's temporary and old folders
    (article_copy.parent / ".index.old-abc").mkdir()
    store = IndexStore.open(article_copy)
    assert store.documents()  # reading ignores them
    add_documents(store, embedder, [doc("new", "A new document.")])
    assert sorted(p.name for p in article_copy.parent.iterdir()) == ["index"]
    assert not list(article_copy.glob(".tmp-*")) and not (article_copy / "seg-000009-0badc0de").exists()


def test_a_write_that_fails_leaves_no_leftovers(article_copy, embedder, monkeypatch):
    before = files_of(article_copy)

    def read_only(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("index.segment.os.mkdir", read_only)  # as in a read-only folder (tests run as root)
    with pytest.raises(IndexWriteError, match="Cannot write the index.*Permission denied"):
        add_documents(IndexStore.open(article_copy), embedder, [doc("new", "A new document.")])
    assert files_of(article_copy) == before
    assert sorted(p.name for p in article_copy.parent.iterdir()) == ["index"]


def test_a_format1_index_is_converted_without_reembedding(article_copy, embedder, capsys):
    hits = Retriever(IndexStore.open(article_copy), embedder).search(QUESTION, k=5)
    write_format1(article_copy)
    counting = CountingEmbedder(embedder)
    store = IndexStore.open(article_copy, counting)
    assert "Converting the index" in capsys.readouterr().err
    assert Retriever(store, counting).search(QUESTION, k=5) == hits and counting.embedded == 0
    assert sorted(p.name for p in article_copy.iterdir() if not p.name.startswith("seg-")) == ["manifest.json"]
    assert read_manifest(article_copy).documents == 1


def test_format1_ids_without_their_extension_get_it_when_converted(article_copy, embedder, article):
    hits = Retriever(IndexStore.open(article_copy), embedder).search(QUESTION, k=5)
    write_format1(article_copy, old_ids=True)  # "serbian-...-border", as ids were before they kept extensions
    store = IndexStore.open(article_copy, embedder)
    assert [d.doc_id for d in store.documents()] == [article.doc_id] and article.doc_id.endswith(".txt")
    assert Retriever(store, embedder).search(QUESTION, k=5) == hits  # chunk ids renamed the same way
    assert add_documents(store, embedder, [article]).unchanged == 1  # re-ingesting the file replaces nothing


def write_format1(path, old_ids: bool = False):
    """Rewrite an index folder as format 1 wrote it (documents.jsonl, chunks.jsonl, vectors.faiss);
    ``old_ids``: with ids of the older scheme, the file's extension left off."""
    import faiss

    store = IndexStore.open(path)
    view = store.view()
    docs, chunks = store.documents(), store.chunks()
    if old_ids:
        docs = [dataclasses.replace(d, doc_id=d.doc_id.removesuffix(".txt")) for d in docs]
        chunks = [dataclasses.replace(c, doc_id=c.doc_id.removesuffix(".txt"), chunk_id=c.chunk_id.replace(".txt#", "#"))
                  for c in chunks]  # fmt: skip
    sentences = {d.doc_id: store.sentences(d.doc_id + (".txt" if old_ids else "")) for d in docs}
    vectors = np.concatenate([seg.dense.vectors() for seg in view.segments])
    for item in path.iterdir():
        shutil.rmtree(item) if item.is_dir() else item.unlink()
    with open(path / "documents.jsonl", "w") as f:
        for d in docs:
            f.write(json.dumps({**dataclasses.asdict(d), "sentences": sentences[d.doc_id]}) + "\n")
    with open(path / "chunks.jsonl", "w") as f:
        f.writelines(json.dumps(dataclasses.asdict(c)) + "\n" for c in chunks)
    flat = faiss.IndexFlatIP(vectors.shape[1])
    flat.add(vectors)
    faiss.write_index(flat, str(path / "vectors.faiss"))
    manifest = {
        "format_version": 1, "embed_model": store.settings.embed_model, "dimension": 384, "created": "x",
        "chunking": {"chunk_words": 120, "overlap_sentences": 1},
        "documents": [{"doc_id": d.doc_id, "content_hash": d.content_hash,
                       "chunks": sum(c.doc_id == d.doc_id for c in chunks)} for d in docs],
    }  # fmt: skip
    (path / "manifest.json").write_text(json.dumps(manifest))
