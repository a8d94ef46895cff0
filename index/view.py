"""One committed version of an index, read-only: what a search sees from start to end.

A view is a list of segments and, per segment, the document rows deleted since it was written.
It answers the questions a retriever asks (``index.retriever.IndexView``): the nearest chunks to
a vector, the best BM25 chunks for a query, and a chunk, document or its sentences by id.
Results are ordered by score, then by (document id, start, end), so equal scores come out the
same whichever way the index was built (at once, or document by document with deletions).

    >>> view = store.view()
    >>> [(view.chunk(key).chunk_id, round(score, 2)) for key, score in view.dense_search(vec, 2)]
    [('serbian-military-buildup-kosovo-border#3', 0.61), ('serbian-military-buildup-kosovo-border#0', 0.55)]
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from corpus.document import Chunk, Document
from index.dense import allowed_bits
from index.errors import DocumentNotFoundError
from index.lexical import idf, term_hash, term_scores, tokenize
from index.manifest import Manifest
from index.persist import SentenceSpan
from index.segment import Segment

ChunkKey = tuple[int, int]  # (segment number in this view, chunk row): valid within one view only
_TIE_MARGIN = 8  # extra neighbours asked of FAISS, so equal scores at the cut are ordered by key


@dataclass(frozen=True)
class DocStats:
    doc_id: str
    title: str
    chars: int
    chunks: int


class IndexView:
    """Immutable: a commit makes a new view; searches that hold the old one finish on it."""

    def __init__(self, path, manifest: Manifest, segments: Sequence[Segment], deleted: Sequence[np.ndarray]) -> None:
        self.path, self.manifest = path, manifest
        self.segments, self.deleted = tuple(segments), tuple(deleted)

    @property
    def generation(self) -> int:
        return self.manifest.generation

    def __len__(self) -> int:
        return self.manifest.chunks

    # -- deletions ---------------------------------------------------------------------------

    @cached_property
    def _live_docs(self) -> tuple[np.ndarray | None, ...]:
        masks = []
        for seg, dead in zip(self.segments, self.deleted):
            if len(dead) == 0:
                masks.append(None)
                continue
            mask = np.ones(seg.documents, dtype=bool)
            mask[dead] = False
            masks.append(mask)
        return tuple(masks)

    @cached_property
    def _live_chunks(self) -> tuple[np.ndarray | None, ...]:
        return tuple(None if docs is None else docs[seg.chunk_table[:, 0]]
                     for seg, docs in zip(self.segments, self._live_docs))  # fmt: skip

    @cached_property
    def _live_bits(self) -> tuple[np.ndarray | None, ...]:
        return tuple(None if mask is None else allowed_bits(mask) for mask in self._live_chunks)

    def live_document_rows(self, i: int) -> np.ndarray:
        mask = self._live_docs[i]
        return np.arange(self.segments[i].documents) if mask is None else np.flatnonzero(mask)

    def live_document_mask(self, i: int) -> np.ndarray:
        mask = self._live_docs[i]
        return np.ones(self.segments[i].documents, dtype=bool) if mask is None else mask

    # -- searching ---------------------------------------------------------------------------

    def _best(self, candidates: list[tuple[float, ChunkKey]], n: int) -> list[tuple[ChunkKey, float]]:
        keyed = sorted(candidates, key=lambda c: (-c[0], self.segments[c[1][0]].sort_key(c[1][1])))
        return [(key, score) for score, key in keyed[:n]]

    def dense_search(self, vector: np.ndarray, n: int) -> list[tuple[ChunkKey, float]]:
        """The ``n`` live chunks nearest to a unit ``vector``, best first, as (key, cosine)."""
        candidates = []
        for i, seg in enumerate(self.segments):
            if self.manifest.segments[i].live_chunks == 0:
                continue
            rows, scores = seg.dense.search(vector, n + _TIE_MARGIN, allowed=self._live_bits[i])
            candidates += [(s, (i, r)) for r, s in zip(rows, scores)]
        return self._best(candidates, n)

    def lexical_search(self, query: str, n: int) -> list[tuple[ChunkKey, float]]:
        """The ``n`` best live chunks by BM25 for ``query``, as (key, score); chunks sharing no word are left out."""
        total = len(self)
        tokens = tokenize(query)
        if total == 0 or n <= 0 or not tokens:
            return []
        avg_length = sum(e.tokens - e.deleted_tokens for e in self.manifest.segments) / total
        hits: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}  # token -> per segment (rows, tfs)
        for token in dict.fromkeys(tokens):
            hits[token] = [self._postings(i, term_hash(token)) for i in range(len(self.segments))]
        weights = {t: idf(df, total) for t, per_seg in hits.items() if (df := sum(len(r) for r, _ in per_seg))}
        known = [t for t in tokens if t in weights]  # a repeated query word counts twice, as in bm25s
        candidates = []
        for i, seg in enumerate(self.segments):
            parts = [(*hits[t][i], t) for t in known if len(hits[t][i][0])]
            if not parts:
                continue
            lengths = seg.postings.lengths
            rows = np.concatenate([r for r, _, _ in parts])
            values = np.concatenate([term_scores(tfs, lengths[r], avg_length, weights[t]) for r, tfs, t in parts])
            unique, inverse = np.unique(rows, return_inverse=True)
            scores = np.zeros(len(unique), dtype=np.float32)
            np.add.at(scores, inverse, values)  # in query-word order, float32: the same sums as bm25s
            keep = _top_with_ties(scores, n)
            candidates += [(float(scores[j]), (i, int(unique[j]))) for j in keep if scores[j] > 0]
        return self._best(candidates, n)

    def _postings(self, i: int, term: int) -> tuple[np.ndarray, np.ndarray]:
        rows, tfs = self.segments[i].postings.lookup(term)
        live = self._live_chunks[i]
        if live is not None and len(rows):
            alive = live[rows]
            rows, tfs = rows[alive], tfs[alive]
        return rows, tfs

    # -- lookups -----------------------------------------------------------------------------

    def chunk(self, key: ChunkKey) -> Chunk:
        return self.segments[key[0]].chunk(key[1])

    def locate(self, doc_id: str) -> tuple[int, int] | None:
        for i in range(len(self.segments) - 1, -1, -1):  # a document lives in one segment; newest first
            row = self.segments[i].row_of(doc_id)
            live = self._live_docs[i]
            if row is not None and (live is None or live[row]):
                return i, row
        return None

    def has(self, doc_id: str) -> bool:
        return self.locate(doc_id) is not None

    def content_hash(self, doc_id: str) -> str | None:
        found = self.locate(doc_id)
        return None if found is None else self.segments[found[0]].content_hash(found[1])

    def document(self, doc_id: str) -> Document:
        found = self.locate(doc_id)
        if found is None:
            raise DocumentNotFoundError(self.path, doc_id)
        return self.segments[found[0]].document(found[1])

    def sentences(self, doc_id: str) -> list[SentenceSpan]:
        found = self.locate(doc_id)
        if found is None:
            raise DocumentNotFoundError(self.path, doc_id)
        return self.segments[found[0]].sentence_spans(found[1])

    def source(self, doc_id: str) -> str:
        """Where an indexed document came from (its ``Document.source``), without reading its text."""
        found = self.locate(doc_id)
        if found is None:
            raise DocumentNotFoundError(self.path, doc_id)
        return json.loads(self.segments[found[0]].doc_meta[found[1]])["source"]

    def doc_sources(self) -> Iterator[tuple[str, str]]:
        """(doc_id, source) of every live document, without reading texts."""
        for i, seg in enumerate(self.segments):
            for row in self.live_document_rows(i):
                yield seg.doc_ids[int(row)], json.loads(seg.doc_meta[int(row)])["source"]

    def documents(self) -> Iterator[Document]:
        for i, seg in enumerate(self.segments):
            for row in self.live_document_rows(i):
                yield seg.document(int(row))

    def chunks(self) -> Iterator[Chunk]:
        for i, seg in enumerate(self.segments):
            for row in self.live_document_rows(i):
                for c in seg.chunk_rows(int(row)):
                    yield seg.chunk(c)

    def stats(self) -> list[DocStats]:
        out = []
        for i, seg in enumerate(self.segments):
            for row in self.live_document_rows(i):
                doc = seg.document(int(row))
                out.append(DocStats(doc.doc_id, doc.title, len(doc.text), len(seg.chunk_rows(int(row)))))
        return out


def _top_with_ties(scores: np.ndarray, n: int) -> np.ndarray:
    """Positions of the ``n`` highest scores plus any equal to the n-th (ties are ordered later)."""
    if len(scores) <= n:
        return np.arange(len(scores))
    cut = np.partition(scores, len(scores) - n)[len(scores) - n]
    return np.flatnonzero(scores >= cut)
