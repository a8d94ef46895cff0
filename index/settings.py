"""What an index is built with: one small dataclass of the index's own (``qa.Config`` maps onto it).

    >>> IndexSettings(chunk_words=80).dense.flat_max_rows
    20000
"""

from __future__ import annotations

from dataclasses import dataclass, field

from index.embedder import BUNDLED


@dataclass(frozen=True)
class DenseSettings:
    """How vectors are searched. A segment of up to ``flat_max_rows`` chunks is searched exactly
    (FAISS flat, float32); a larger one gets an HNSW graph over float16 vectors, memory-mapped.

    The threshold is where exact search stops being cheap: one query over 20,000 vectors of 384
    floats takes about 2 ms here (``bench/index_scale.py`` prints both kinds at every size).
    """

    flat_max_rows: int = 20_000
    hnsw_m: int = 32  # graph degree: memory and build time grow with it, so does recall
    hnsw_ef_construction: int = 80
    hnsw_ef_search: int = 128  # candidates kept while searching; at least the number asked for

    def to_json(self) -> dict:
        return {"flat_max_rows": self.flat_max_rows, "hnsw_m": self.hnsw_m,
                "hnsw_ef_construction": self.hnsw_ef_construction, "hnsw_ef_search": self.hnsw_ef_search}  # fmt: skip

    @classmethod
    def from_json(cls, data: dict) -> DenseSettings:
        return cls(**{k: int(v) for k, v in data.items() if k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class IndexSettings:
    """Everything that decides what goes into an index. Changing the model or the chunking means
    rebuilding; the dense and compaction settings only shape how new segments are written.

    Args:
        embed_model: sentence-transformers name or path, or ``bundled:all-MiniLM-L6-v2``.
        chunk_words / overlap_sentences: chunking (``corpus.chunking.chunk_document``).
        dense: exact vs HNSW search and the HNSW parameters.
        compact_dead_fraction: a segment whose deleted chunks pass this share is rewritten.
        max_segments: past this many segments, the smallest ones are merged into one.
        verify_max_bytes: indexes up to this size have every file checksummed when opened;
            larger ones have each file checksummed the first time it is read.
    """

    embed_model: str = BUNDLED
    chunk_words: int = 120
    overlap_sentences: int = 1
    dense: DenseSettings = field(default_factory=DenseSettings)
    compact_dead_fraction: float = 0.25
    max_segments: int = 8
    verify_max_bytes: int = 1 << 30

    def __post_init__(self) -> None:
        if self.chunk_words < 1 or self.overlap_sentences < 0:
            raise ValueError("Chunking needs chunk_words >= 1 and overlap_sentences >= 0.")
        if self.max_segments < 2 or not 0 < self.compact_dead_fraction <= 1:
            raise ValueError("Compaction needs max_segments >= 2 and 0 < compact_dead_fraction <= 1.")
