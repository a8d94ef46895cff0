"""Document identity in the index: no document is ever dropped or replaced by one it only shares an id with."""

from __future__ import annotations

import pytest

from corpus.document import Document
from corpus.loading import DuplicateDocumentError, load_path
from index import IndexStore, add_documents


@pytest.fixture
def store(tmp_path, embedder):
    return IndexStore.create(tmp_path / "index", embedder)


def test_two_documents_of_one_id_in_one_call_are_refused_naming_both(store, embedder):
    a = Document("x", "X", "Kirby spoke for the council.", "/docs/a/x")
    b = Document("x", "X", "Tanks moved to the border.", "/docs/b/x")
    with pytest.raises(DuplicateDocumentError, match="/docs/a/x and /docs/b/x would both be document 'x'"):
        add_documents(store, embedder, [a, b])
    assert store.view().manifest.documents == 0  # nothing written


def test_the_same_id_from_another_existing_file_is_an_error_naming_both(tmp_path, store, embedder):
    for folder in ("loop", "dups"):
        (tmp_path / folder).mkdir()
    (tmp_path / "loop" / "a.txt").write_text("The loop memo says the tanks left on Friday.")
    (tmp_path / "dups" / "a.txt").write_text("An unrelated note about budgets and the harbour.")
    add_documents(store, embedder, load_path(tmp_path / "loop"))
    with pytest.raises(DuplicateDocumentError, match=r"loop/a.txt and .*dups/a.txt would both be document 'a.txt'.*remove"):
        add_documents(store, embedder, load_path(tmp_path / "dups"))
    assert store.document("a.txt").text.startswith("The loop memo")  # the first one is kept


def test_updated_only_when_the_same_file_changed(tmp_path, store, embedder):
    (tmp_path / "memo.txt").write_text("The memo says the tanks left on Friday.")
    assert add_documents(store, embedder, load_path(tmp_path / "memo.txt")).added == 1
    (tmp_path / "memo.txt").write_text("The memo says the tanks left on Saturday.")
    report = add_documents(store, embedder, load_path(tmp_path / "memo.txt"))
    assert (report.added, report.updated) == (0, 1)
    assert "Saturday" in store.document("memo.txt").text


@pytest.mark.parametrize("docs", [["x"], "x", [None]])
def test_anything_but_documents_is_a_type_error(store, embedder, docs):
    with pytest.raises(TypeError, match="expects"):
        add_documents(store, embedder, docs)
