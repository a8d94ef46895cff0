"""``index.open_or_build``: one call opens an index, or builds it from its sources, honouring every setting."""

from __future__ import annotations

import dataclasses

import pytest

from corpus.document import Document
from corpus.loading import load_path
from index import IndexSettings, add_documents, open_or_build
from index.errors import IndexMissingError, IndexModelError
from index.manifest import read_manifest, write_manifest
from index.store import IndexStore

QUESTION = "Who is the spokesperson for the US National Security Council?"


def write(folder, name, text):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")


def test_builds_from_sources_once_then_opens(tmp_path, embedder, article_path, capsys):
    settings = IndexSettings(embedder.model_name, chunk_words=60, overlap_sentences=0)
    retriever = open_or_build(tmp_path / "index", settings, [article_path], embedder=embedder, progress=False)
    assert "Building the index" in capsys.readouterr().err
    assert any("John Kirby" in h.chunk.text for h in retriever.search(QUESTION, k=3))
    assert read_manifest(tmp_path / "index").chunk_words == 60  # the chunking asked for, not the default
    again = open_or_build(tmp_path / "index", settings, [article_path], embedder=embedder)
    assert capsys.readouterr().err == "" and again.chunks() == retriever.chunks()


def test_changed_chunking_rebuilds_an_index_of_sources(tmp_path, embedder, article_path, capsys):
    path = tmp_path / "index"
    first = open_or_build(path, IndexSettings(chunk_words=120), [article_path], embedder=embedder, progress=False)
    second = open_or_build(path, IndexSettings(chunk_words=40), [article_path], embedder=embedder, progress=False)
    assert "chunked with 120 words" in capsys.readouterr().err
    assert len(second.chunks()) > len(first.chunks()) and read_manifest(path).chunk_words == 40


def test_sources_are_followed_and_other_documents_kept(tmp_path, embedder, capsys):
    corpus, path = tmp_path / "corpus", tmp_path / "index"
    write(corpus, "a.txt", "Tanks moved to the border.")
    write(corpus, "b.txt", "Kirby spoke for the council.")
    open_or_build(path, IndexSettings(), [corpus], embedder=embedder, progress=False)
    mine = Document("mine", "Mine", "A memo about budgets.", str(tmp_path / "elsewhere" / "memo.txt"))
    add_documents(IndexStore.open(path), embedder, [mine])  # `qa ingest` into the same index
    (corpus / "a.txt").unlink()
    write(corpus, "b.txt", "Kirby spoke for the security council again.")
    write(corpus, "c.txt", "Troops withdrew.")
    capsys.readouterr()
    retriever = open_or_build(path, IndexSettings(), [corpus], embedder=embedder, progress=False)
    assert "1 added, 1 changed, 1 removed" in capsys.readouterr().err
    expected = [d.doc_id for d in load_path(corpus)] + ["mine"]  # whatever form the loader gives ids
    assert sorted(d.doc_id for d in retriever.documents()) == sorted(expected)


def test_an_index_of_its_own_must_exist_unless_created(tmp_path, embedder):
    with pytest.raises(IndexMissingError):
        open_or_build(tmp_path / "index", IndexSettings(), embedder=embedder)
    retriever = open_or_build(tmp_path / "index", IndexSettings(chunk_words=50), embedder=embedder, create=True)
    assert retriever.documents() == [] and read_manifest(tmp_path / "index").chunk_words == 50
    add_documents(retriever.store, retriever.embedder, [Document("a", "A", "Alpha text.", "mem")])
    assert [h.chunk.doc_id for h in retriever.search("alpha")] == ["a"]  # the retriever sees the commit


def test_another_model_is_an_error_without_sources_and_a_rebuild_with_them(tmp_path, embedder, article_path):
    path = tmp_path / "index"
    open_or_build(path, IndexSettings(), [article_path], embedder=embedder, progress=False)
    write_manifest(path, dataclasses.replace(read_manifest(path), embed_model="other/model"))
    with pytest.raises(IndexModelError, match="other/model"):
        open_or_build(path, IndexSettings(), embedder=embedder)
    open_or_build(path, IndexSettings(), [article_path], embedder=embedder, progress=False)
    assert read_manifest(path).embed_model == embedder.model_name


def test_rebuild_starts_again(tmp_path, embedder, article_path):
    path = tmp_path / "index"
    open_or_build(path, IndexSettings(), [article_path], embedder=embedder, progress=False)
    retriever = open_or_build(path, IndexSettings(), embedder=embedder, rebuild=True)
    assert retriever.documents() == []
    assert open_or_build(path, IndexSettings(), embedder=embedder).documents()  # the old one stays until...
    add_documents(retriever.store, embedder, [Document("a", "A", "Alpha text.", "mem")])
    assert [d.doc_id for d in open_or_build(path, IndexSettings(), embedder=embedder).documents()] == ["a"]  # ...a commit
    assert len(list(path.glob("seg-*"))) == 1
