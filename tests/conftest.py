"""Shared test fixtures: where the external benchmark data lives (skip cleanly when it is absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

__all__ = ["bench_data_dir", "bench_data"]


def bench_data_dir() -> Path:
    """The read-only shared benchmark folder, a sibling of the repository root (../shared/bench-data)."""
    return Path(__file__).resolve().parents[1] / ".." / "shared" / "bench-data"


@pytest.fixture(scope="session")
def bench_data() -> Path:
    """bench_data_dir(), skipping the test when the folder is not there."""
    path = bench_data_dir()
    if not path.is_dir():
        pytest.skip(f"benchmark data not found at {path}")
    return path


REPO_ROOT = Path(__file__).resolve().parents[1]
SEEDS = REPO_ROOT / "seeds"


@pytest.fixture(scope="session")
def seeds_dir() -> Path:
    return SEEDS


@pytest.fixture(scope="session")
def seeds_engine(tmp_path_factory: pytest.TempPathFactory):
    """The seeds corpus built once per test session (the expensive part: spaCy, embeddings, ONNX export)."""
    from retrieval.engine import Engine

    index = tmp_path_factory.mktemp("seeds-index") / "index"
    return Engine.build(SEEDS, index)
