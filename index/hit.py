"""A retrieved chunk with its fused score and the rank each retriever gave it."""

from __future__ import annotations

from dataclasses import dataclass, field

from corpus.document import Chunk


@dataclass(frozen=True)
class Hit:
    chunk: Chunk
    score: float
    rank: int  # 1-based rank in this result list
    source_ranks: dict[str, int] = field(default_factory=dict)  # e.g. {"dense": 2, "bm25": 1}
