from __future__ import annotations

import pytest

from retrieval.fusion import FusionMode, convex, fuse, rrf


def test_rrf_matches_hand_computation() -> None:
    scores = rrf(([1, 2, 3], [9.0, 8.0, 7.0]), ([3, 1], [0.9, 0.8]), k=60)
    assert scores[1] == pytest.approx(1 / 61 + 1 / 62)
    assert scores[2] == pytest.approx(1 / 62)
    assert scores[3] == pytest.approx(1 / 63 + 1 / 61)


def test_convex_minmax_and_missing_items() -> None:
    scores = convex(([1, 2], [10.0, 0.0]), ([2, 3], [0.5, 0.1]), alpha=0.5)
    assert scores[1] == pytest.approx(0.5)  # bm25 top, missing from dense
    assert scores[2] == pytest.approx(0.5)  # bm25 bottom, dense top
    assert scores[3] == pytest.approx(0.0)


def test_equal_scores_do_not_divide_by_zero() -> None:
    items = fuse(([4, 5], [2.0, 2.0]), ([5, 4], [0.3, 0.3]), FusionMode.CONVEX, k=5)
    assert [i.score for i in items] == [pytest.approx(1.0), pytest.approx(1.0)]
    assert [i.item_id for i in items] == [4, 5]  # tie broken by best rank, then id


def test_empty_lists() -> None:
    assert fuse(([], []), ([], []), "rrf", k=3) == []
    only_dense = fuse(([], []), ([7], [0.2]), "convex", k=3)
    assert [(i.item_id, i.bm25_rank, i.dense_rank) for i in only_dense] == [(7, None, 1)]


def test_evidence_is_reported_and_k_respected() -> None:
    items = fuse(([1, 2, 3], [3.0, 2.0, 1.0]), ([3, 2, -1], [0.9, 0.5, 0.0]), "rrf", k=2)
    assert len(items) == 2
    top = items[0]
    assert top.bm25_rank is not None and top.dense_rank is not None
    assert all(i.item_id >= 0 for i in items)


def test_bad_alpha_rejected() -> None:
    with pytest.raises(ValueError):
        fuse(([1], [1.0]), ([1], [1.0]), "convex", alpha=1.5)
    with pytest.raises(ValueError):
        fuse(([1], [1.0]), ([1], [1.0]), "nope")
