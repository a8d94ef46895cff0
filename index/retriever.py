"""Retrieval: dense (cosine), BM25, or both fused by reciprocal rank, over one view of an index.

The retriever owns the embedder and the ranking logic; the index behind it is reached through
two small protocols, so another backend (a vector database) can stand in for ``IndexStore``:
``IndexBackend.view()`` gives one consistent version, and an ``IndexView`` answers a dense
search, a lexical search, and a chunk, document or sentences by id. A search reads one view from
start to end, so a commit landing meanwhile is seen whole or not at all.

    >>> retriever = Retriever(IndexStore.open(".cache/index/default"), Embedder())
    >>> hit = retriever.search(retriever.spell_out_acronyms("Who is the NSC spokesperson?"), k=3)[0]
    >>> hit.rank, hit.source_ranks
    (1, {'dense': 1, 'bm25': 1})
"""

from __future__ import annotations

import threading
from collections.abc import Hashable, Iterable
from typing import Protocol

import numpy as np

from corpus.document import Chunk, Document
from index.fusion import reciprocal_rank_fusion
from index.hit import Hit

MODES = ("dense", "bm25", "hybrid")


class IndexView(Protocol):
    """One consistent version of an index, as a retriever reads it. Keys are opaque, valid in this view."""

    generation: Hashable  # changes whenever the contents change

    def __len__(self) -> int: ...  # live chunks

    def dense_search(self, vector: np.ndarray, n: int) -> list[tuple[Hashable, float]]: ...

    def lexical_search(self, query: str, n: int) -> list[tuple[Hashable, float]]: ...

    def chunk(self, key: Hashable) -> Chunk: ...

    def document(self, doc_id: str) -> Document: ...

    def sentences(self, doc_id: str) -> list[tuple[int, int]]: ...

    def documents(self) -> Iterable[Document]: ...

    def chunks(self) -> Iterable[Chunk]: ...

    def stats(self) -> list: ...


class IndexBackend(Protocol):
    def view(self) -> IndexView: ...


class Retriever:
    """Searches the backend's current view with ``embedder`` (which must match the index's model)."""

    def __init__(self, store: IndexBackend, embedder) -> None:
        self.store, self.embedder = store, embedder
        self._acronyms: tuple[Hashable, dict[str, str], frozenset[str]] | None = None
        self._acronym_lock = threading.Lock()

    def search(self, query: str, k: int = 5, mode: str = "hybrid", rrf_k: int = 60) -> list[Hit]:
        """The ``k`` best chunks for ``query``: "dense" (cosine), "bm25", or "hybrid" (RRF of both).

        Each retriever contributes ``max(4k, 20)`` candidates; ``Hit.score`` is the cosine, the
        BM25 score or the fused RRF score, and ``Hit.source_ranks`` the rank per retriever.
        """
        if mode not in MODES:
            raise ValueError(f"Unknown retrieval mode {mode!r}: use one of {', '.join(MODES)}.")
        view = self.store.view()
        if k <= 0 or not query.strip() or len(view) == 0:
            return []
        n = max(k * 4, 20)
        ranked: dict[str, list[tuple[Chunk, float]]] = {}
        if mode in ("dense", "hybrid"):
            vector = np.asarray(self.embedder.embed_query(query), dtype=np.float32)
            ranked["dense"] = [(view.chunk(key), score) for key, score in view.dense_search(vector, n)]
        if mode in ("bm25", "hybrid"):
            ranked["bm25"] = [(view.chunk(key), score) for key, score in view.lexical_search(query, n)]
        if mode != "hybrid":
            return [Hit(chunk, score, rank, {mode: rank})
                    for rank, (chunk, score) in enumerate(ranked[mode][:k], start=1)]  # fmt: skip
        by_id = {chunk.chunk_id: chunk for pairs in ranked.values() for chunk, _ in pairs}
        fused = reciprocal_rank_fusion({s: [c.chunk_id for c, _ in pairs] for s, pairs in ranked.items()},
                                       k=rrf_k, top_k=k)  # fmt: skip
        return [Hit(by_id[f.id], f.score, rank, f.ranks) for rank, f in enumerate(fused, start=1)]

    def spell_out_acronyms(self, text: str) -> str:
        """``text`` with acronyms the documents only ever spell out replaced by the name (``index.acronyms``)."""
        from index.acronyms import acronym_table, spell_out_acronyms, vocabulary

        view = self.store.view()
        with self._acronym_lock:  # built once per version of the index, not once per thread
            if self._acronyms is None or self._acronyms[0] != view.generation:
                texts = [d.text for d in view.documents()]
                self._acronyms = (view.generation, acronym_table(texts), vocabulary(texts))
            _, table, known = self._acronyms
        return spell_out_acronyms(text, table, known)

    # -- reading the current view (what the reading step of the pipeline needs) -----------------

    def document(self, doc_id: str) -> Document:
        return self.store.view().document(doc_id)

    def sentences(self, doc_id: str) -> list[tuple[int, int]]:
        """Sentence spans of a document, as used for chunking (reading windows grow by these)."""
        return self.store.view().sentences(doc_id)

    def documents(self) -> list[Document]:
        return list(self.store.view().documents())

    def chunks(self) -> list[Chunk]:
        return list(self.store.view().chunks())

    def stats(self) -> list:
        """One ``DocStats(doc_id, title, chars, chunks)`` per document."""
        return self.store.view().stats()
