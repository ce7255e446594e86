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


@pytest.mark.parametrize("kind", ["flat", "flat-fp16", "sq8"])
@pytest.mark.parametrize("k", [3, 5, 6, 9])
def test_one_query_and_a_batch_break_ties_alike(kind: str, k: int) -> None:
    """Syndicated copies of one article have equal vectors: ``ask`` (one query) and the batched evaluation must
    return the same copies in the same order, the lowest ids first."""
    base = _unit(6, 16)
    db = np.vstack([np.repeat(base[:1], 5, axis=0), base[1:]])  # ids 0-4 are one vector
    index = DenseIndex(16, kind=kind)
    index.add(db)
    s1, i1 = index.search(db[:1], k)
    s2, i2 = index.search(np.vstack([db[:1], db[7:8]]), k)
    assert i1[0].tolist() == i2[0].tolist()
    assert i1[0, :5].tolist() == list(range(min(k, 5)))
    assert np.all(np.diff(s1[0]) <= 1e-6)


def test_bad_arguments_are_clear_errors(tmp_path: Path) -> None:
    index = DenseIndex(8)
    index.add(np.eye(8, dtype=np.float32))
    for bad_id in (-1, -100_000_000, 8):  # faiss read out of bounds (or crashed) on a negative id
        with pytest.raises(IndexError, match="out of range"):
            index.reconstruct([0, bad_id])
    assert np.array_equal(index.reconstruct([7]), np.eye(8, dtype=np.float32)[7:])
    with pytest.raises(ValueError, match="NaN"):
        index.add(np.full((1, 8), np.nan, dtype=np.float32))
    with pytest.raises(ValueError, match="NaN"):
        index.search(np.full(8, np.inf, dtype=np.float32), 3)
    with pytest.raises(TypeError, match="k must be an int"):
        index.search(np.eye(8, dtype=np.float32)[:1], 2.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="dim must be an int"):
        DenseIndex(8.0)  # type: ignore[arg-type]
    with pytest.raises(FileNotFoundError, match="not an existing directory"):
        index.save(tmp_path / "missing")
    assert len(index) == 8
