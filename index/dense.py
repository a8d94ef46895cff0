"""Exact dense retrieval: a FAISS ``IndexFlatIP`` over unit-length float32 vectors.

With unit vectors the inner product is cosine similarity. A flat index is exact and, at the size
of a personal corpus, fast enough; it also gives its vectors back (``vectors()``), so the store
can drop one document's rows and rebuild without re-embedding the others.

    >>> index = DenseIndex.build(np.eye(3, dtype=np.float32))
    >>> index.search(np.array([0, 1, 0], dtype=np.float32), k=2)
    ([1, 0], [1.0, 0.0])
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np


@lru_cache(maxsize=1)
def _faiss():
    import faiss  # lazily: heavy, and only retrieval and ingestion need it

    return faiss


def _unit_rows(vectors: np.ndarray) -> np.ndarray:
    """float32 rows scaled to length 1 (zero rows stay zero), so inner product is cosine."""
    vectors = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.ascontiguousarray(vectors / np.where(norms > 0, norms, 1.0), dtype=np.float32)


class DenseIndex:
    """Row ``i`` of the index is chunk ``i`` of the store; ids returned are row numbers."""

    def __init__(self, faiss_index) -> None:
        self._index = faiss_index

    @classmethod
    def empty(cls, dimension: int) -> DenseIndex:
        return cls(_faiss().IndexFlatIP(int(dimension)))

    @classmethod
    def build(cls, vectors: np.ndarray, dimension: int | None = None) -> DenseIndex:
        """An index over ``vectors`` (n, dim); ``dimension`` is needed only when n may be 0."""
        vectors = np.asarray(vectors, dtype=np.float32)
        dim = dimension if dimension is not None else vectors.shape[1]
        index = cls.empty(dim)
        index.add(vectors)
        return index

    @property
    def dimension(self) -> int:
        return int(self._index.d)

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def add(self, vectors: np.ndarray) -> None:
        """Append rows; they get the next row numbers."""
        if len(vectors) == 0:
            return
        rows = _unit_rows(vectors)
        if rows.shape[1] != self.dimension:
            raise ValueError(f"Vectors have dimension {rows.shape[1]}, the index expects {self.dimension}.")
        self._index.add(rows)

    def vectors(self) -> np.ndarray:
        """All stored rows, shape (n, dim): what a rebuild starts from."""
        if len(self) == 0:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.asarray(self._index.reconstruct_n(0, len(self)), dtype=np.float32)

    def search(self, query_vec: np.ndarray, k: int) -> tuple[list[int], list[float]]:
        """Row numbers and cosine scores of the ``k`` nearest rows, best first (fewer if n < k)."""
        k = min(int(k), len(self))
        if k <= 0:
            return [], []
        scores, ids = self._index.search(_unit_rows(query_vec), k)
        pairs = [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]
        return [i for i, _ in pairs], [s for _, s in pairs]

    def save(self, path: str | Path) -> None:
        """Write to one file (the store writes it inside a temporary folder, then swaps)."""
        _faiss().write_index(self._index, str(path))

    @classmethod
    def load(cls, path: str | Path) -> DenseIndex:
        """Read a file written by ``save``; raises ``ValueError`` if it is not a flat IP index."""
        faiss = _faiss()
        try:
            index = faiss.read_index(str(path))
        except RuntimeError as exc:  # faiss reports truncated or foreign files this way
            raise ValueError(f"{Path(path).name} is truncated or not a FAISS index") from exc
        if not isinstance(index, faiss.IndexFlatIP):
            raise ValueError(f"{Path(path).name} is not a flat inner-product index")
        return cls(index)
