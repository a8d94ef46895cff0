"""Dense retrieval over unit vectors with FAISS: exact (flat, float32) for small segments, IVF or HNSW for large.

With unit vectors the inner product is cosine similarity. A flat index is exact and, up to
``DenseSettings.flat_max_rows`` vectors, fast enough; past that, inverted lists over float16
vectors (``IndexIVFScalarQuantizer``, cells from spherical k-means on a sample) answer a
question over a million chunks in about 8 ms at recall@10 0.997, or an HNSW graph
over float16 vectors (``IndexHNSWSQ``) when asked for (see ``bench/index_scale.py``). Each is saved
as one FAISS file and opened memory-mapped, so opening a large index reads little until the first
search. Rows can be left out of a search (deleted chunks) without rebuilding.

    >>> index = DenseIndex.build(np.eye(3, dtype=np.float32))
    >>> index.search(np.array([0, 1, 0], dtype=np.float32), k=2)
    ([1, 0], [1.0, 0.0])
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path

import numpy as np

from index.settings import DenseSettings

FLAT, HNSW, IVF = "flat", "hnsw", "ivf"
IVF_FOURCC = b"IwSq"  # how FAISS files start for IndexIVFScalarQuantizer


@lru_cache(maxsize=1)
def _faiss():
    import faiss  # lazily: heavy, and only retrieval and ingestion need it

    return faiss


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """float32 rows scaled to length 1 (zero rows stay zero), so inner product is cosine."""
    vectors = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.ascontiguousarray(vectors / np.where(norms > 0, norms, 1.0), dtype=np.float32)


def allowed_bits(mask: np.ndarray) -> np.ndarray:
    """A bool-per-row mask packed as FAISS's ``IDSelectorBitmap`` reads it."""
    return np.packbits(np.asarray(mask, dtype=bool), bitorder="little")


def ivf_lists_for(rows: int) -> int:
    """Cells for ``rows`` vectors: about 4 x sqrt(rows) (FAISS's rule of thumb), each with 39 rows to train on."""
    return max(1, min(rows // 39, round(4 * math.sqrt(rows))))


class DenseIndex:
    """Row ``i`` is chunk row ``i`` of its segment; searches return row numbers."""

    def __init__(self, faiss_index, settings: DenseSettings | None = None) -> None:
        self._index = faiss_index
        self.settings = settings or DenseSettings()

    @classmethod
    def build(cls, vectors: np.ndarray, dimension: int | None = None,
              settings: DenseSettings | None = None) -> DenseIndex:  # fmt: skip
        """An index over ``vectors`` (n, dim), which must already be unit rows (see ``unit_rows``).

        Flat when n <= ``settings.flat_max_rows`` (or no settings are given), else ``settings.large``.
        ``dimension`` is needed only when n may be 0.
        """
        faiss = _faiss()
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        dim = int(dimension if dimension is not None else vectors.shape[1])
        if vectors.ndim != 2 or vectors.shape[1] != dim:
            raise ValueError(f"Vectors have shape {vectors.shape}, the index expects dimension {dim}.")
        if settings is None or len(vectors) <= settings.flat_max_rows:
            index = faiss.IndexFlatIP(dim)
            index.add(vectors)
            return cls(index, settings)
        if settings.large == IVF:
            lists = settings.ivf_lists or ivf_lists_for(len(vectors))
            index = faiss.IndexIVFScalarQuantizer(faiss.IndexFlatIP(dim), dim, lists, faiss.ScalarQuantizer.QT_fp16,
                                                  faiss.METRIC_INNER_PRODUCT)  # fmt: skip
            index.cp.spherical = True  # centroids of unit vectors, compared by inner product
            sample = min(len(vectors), 40 * lists)  # FAISS asks for 39 a cell; more only slows k-means
            rows = np.sort(np.random.default_rng(0).choice(len(vectors), sample, replace=False))
            index.train(vectors[rows])
            index.add(vectors)
            index.make_direct_map()  # row -> place in its list, saved with it: compaction reads rows back
            return cls(index, settings)
        index = faiss.IndexHNSWSQ(dim, faiss.ScalarQuantizer.QT_fp16, settings.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = settings.hnsw_ef_construction
        index.train(vectors[:0] if len(vectors) == 0 else vectors[:1])  # fp16 needs no statistics
        index.add(vectors)
        return cls(index, settings)

    @property
    def kind(self) -> str:
        faiss = _faiss()
        return HNSW if isinstance(self._index, faiss.IndexHNSW) else IVF if isinstance(self._index, faiss.IndexIVF) else FLAT

    @property
    def probe(self) -> int:
        """Cells an IVF search visits (``DenseSettings.ivf_probe``, or by default a share of the cells)."""
        lists = int(self._index.nlist)
        return min(lists, self.settings.ivf_probe or max(32, lists // 32))

    @property
    def dimension(self) -> int:
        return int(self._index.d)

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def params(self) -> dict:
        """What the manifest records about this index."""
        if self.kind == FLAT:
            return {"kind": FLAT, "rows": len(self)}
        if self.kind == IVF:
            return {"kind": IVF, "rows": len(self), "storage": "float16", "lists": int(self._index.nlist)}
        hnsw = self._index.hnsw
        return {"kind": HNSW, "rows": len(self), "storage": "float16", "m": int(hnsw.nb_neighbors(1)),
                "ef_construction": int(hnsw.efConstruction)}  # fmt: skip

    def vectors(self, rows: np.ndarray | None = None) -> np.ndarray:
        """Stored rows (all, or ``rows``), float32; IVF and HNSW rows come back at float16 precision."""
        if rows is not None:
            rows = np.asarray(rows, dtype=np.int64)
            if len(rows) == 0:
                return np.zeros((0, self.dimension), dtype=np.float32)
            return np.asarray(self._index.reconstruct_batch(rows), dtype=np.float32)
        if len(self) == 0:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.asarray(self._index.reconstruct_n(0, len(self)), dtype=np.float32)

    def search(self, query_vec: np.ndarray, k: int, allowed: np.ndarray | None = None) -> tuple[list[int], list[float]]:
        """Row numbers and cosine scores of the ``k`` nearest rows, best first.

        ``allowed`` leaves the other rows out (deleted chunks): a bool per row, or ``allowed_bits``
        of it, packed once for many searches.
        """
        k = min(int(k), len(self))
        if k <= 0:
            return [], []
        faiss = _faiss()
        query = unit_rows(query_vec)
        selector = bitmap = None
        if allowed is not None:
            bitmap = allowed if allowed.dtype == np.uint8 else allowed_bits(allowed)  # alive while FAISS reads it
            selector = faiss.IDSelectorBitmap(len(self), faiss.swig_ptr(bitmap))
        if self.kind == HNSW:
            params = faiss.SearchParametersHNSW(efSearch=max(self.settings.hnsw_ef_search, k))
            if selector is not None:
                params.sel = selector
        elif self.kind == IVF:
            params = faiss.SearchParametersIVF(nprobe=self.probe)
            if selector is not None:
                params.sel = selector
        else:
            params = faiss.SearchParameters(sel=selector) if selector is not None else None
        scores, ids = self._index.search(query, k, params=params)
        del bitmap
        pairs = [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]
        return [i for i, _ in pairs], [s for _, s in pairs]

    def save(self, path: str | Path) -> None:
        _faiss().write_index(self._index, str(path))

    @classmethod
    def load(cls, path: str | Path, settings: DenseSettings | None = None) -> DenseIndex:
        """Open a file written by ``save``, memory-mapped; ``ValueError`` if it is not one of ours.

        ``settings`` only sets how it is searched (HNSW breadth, IVF cells visited)."""
        faiss = _faiss()
        try:
            with open(path, "rb") as file:
                ivf = file.read(4) == IVF_FOURCC
            # Inverted lists are mapped as on-disk lists; flat codes (flat, HNSW's vectors) as such.
            index = faiss.read_index(str(path), faiss.IO_FLAG_MMAP if ivf else faiss.IO_FLAG_MMAP_IFC)
        except (OSError, RuntimeError) as exc:  # faiss reports truncated or foreign files this way
            raise ValueError(f"{Path(path).name} is truncated or not a FAISS index") from exc
        if not isinstance(index, (faiss.IndexFlatIP, faiss.IndexHNSWSQ, faiss.IndexIVFScalarQuantizer)):
            raise ValueError(f"{Path(path).name} is not a flat, IVF or HNSW inner-product index")
        return cls(index, settings)
