"""What a search of a Milvus index reads: ``index.retriever.IndexView`` over ``index.milvus.MilvusStore``.

Milvus has no snapshots, so a view is the collections as they are, with two guards: a chunk counts
only while its document's row carries the chunk's content hash (a half-written change is not seen),
and everything read is kept for the view's life, so one search sees each chunk and document once.
Results are ordered as the local index orders them: by score, then by (document id, start, end).

    >>> view = store.view()
    >>> [(view.chunk(key).chunk_id, round(score, 2)) for key, score in view.dense_search(vec, 2)]
    [('serbian-military-buildup-kosovo-border.txt#3', 0.61), ('serbian-military-buildup-kosovo-border.txt#0', 0.55)]
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from corpus.document import Chunk, Document
from index.errors import DocumentNotFoundError
from index.lexical import K1, tokenize
from index.milvus import MilvusStore
from index.milvus_rows import CHUNK_FIELDS, StoredDocument, from_pages, row_chunk
from index.view import DocStats

_TIE_MARGIN = 8  # extra results asked for, so equal scores at the cut are ordered by key
_MAX_LIMIT = 16_384  # Milvus's largest top-k


class MilvusView:
    def __init__(self, store: MilvusStore, generation: int) -> None:
        self.store, self.generation = store, generation
        self._chunks: dict[str, Chunk] = {}
        self._hashes: dict[str, str | None] = {}
        self._docs: dict[str, StoredDocument | None] = {}
        self._len: int | None = None

    def __len__(self) -> int:
        """Chunks in the collection (a replaced document's old chunks count until they are deleted)."""
        if self._len is None:
            self._len = self.store.count(self.generation)
        return self._len

    # -- searching ---------------------------------------------------------------------------

    def dense_search(self, vector: np.ndarray, n: int) -> list[tuple[str, float]]:
        """The ``n`` live chunks nearest to a unit ``vector``, best first, as (key, cosine)."""
        data = [np.asarray(vector, dtype=np.float32).tolist()]
        return self._search(data, "dense", "IP", n, lambda d: float(d))

    def lexical_search(self, query: str, n: int) -> list[tuple[str, float]]:
        """The ``n`` best live chunks by Milvus's BM25 over ``index.lexical.tokenize``'s words, as (key, score).

        Milvus scores BM25 with a factor (k1 + 1) that bm25s leaves out (the order is the same) and
        Milvus Lite returns it negated: the score is brought back to bm25s's scale.
        """
        tokens = tokenize(query)
        if n <= 0 or not tokens:
            return []
        return [(k, s) for k, s in self._search([" ".join(tokens)], "sparse", "BM25", n, lambda d: abs(float(d)) / (K1 + 1))
                if s > 0]  # fmt: skip

    def _search(self, data: list, field: str, metric: str, n: int, score) -> list[tuple[str, float]]:
        if n <= 0:
            return []
        limit = min(n + _TIE_MARGIN, _MAX_LIMIT)
        while True:
            found = self.store.client.search(self.store.chunks_collection, data=data, anns_field=field, limit=limit,
                                             output_fields=CHUNK_FIELDS, search_params={"metric_type": metric})[0]  # fmt: skip
            # float32 as the local index scores, so equal scores tie the same way and are ordered by key
            rows = [(float(np.float32(score(h["distance"]))), h["pk"] if "pk" in h else h["id"], h["entity"])
                    for h in found]  # fmt: skip
            live = self._live(rows)
            if len(live) >= n + _TIE_MARGIN or len(found) < limit or limit == _MAX_LIMIT:
                break
            limit = min(limit * 4, _MAX_LIMIT)  # stale chunks of a change in progress took places: ask deeper
        live.sort(key=lambda r: (-r[0], r[2]["doc_id"], r[2]["start"], r[2]["end"]))
        for _, key, entity in live[:n]:
            self._chunks[key] = row_chunk(entity)
        return [(key, s) for s, key, _ in live[:n]]

    def _live(self, rows: list[tuple[float, str, dict]]) -> list[tuple[float, str, dict]]:
        wanted = {e["doc_id"] for _, _, e in rows} - self._hashes.keys()
        if wanted:
            known = self.store.content_hashes(wanted)
            self._hashes.update({d: known.get(d) for d in wanted})
        return [r for r in rows if self._hashes[r[2]["doc_id"]] == r[2]["content_hash"]]

    # -- lookups -----------------------------------------------------------------------------

    def chunk(self, key: str) -> Chunk:
        if key not in self._chunks:
            rows = self.store.client.get(self.store.chunks_collection, ids=[key], output_fields=CHUNK_FIELDS)
            if not rows:
                raise KeyError(f"no chunk {key!r} in {self.store.path}")
            self._chunks[key] = row_chunk(rows[0])
        return self._chunks[key]

    def _stored(self, doc_id: str) -> StoredDocument:
        if doc_id not in self._docs:
            self._docs[doc_id] = self.store.stored(doc_id)
        found = self._docs[doc_id]
        if found is None:
            raise DocumentNotFoundError(self.store.path, doc_id)
        return found

    def has(self, doc_id: str) -> bool:
        return self.content_hash(doc_id) is not None

    def content_hash(self, doc_id: str) -> str | None:
        if doc_id not in self._hashes:
            self._hashes[doc_id] = self.store.content_hashes([doc_id]).get(doc_id)
        return self._hashes[doc_id]

    def document(self, doc_id: str) -> Document:
        return self._stored(doc_id).document

    def sentences(self, doc_id: str) -> list[tuple[int, int]]:
        return self._stored(doc_id).sentences

    def source(self, doc_id: str) -> str:
        return self._stored(doc_id).document.source

    def doc_sources(self) -> Iterator[tuple[str, str]]:
        """(doc_id, source) of every document, without reading texts."""
        for r in self.store.doc_rows():
            yield r["doc_id"], r["source"]

    def documents(self) -> Iterator[Document]:
        """Every document, in id order, read page by page in one pass."""
        by_doc: dict[str, list[dict]] = {}
        for r in self.store._scan(self.store.docs_collection, 'pk != "m:manifest"',
                                  ["doc_id", "page", "pages", "content_hash", "chunks", "body"]):  # fmt: skip
            by_doc.setdefault(r["doc_id"], []).append(r)
        for doc_id in sorted(by_doc):
            rows = by_doc[doc_id]
            first = next((r for r in rows if r["page"] == 0), None)
            current = [r for r in rows if first is not None and r["content_hash"] == first["content_hash"]]
            if first is None or len(current) != first["pages"]:
                found = self.store.stored(doc_id)  # a change landed while scanning: read this one whole
                if found is not None:
                    yield found.document
                continue
            yield from_pages(current).document

    def chunks(self) -> Iterator[Chunk]:
        """Every live chunk, by document id and position."""
        hashes = self.store.content_hashes()
        rows = [r for r in self.store._scan(self.store.chunks_collection, "", CHUNK_FIELDS)
                if hashes.get(r["doc_id"]) == r["content_hash"]]  # fmt: skip
        for r in sorted(rows, key=lambda r: (r["doc_id"], r["seq"])):
            yield row_chunk(r)

    def stats(self) -> list[DocStats]:
        return self.store.stats()
