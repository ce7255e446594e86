from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from retrieval.dense import DenseIndex


def _unit(n: int, d: int, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_flat_search_equals_brute_force(tmp_path: Path) -> None:
    db, q = _unit(500, 32), _unit(7, 32, seed=1)
    index = DenseIndex(32)
    index.add(db)
    scores, ids = index.search(q, 10)
    exact = np.argsort(-(q @ db.T), axis=1, kind="stable")[:, :10]
    assert np.array_equal(ids, exact)
    index.save(tmp_path)
    loaded = DenseIndex.load(tmp_path)
    s2, i2 = loaded.search(q, 10)
    assert np.array_equal(i2, ids) and np.allclose(s2, scores)


def test_guards() -> None:
    index = DenseIndex(8)
    s, i = index.search(np.zeros(8, dtype=np.float32), 5)
    assert s.shape == (1, 0)
    with pytest.raises(ValueError):
        index.add(np.zeros((2, 9), dtype=np.float32))
    with pytest.raises(ValueError):
        DenseIndex(8, kind="nope")
    index.add(np.eye(8, dtype=np.float32))
    s, i = index.search(np.zeros((0, 8), dtype=np.float32), 5)  # no queries: empty results, not an IndexError
    assert s.shape == i.shape == (0, 5) and s.dtype == np.float32 and i.dtype == np.int64
