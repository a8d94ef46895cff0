"""What an index is built with: one small dataclass of the index's own (``qa.Config`` maps onto it).

    >>> IndexSettings(chunk_words=80).dense.flat_max_rows
    20000
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from index.embedder import BUNDLED

LARGE_KINDS = ("ivf", "hnsw")


@dataclass(frozen=True)
class DenseSettings:
    """How vectors are searched. A segment of up to ``flat_max_rows`` chunks is searched exactly
    (FAISS flat, float32); a larger one by ``large``: inverted lists over float16 vectors (``ivf``,
    the default) or an HNSW graph over float16 vectors (``hnsw``), memory-mapped either way.

    The threshold is where exact search stops being cheap: one query over 20,000 vectors of 384
    floats takes about 2 ms here (``bench/index_scale.py`` prints both kinds at every size). Past
    it, inverted lists won at 1M chunks shaped like real ones: recall@10 0.997 at 8 ms visiting 125
    of 4,000 cells, built in 88 s, where HNSW stopped near 0.93-0.95 whatever its search breadth
    (the nearest neighbours of a question are many near-copies of one passage, which a graph's
    greedy walk leaves behind and a k-means cell keeps together).
    """

    flat_max_rows: int = 20_000
    hnsw_m: int = 32  # graph degree: memory and build time grow with it, so does recall
    hnsw_ef_construction: int = 80
    hnsw_ef_search: int = 128  # candidates kept while searching; at least the number asked for
    large: str = "ivf"  # a segment past flat_max_rows: "ivf" or "hnsw"
    ivf_lists: int = 0  # inverted lists (k-means cells); 0: about 4 x sqrt(rows)
    ivf_probe: int = 0  # lists searched per query; 0: max(32, lists / 32)

    def __post_init__(self) -> None:
        if self.large not in LARGE_KINDS:
            raise ValueError(f"A large segment is searched by one of {', '.join(LARGE_KINDS)}, not {self.large!r}.")

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> DenseSettings:
        return cls(**{k: (str(v) if k == "large" else int(v)) for k, v in data.items() if k in cls.__dataclass_fields__})


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
