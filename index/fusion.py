"""Reciprocal rank fusion (pure): one ranking from several, using ranks only.

BM25 scores and cosine similarities live on different scales; RRF ignores scores and adds
``1 / (k + rank)`` per list (Cormack et al., 2009), so an item ranked well by both wins.

    >>> reciprocal_rank_fusion({"dense": ["a", "b"], "bm25": ["b", "c"]}, k=60)[0]
    Fused(id='b', score=0.03252247488101534, ranks={'dense': 2, 'bm25': 1})
"""

from __future__ import annotations

import math
from typing import NamedTuple


class Fused(NamedTuple):
    """One fused result: the id, its RRF score and the 1-based rank each source gave it."""

    id: str
    score: float
    ranks: dict[str, int]


def reciprocal_rank_fusion(
    rankings: dict[str, list[str]], k: int = 60, top_k: int | None = None
) -> list[Fused]:
    """Fuse rankings (source name -> ids, best first) into one list, best first.

    Args:
        rankings: e.g. ``{"dense": [...], "bm25": [...]}``; a repeated id counts at its first rank.
        k: damping constant; larger values flatten the gap between top and lower ranks.
        top_k: keep only this many results (all when None).

    Returns:
        ``Fused(id, score, ranks)`` tuples. Ties are broken by the best single rank, then by
        the number of sources, then by id, so the order never depends on dict or set order.
    """
    if k < 0:
        raise ValueError("The RRF constant k must be >= 0.")
    ranks: dict[str, dict[str, int]] = {}
    for source, ids in rankings.items():
        for rank, item in enumerate(ids, start=1):
            ranks.setdefault(item, {}).setdefault(source, rank)
    # fsum is exactly rounded, so equal rank sets give bit-equal scores whatever the source order
    fused = [
        Fused(item, math.fsum(1.0 / (k + r) for r in by_source.values()), by_source)
        for item, by_source in ranks.items()
    ]
    fused.sort(key=lambda f: (-f.score, min(f.ranks.values()), -len(f.ranks), f.id))
    return fused if top_k is None else fused[: max(top_k, 0)]
