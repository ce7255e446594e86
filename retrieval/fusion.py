"""Combine BM25 and dense rankings: reciprocal rank fusion or a min-max normalised convex combination."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum

import numpy as np

__all__ = ["FusedItem", "FusionMode", "fuse", "rrf", "convex"]


class FusionMode(str, Enum):
    RRF = "rrf"
    CONVEX = "convex"


@dataclass(frozen=True)
class FusedItem:
    """One fused result; the per-retriever rank (1 = best) and score are None when that retriever missed it."""

    item_id: int
    score: float
    bm25_score: float | None
    bm25_rank: int | None
    dense_score: float | None
    dense_rank: int | None


Ranking = tuple[Sequence[int], Sequence[float]]
RankMap = dict[int, tuple[int, float]]


def _as_map(ranking: Ranking) -> RankMap:
    ids, scores = ranking
    # Python scalars first: iterating numpy arrays element by element is several times slower (same values).
    ids = ids.tolist() if isinstance(ids, np.ndarray) else ids
    scores = scores.tolist() if isinstance(scores, np.ndarray) else scores
    out: RankMap = {}
    for rank, (i, s) in enumerate(zip(ids, scores), start=1):
        i = int(i)
        if i >= 0 and i not in out:
            out[i] = (rank, float(s))
    return out


def _minmax(values: np.ndarray) -> np.ndarray:
    """Min-max to [0, 1]; all-equal scores map to 1 (they are equally good, not worthless)."""
    if values.size == 0:
        return values
    lo, hi = float(values.min()), float(values.max())
    if hi - lo <= 1e-12:
        return np.ones_like(values)
    return (values - lo) / (hi - lo)


def rrf(bm25: Ranking, dense: Ranking, k: int = 60, alpha: float = 0.5) -> dict[int, float]:
    """Reciprocal rank fusion: sum of 1/(k + rank); ``alpha`` is unused (kept for a uniform signature)."""
    return _rrf_maps(_as_map(bm25), _as_map(dense), k, alpha)


def _rrf_maps(bm: RankMap, de: RankMap, k: int, alpha: float) -> dict[int, float]:
    del alpha
    scores: dict[int, float] = {}
    for m in (bm, de):
        for i, (rank, _s) in m.items():
            scores[i] = scores.get(i, 0.0) + 1.0 / (k + rank)
    return scores


def convex(bm25: Ranking, dense: Ranking, k: int = 60, alpha: float = 0.5) -> dict[int, float]:
    """``alpha * minmax(dense) + (1 - alpha) * minmax(bm25)``; a missing score counts as the list's minimum (0)."""
    return _convex_maps(_as_map(bm25), _as_map(dense), k, alpha)


def _convex_maps(bm: RankMap, de: RankMap, k: int, alpha: float) -> dict[int, float]:
    del k
    out: dict[int, float] = {}
    for weight, m in ((1.0 - alpha, bm), (alpha, de)):
        if not m:
            continue
        norm = _minmax(np.fromiter((v[1] for v in m.values()), dtype=np.float64, count=len(m)))
        for i, v in zip(m, norm.tolist()):  # every listed item gets a score (0.0 at its list's minimum)
            out[i] = out.get(i, 0.0) + weight * v
    return out


# Each mode's scorer over the rank maps (id -> (rank, score)), with one signature: (bm25, dense, rrf_k, alpha).
_FUSERS: dict[FusionMode, Callable[[RankMap, RankMap, int, float], dict[int, float]]] = {
    FusionMode.RRF: _rrf_maps, FusionMode.CONVEX: _convex_maps,
}


def fuse(
    bm25: Ranking, dense: Ranking, mode: FusionMode | str = FusionMode.RRF, k: int = 10, rrf_k: int = 60,
    alpha: float = 0.5,
) -> list[FusedItem]:
    """Fused top-k with each retriever's evidence; ties broken by best single rank, then id (deterministic)."""
    mode = FusionMode(mode)
    if not 0.0 <= alpha <= 1.0:
        raise ValueError("alpha must be in [0, 1]")
    bm, de = _as_map(bm25), _as_map(dense)  # once: the fusers below work on these maps
    scores = _FUSERS[mode](bm, de, rrf_k, alpha)
    big = 1 << 30

    def order(i: int) -> tuple[float, int, int]:
        best = min(bm.get(i, (big, 0.0))[0], de.get(i, (big, 0.0))[0])
        return (-scores[i], best, i)

    items = sorted(scores, key=order)[: max(k, 0)]
    return [
        FusedItem(
            item_id=i,
            score=scores[i],
            bm25_score=bm[i][1] if i in bm else None,
            bm25_rank=bm[i][0] if i in bm else None,
            dense_score=de[i][1] if i in de else None,
            dense_rank=de[i][0] if i in de else None,
        )
        for i in items
    ]
