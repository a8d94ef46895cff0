"""Both index backends, the local folder (FAISS + BM25) and Milvus Lite, through the same tests.

Milvus runs for real: Milvus Lite in a temporary ``.db`` file, no mock. Without pymilvus and
milvus-lite installed (``pip install -r requirements-milvus.txt``) the Milvus cases are skipped.
"""

from __future__ import annotations

import pytest

from corpus.document import Document
from index import IndexSettings, IngestReport, add_documents, remove_documents
from index.errors import DocumentNotFoundError, IndexMissingError, IndexModelError
from index.retriever import MODES, Retriever
from index.store import IndexStore

QUESTIONS = ["Who is the spokesperson for the US National Security Council?", "How many Serb gunmen were killed?",
             "Which weapon did the Serbian army allegedly supply?", "Kosovo Kosovo border tanks", "the of and"]  # fmt: skip
BACKENDS = ["local", "milvus"]


def require_milvus() -> None:
    try:
        import milvus_lite  # noqa: F401
        import pymilvus  # noqa: F401
    except ImportError:
        pytest.skip("Milvus Lite is not installed: pip install -r requirements-milvus.txt (make test-milvus)")


def new_store(backend: str, path, embedder, **settings):
    if backend == "local":
        return IndexStore.create(path / "index", embedder, **settings)
    require_milvus()
    from index.milvus import MilvusStore

    return MilvusStore.open(str(path / "index.db"), "t", embedder, settings=IndexSettings(**settings), create=True)


def doc(doc_id: str, text: str) -> Document:
    return Document(doc_id, doc_id.title(), text, f"mem:{doc_id}")


class CountingEmbedder:
    def __init__(self, inner) -> None:
        self.inner, self.embedded = inner, 0
        self.model_name, self.dimension = inner.model_name, inner.dimension

    def embed_query(self, text):
        return self.inner.embed_query(text)

    def embed_documents(self, texts, show_progress=False):
        self.embedded += len(texts)
        return self.inner.embed_documents(texts)


@pytest.fixture(scope="module", params=BACKENDS)
def article_retriever(request, tmp_path_factory, embedder, article):
    store = new_store(request.param, tmp_path_factory.mktemp(request.param), embedder)
    add_documents(store, embedder, [article])
    return Retriever(store, embedder)


@pytest.fixture(scope="module")
def local_article(tmp_path_factory, embedder, article):
    store = new_store("local", tmp_path_factory.mktemp("local"), embedder)
    add_documents(store, embedder, [article])
    return Retriever(store, embedder)


@pytest.mark.parametrize("mode", MODES)
def test_search_finds_the_spokesperson(article_retriever, mode):
    hits = article_retriever.search(QUESTIONS[0], k=3, mode=mode)
    assert any("John Kirby" in h.chunk.text for h in hits)
    assert [h.rank for h in hits] == [1, 2, 3] and all(mode in h.source_ranks or mode == "hybrid" for h in hits)


@pytest.mark.parametrize("mode", MODES)
def test_both_backends_rank_alike(article_retriever, local_article, mode):
    """Same chunks, same order, same per-retriever ranks; BM25 scores on bm25s's scale in both."""
    for question in QUESTIONS:
        got = article_retriever.search(question, k=8, mode=mode)
        want = local_article.search(question, k=8, mode=mode)
        assert [(h.chunk, h.rank, h.source_ranks) for h in got] == [(h.chunk, h.rank, h.source_ranks) for h in want]
        assert [h.score for h in got] == pytest.approx([h.score for h in want], rel=1e-4, abs=1e-6)


def test_documents_chunks_and_sentences_are_stored_exactly(article_retriever, local_article, article):
    assert article_retriever.documents() == [article]
    assert article_retriever.chunks() == local_article.chunks()
    assert article_retriever.sentences(article.doc_id) == local_article.sentences(article.doc_id)
    assert article_retriever.stats() == local_article.stats()
    for c in article_retriever.chunks():
        assert article.text[c.start : c.end] == c.text


def test_acronyms_are_spelled_out_from_the_documents(article_retriever):
    assert article_retriever.spell_out_acronyms("Who is the NSC spokesperson?") == (
        "Who is the National Security Council spokesperson?")  # fmt: skip


@pytest.mark.parametrize("backend", BACKENDS)
def test_add_replace_skip_and_remove_by_id(backend, tmp_path, embedder):
    counting = CountingEmbedder(embedder)
    store = new_store(backend, tmp_path, counting, chunk_words=8)
    first = add_documents(store, counting, [doc("tanks", "Tanks moved to the border."), doc("kirby", "Kirby spoke.")])
    assert first == IngestReport(added=2, updated=0, unchanged=0, chunks_embedded=2)
    assert add_documents(store, counting, [doc("tanks", "Tanks moved to the border.")]).chunks_embedded == 0
    report = add_documents(store, counting, [doc("kirby", "Kirby spoke again. He asked Serbia to withdraw its forces.")])
    assert report == IngestReport(added=0, updated=1, unchanged=0, chunks_embedded=2) and counting.embedded == 4
    retriever = Retriever(store, embedder)
    assert [c.text for c in retriever.chunks() if c.doc_id == "kirby"] == [
        "Kirby spoke again.", "He asked Serbia to withdraw its forces.",
    ]  # fmt: skip
    assert retriever.search("withdraw forces", k=1, mode="dense")[0].chunk.text.startswith("He asked")
    assert all(h.chunk.text != "Kirby spoke." for h in retriever.search("Kirby spoke", k=5, mode="bm25"))
    add_documents(store, counting, [Document("tanks", "A better title", "Tanks moved to the border.", "mem:tanks")])
    assert store.document("tanks").title == "A better title" and counting.embedded == 4
    assert remove_documents(store, ["tanks"]) == 1
    assert [d.doc_id for d in store.documents()] == ["kirby"]
    with pytest.raises(DocumentNotFoundError, match="'tanks'"):
        remove_documents(store, ["tanks", "kirby"])
    assert [d.doc_id for d in store.documents()] == ["kirby"]  # all or nothing
    assert [h.chunk.doc_id for h in Retriever(store, embedder).search("tanks border", k=3)] == ["kirby", "kirby"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_empty_index_searches_to_nothing(backend, tmp_path, embedder):
    retriever = Retriever(new_store(backend, tmp_path, embedder), embedder)
    assert retriever.search(QUESTIONS[0]) == [] and retriever.search(QUESTIONS[0], mode="bm25") == []


# ---- Milvus only: what a database does that a folder does not -----------------------------------


def test_a_long_document_is_stored_in_pages_and_read_back_exactly(tmp_path, embedder):
    store = new_store("milvus", tmp_path, embedder)
    text = " ".join(f"Sentence {i} about Vučić, “quotes” and emoji 🛰️ near the border." for i in range(330))
    long = Document("long/doc \"quoted\".txt", "Long", text, "mem:long")
    add_documents(store, embedder, [long])
    assert store.document(long.doc_id) == long and len(text) > 16_000  # two pages
    hit = Retriever(store, embedder).search("Sentence 217 Vucic", k=1, mode="bm25")[0]
    assert "Sentence 217 " in hit.chunk.text and text[hit.chunk.start : hit.chunk.end] == hit.chunk.text


def test_reopening_checks_the_model_and_says_what_is_missing(tmp_path, embedder):
    require_milvus()
    from index.milvus import MilvusStore

    store = new_store("milvus", tmp_path, embedder)
    add_documents(store, embedder, [doc("a", "Alpha text.")])
    again = MilvusStore.open(store.uri, "t")
    assert again.settings.embed_model == embedder.model_name and again.documents() == store.documents()
    other = CountingEmbedder(embedder)
    other.model_name = "other/model"
    with pytest.raises(IndexModelError, match="other/model"):
        MilvusStore.open(store.uri, "t", other)
    with pytest.raises(IndexMissingError, match="ingest"):
        MilvusStore.open(store.uri, "nothing_here")


def test_a_half_written_change_is_not_seen_and_the_next_ingest_completes_it(tmp_path, embedder):
    from index.milvus_rows import chunk_row
    from index.milvus_ingest import prepare

    store = new_store("milvus", tmp_path, embedder)
    add_documents(store, embedder, [doc("a", "Tanks moved to the border.")])
    new = doc("a", "Drones flew over the lake.")
    _, chunks = prepare(store, new)  # a crash after the new chunks were written, before the document's row
    store.client.upsert(store.chunks_collection, [chunk_row(new.content_hash, i, c, embedder.embed_documents([c.text])[0])
                                                  for i, c in enumerate(chunks)])  # fmt: skip
    retriever = Retriever(store, embedder)
    assert [h.chunk.text for h in retriever.search("drones lake", k=5)] == ["Tanks moved to the border."]
    assert add_documents(store, embedder, [new]).updated == 1
    assert [h.chunk.text for h in retriever.search("drones lake", k=5)] == ["Drones flew over the lake."]
    assert len(store.view()) == 1  # the old version's chunks are gone


def test_a_failed_batch_is_retried(tmp_path, embedder, capsys):
    from pymilvus.exceptions import MilvusException

    store = new_store("milvus", tmp_path, embedder)

    class FailingOnce:  # the real client, with one upsert refused as a dropped connection would be
        def __init__(self, client):
            self.client, self.failed = client, False

        def upsert(self, *args, **kwargs):
            if not self.failed:
                self.failed = True
                raise MilvusException(message="connection reset")
            return self.client.upsert(*args, **kwargs)

        def __getattr__(self, name):
            return getattr(self.client, name)

    store.client = FailingOnce(store.client)
    import index.milvus_ingest as milvus_ingest

    report = milvus_ingest.add_to_milvus(store, embedder, [doc("a", "Alpha text."), doc("b", "Beta text.")],
                                         batch_docs=1)  # fmt: skip
    assert report.added == 2 and store.client.failed and "retrying" in capsys.readouterr().err
    assert [d.doc_id for d in store.documents()] == ["a", "b"]


def test_filter_literals_are_quoted():
    from index.milvus_rows import quote

    assert quote('a"b\\c\nd') == '"a\\"b\\\\c\\nd"'
