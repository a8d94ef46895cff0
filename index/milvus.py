"""The index in Milvus: a server or cluster by URI, or Milvus Lite in one local ``.db`` file.

The same ``Retriever`` reads it as it reads the local FAISS + BM25 index (``index.retriever``'s
protocols): ``MilvusStore.view()`` answers a dense search, a BM25 search, and a chunk, document
or its sentences by id. ``pymilvus`` is imported here only, when a Milvus index is opened.

Two collections per index, named ``<name>_chunks`` and ``<name>_docs``:

- chunks: document id, offsets, exact text, the dense vector, and a BM25 sparse vector that Milvus
  computes itself (its ``BM25`` function) from the chunk's words as ``index.lexical.tokenize`` cuts
  them (stored pre-cut and split on white space, so both backends rank on the same tokens).
- docs: the whole document and its sentence offsets, which citations need, as JSON in pages of
  16,000 characters (a VARCHAR holds at most 65,535 bytes), and one row holding the settings.

A chunk counts only while its document's row carries the same content hash: a document's new
chunks are written first and its row last, so a search never sees half of a change and a
crashed ingest leaves the old version (or nothing) visible; stale chunks are deleted after.

    >>> store = MilvusStore.open("index.db", "default", embedder, create=True)   # Milvus Lite
    >>> store = MilvusStore.open("http://milvus:19530", "docs", embedder, token=os.environ["QA_MILVUS_TOKEN"])
    >>> add_documents(store, embedder, load_path("reports/"))      # index.ingest, as for a local index
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Collection, Iterable, Iterator, Sequence

import numpy as np

from corpus.document import Chunk, Document
from index.errors import DocumentNotFoundError, IndexMissingError, IndexModelError, StoreError
from index.lexical import B, K1
from index.milvus_rows import (CHUNK_FIELDS, DOC_FIELDS, MAX_VARCHAR, StoredDocument, chunk_key, chunk_row, doc_key,
                               doc_row, from_pages, pages, quote, row_chunk)
from index.settings import IndexSettings
from index.view import DocStats

FORMAT = 1
ID_CHARS = 8_192
_MANIFEST = "m:manifest"
_TIE_MARGIN = 8
# Rows per upsert: each call is a round trip (about 8 ms to Milvus Lite), so a batch is a few calls, not one a
# document; these keep a call to a few MB (a chunk row is its vector and text, a page up to 64 kB).
ROWS_PER_CALL = 1024
PAGES_PER_CALL = 64


class MilvusIndexMissingError(IndexMissingError):
    def __init__(self, uri: str, name: str) -> None:
        StoreError.__init__(self, f"No index {name} at {uri}: run `python -m qa ingest --backend milvus --milvus-uri "
                                  f"{uri} --index {name.removeprefix('askdocs_')} PATH...` to build one.")  # fmt: skip


class MilvusUnavailableError(StoreError):
    def __init__(self, what: str) -> None:
        super().__init__(f"The Milvus backend needs {what}: install it with `pip install -r requirements-milvus.txt` "
                         f"(or `make test-milvus`).")  # fmt: skip


def connect(uri: str, token: str | None = None):
    """A ``MilvusClient`` for ``uri``: a path ending in ``.db`` is Milvus Lite, ``http://host:19530`` a server."""
    try:
        from pymilvus import MilvusClient
    except ImportError:
        raise MilvusUnavailableError("pymilvus") from None
    # Milvus Lite has no server-side timestamp for iterators: pymilvus warns once per scan, uses its own, and is right
    logging.getLogger("pymilvus").setLevel(logging.ERROR)
    if uri.endswith(".db"):
        try:
            import milvus_lite  # noqa: F401  (pymilvus starts it for a .db path)
        except ImportError:
            raise MilvusUnavailableError("milvus-lite") from None
        from pathlib import Path

        Path(uri).parent.mkdir(parents=True, exist_ok=True)
    return MilvusClient(uri=uri, token=token or "")


class MilvusStore:
    """One index in Milvus: settings, the two collections, and the writes ``index.ingest`` makes."""

    backend = "milvus"  # index.ingest hands this store to index.milvus_ingest

    def __init__(self, client, uri: str, name: str, settings: IndexSettings, dimension: int) -> None:
        self.client, self.uri, self.name = client, uri, name
        self.settings, self.dimension = settings, dimension
        self.chunks_collection, self.docs_collection = f"{name}_chunks", f"{name}_docs"
        self.lite = uri.endswith(".db")
        self._count: tuple[int, int] | None = None

    @property
    def path(self) -> str:
        """Where the index is, for messages (the local store's is its folder)."""
        return f"{self.uri} (collection {self.name})"

    # -- opening ------------------------------------------------------------------------------

    @classmethod
    def open(cls, uri: str, name: str, embedder=None, *, settings: IndexSettings | None = None, token: str | None = None,
             create: bool = False, rebuild: bool = False, client=None) -> MilvusStore:  # fmt: skip
        """The index ``name`` at ``uri``; made when missing and ``create`` (or ``rebuild``), emptied first on ``rebuild``.

        Raises:
            IndexMissingError: no such index and neither ``create`` nor ``rebuild``.
            IndexModelError: it was built with another embedding model than ``embedder``'s.
        """
        client = client if client is not None else connect(uri, token)
        docs = f"{name}_docs"
        if rebuild:
            for suffix in ("_chunks", "_docs"):
                if client.has_collection(name + suffix):
                    client.drop_collection(name + suffix)
        if client.has_collection(docs):
            found = client.get(docs, ids=[_MANIFEST], output_fields=["body"])
            if found:
                manifest = json.loads(found[0]["body"])
                recorded = IndexSettings(manifest["embed_model"], manifest["chunk_words"], manifest["overlap_sentences"])
                store = cls(client, uri, name, recorded, manifest["dimension"])
                if embedder is not None and embedder.model_name != recorded.embed_model:
                    raise IndexModelError(store.path, recorded.embed_model, embedder.model_name)
                return store
        if not (create or rebuild):
            raise MilvusIndexMissingError(uri, name)
        if embedder is None:
            raise ValueError("Creating a Milvus index needs the embedder, for its model and dimension.")
        settings = settings if settings is not None else IndexSettings(embedder.model_name)
        store = cls(client, uri, name, settings, embedder.dimension)
        store._create()
        return store

    def _create(self) -> None:
        from pymilvus import DataType, Function, FunctionType

        c = self.client
        # Milvus Lite's analyzer is \w+ on lower-cased text; a server's "whitespace" tokenizer splits on spaces.
        # Both give back exactly the tokens of lexical_terms, which are already lower-cased \w+ words.
        analyzer = {"tokenizer": "standard"} if self.lite else {"tokenizer": "whitespace"}
        s = c.create_schema(auto_id=False, enable_dynamic_field=False)
        s.add_field("pk", DataType.VARCHAR, is_primary=True, max_length=ID_CHARS * 2)
        s.add_field("chunk_id", DataType.VARCHAR, max_length=ID_CHARS)
        s.add_field("doc_id", DataType.VARCHAR, max_length=ID_CHARS)
        s.add_field("content_hash", DataType.VARCHAR, max_length=64)
        for name in ("seq", "start", "end"):
            s.add_field(name, DataType.INT64)
        s.add_field("text", DataType.VARCHAR, max_length=MAX_VARCHAR)
        s.add_field("terms", DataType.VARCHAR, max_length=MAX_VARCHAR, enable_analyzer=True, analyzer_params=analyzer)
        s.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
        s.add_field("dense", DataType.FLOAT_VECTOR, dim=self.dimension)
        s.add_function(Function(name="bm25", function_type=FunctionType.BM25, input_field_names=["terms"],
                                output_field_names=["sparse"]))  # fmt: skip
        index = c.prepare_index_params()
        # Exact inner product on unit vectors (cosine), as the local index searches segments up to 20,000 rows.
        index.add_index(field_name="dense", index_type="FLAT" if self.lite else "AUTOINDEX", metric_type="IP")
        index.add_index(field_name="sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25",
                        params={"bm25_k1": K1, "bm25_b": B})  # fmt: skip
        c.create_collection(self.chunks_collection, schema=s, index_params=index, consistency_level="Strong")

        d = c.create_schema(auto_id=False, enable_dynamic_field=False)
        d.add_field("pk", DataType.VARCHAR, is_primary=True, max_length=ID_CHARS * 2)
        d.add_field("doc_id", DataType.VARCHAR, max_length=ID_CHARS)
        for name in ("page", "pages", "chunks", "chars"):
            d.add_field(name, DataType.INT64)
        d.add_field("content_hash", DataType.VARCHAR, max_length=64)
        d.add_field("source", DataType.VARCHAR, max_length=MAX_VARCHAR)
        d.add_field("title", DataType.VARCHAR, max_length=MAX_VARCHAR)
        d.add_field("body", DataType.VARCHAR, max_length=MAX_VARCHAR)
        d.add_field("v", DataType.FLOAT_VECTOR, dim=2)  # Milvus wants a vector field in every collection
        index = c.prepare_index_params()
        index.add_index(field_name="v", index_type="FLAT" if self.lite else "AUTOINDEX", metric_type="IP")
        c.create_collection(self.docs_collection, schema=d, index_params=index, consistency_level="Strong")
        self._write_manifest(0)

    def _write_manifest(self, generation: int) -> None:
        s = self.settings
        body = json.dumps({"format": FORMAT, "embed_model": s.embed_model, "chunk_words": s.chunk_words,
                           "overlap_sentences": s.overlap_sentences, "dimension": self.dimension,
                           "generation": generation})  # fmt: skip
        self.client.upsert(self.docs_collection, [{"pk": _MANIFEST, "doc_id": "", "page": 0, "pages": 0, "chunks": 0,
                                                   "chars": 0, "content_hash": "", "source": "", "title": "",
                                                   "body": body, "v": [0.0, 0.0]}])  # fmt: skip

    def count(self, generation: int) -> int:
        """Chunk rows in the collection, counted once per generation (every search asks whether there are any)."""
        if self._count is None or self._count[0] != generation:
            rows = self.client.query(self.chunks_collection, filter="", output_fields=["count(*)"])
            self._count = (generation, int(rows[0]["count(*)"]))
        return self._count[1]

    def generation(self) -> int:
        found = self.client.get(self.docs_collection, ids=[_MANIFEST], output_fields=["body"])
        return int(json.loads(found[0]["body"])["generation"]) if found else 0

    # -- reading ------------------------------------------------------------------------------

    def view(self):
        from index.milvus_view import MilvusView

        return MilvusView(self, self.generation())

    def stored(self, doc_id: str) -> StoredDocument | None:
        """The document as stored, or None. Pages written by a concurrent change are read again."""
        for _ in range(5):
            first = self.client.get(self.docs_collection, ids=[doc_key(doc_id)], output_fields=DOC_FIELDS)
            if not first:
                return None
            rows = first + (self.client.get(self.docs_collection, output_fields=DOC_FIELDS,
                                            ids=[doc_key(doc_id, p) for p in range(1, int(first[0]["pages"]))])
                            if first[0]["pages"] > 1 else [])  # fmt: skip
            if len(rows) == first[0]["pages"] and all(r["content_hash"] == first[0]["content_hash"] for r in rows):
                return from_pages(rows)
            time.sleep(0.05)
        raise StoreError(f"The document '{doc_id}' in {self.path} keeps changing while it is read: try again.")

    def heads(self, doc_ids: Iterable[str]) -> dict[str, dict]:
        """doc_id -> page 0 of each stored document among ``doc_ids``: its hash, source, title and chunk count."""
        keys = [doc_key(d) for d in dict.fromkeys(doc_ids)]
        fields = ["doc_id", "content_hash", "source", "title", "chunks"]
        rows = [r for i in range(0, len(keys), 1000)
                for r in self.client.get(self.docs_collection, ids=keys[i : i + 1000], output_fields=fields)]  # fmt: skip
        return {r["doc_id"]: r for r in rows}

    def content_hashes(self, doc_ids: Iterable[str] | None = None) -> dict[str, str]:
        """doc_id -> content hash of the documents stored (all of them when ``doc_ids`` is None)."""
        if doc_ids is not None:
            return {d: r["content_hash"] for d, r in self.heads(doc_ids).items()}
        rows = self._scan(self.docs_collection, 'page == 0 and pk != "m:manifest"', ["doc_id", "content_hash"])
        return {r["doc_id"]: r["content_hash"] for r in rows}

    def _scan(self, collection: str, expr: str, fields: list[str]) -> Iterator[dict]:
        it = self.client.query_iterator(collection, batch_size=1000, filter=expr, output_fields=fields)
        try:
            while batch := it.next():
                yield from batch
        finally:
            it.close()

    def doc_rows(self) -> Iterator[dict]:
        """Page 0 of every document: id, source, title, size, chunk count and hash; texts are not read."""
        return self._scan(self.docs_collection, 'page == 0 and pk != "m:manifest"',
                          ["doc_id", "source", "title", "chars", "chunks", "content_hash"])  # fmt: skip

    def chunks_of(self, doc_id: str, content_hash: str, count: int) -> list[Chunk]:
        keys = [chunk_key(content_hash, f"{doc_id}#{i}") for i in range(count)]
        rows = self.client.get(self.chunks_collection, ids=keys, output_fields=CHUNK_FIELDS) if keys else []
        return [row_chunk(r) for r in sorted(rows, key=lambda r: r["seq"])]

    def documents(self) -> list[Document]:
        return list(self.view().documents())

    def document(self, doc_id: str) -> Document:
        return self.view().document(doc_id)

    def sentences(self, doc_id: str) -> list[tuple[int, int]]:
        return self.view().sentences(doc_id)

    def chunks(self) -> list[Chunk]:
        return list(self.view().chunks())

    def stats(self) -> list[DocStats]:
        return [DocStats(r["doc_id"], r["title"], int(r["chars"]), int(r["chunks"]))
                for r in sorted(self.doc_rows(), key=lambda r: r["doc_id"])]  # fmt: skip

    # -- writing (index.milvus_ingest decides what; these are the idempotent steps) ---------------

    def write(self, docs: Sequence[Document], sentences: Sequence[Sequence[tuple[int, int]]],
              chunks: Sequence[Sequence[Chunk]], vectors: Sequence[np.ndarray] | None, remove: Collection = (),
              new: Collection[str] = ()) -> None:  # fmt: skip
        """Store ``docs`` (each with its sentences, chunks and their vectors) and remove ``remove``; safe to retry.

        New chunks first, then every document's later pages, then their first pages (page 0 makes a
        version live), then stale chunks and pages are deleted and the generation moves on. Documents
        in ``new`` (ids the index did not hold when the ingest was planned) have nothing stale: their
        deletes, which scan the whole collection, are skipped (rows a crashed earlier write may have
        left are never shown: searches keep only chunks of a document's live version).
        """
        rows = []
        for doc, doc_chunks, vecs in zip(docs, chunks, vectors if vectors is not None else [None] * len(docs)):
            if vecs is not None:  # None: the same text, stored already; only its pages are rewritten
                rows += [chunk_row(doc.content_hash, i, c, v) for i, (c, v) in enumerate(zip(doc_chunks, vecs))]
        for i in range(0, len(rows), ROWS_PER_CALL):
            self.client.upsert(self.chunks_collection, rows[i : i + ROWS_PER_CALL])
        later, first, held = [], [], []
        for doc, spans, doc_chunks in zip(docs, sentences, chunks):
            parts = pages(doc, spans)
            first.append(doc_row(doc, 0, parts, len(doc_chunks)))
            later += [doc_row(doc, p, parts, len(doc_chunks)) for p in range(1, len(parts))]
            if doc.doc_id not in new:
                held.append((doc, len(parts)))
        for group in (later, first):  # page 0 last; one call a batch, not a call a document
            for i in range(0, len(group), PAGES_PER_CALL):
                self.client.upsert(self.docs_collection, group[i : i + PAGES_PER_CALL])
        if held:
            stale = " or ".join(f"(doc_id == {quote(d.doc_id)} and content_hash != {quote(d.content_hash)})" for d, _ in held)
            self.client.delete(self.chunks_collection, filter=stale)
            extra = " or ".join(f"(doc_id == {quote(d.doc_id)} and page >= {n})" for d, n in held)
            self.client.delete(self.docs_collection, filter=extra)
        if remove:
            ids = "[" + ", ".join(quote(d) for d in remove) + "]"
            self.client.delete(self.docs_collection, filter=f"doc_id in {ids}")
            self.client.delete(self.chunks_collection, filter=f"doc_id in {ids}")
        self._write_manifest(self.generation() + 1)

    def flush(self) -> None:
        """Seal what was written into segments (at the end of an ingest): Milvus Lite otherwise rebuilds the
        BM25 index of its unsealed rows at every search."""
        for collection in (self.chunks_collection, self.docs_collection):
            self.client.flush(collection)

    def remove(self, doc_ids: Collection[str]) -> None:
        """Remove documents by id; ``DocumentNotFoundError`` (nothing removed) if one is unknown."""
        known = self.content_hashes(doc_ids)
        missing = [d for d in doc_ids if d not in known]
        if missing:
            raise DocumentNotFoundError(self.path, missing[0])
        self.write([], [], [], [], remove=list(doc_ids))
