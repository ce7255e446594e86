"""The index directory's atomic swap (retrieval/store.py): builds of one index never touch another's folders."""

from __future__ import annotations

from pathlib import Path

import pytest

from retrieval.store import atomic_index_dir


def _build(target: Path, content: str) -> None:
    with atomic_index_dir(target) as version:
        (version / "data.txt").write_text(content)


@pytest.mark.parametrize("names", [("idx1", "idx[1]"), ("idx", "idx.v-abc"), ("a*", "ab"), ("x", "x.link-1")])
def test_rebuilding_one_index_leaves_its_neighbours_alone(names: tuple[str, str], tmp_path: Path) -> None:
    """Version folders are found by exact name: "idx[1]" as a glob pattern would match "idx1", and "idx"'s old
    versions, ".idx.v-*", would match those of an index named "idx.v-abc"."""
    for round_ in range(3):
        for name in names:
            _build(tmp_path / name, f"{name} {round_}")
    for name in names:
        assert (tmp_path / name / "data.txt").read_text() == f"{name} 2"
        versions = [p for p in tmp_path.iterdir() if p.name.startswith(f".{name}.v-") and p.is_dir()
                    and (p / "data.txt").read_text().startswith(f"{name} ")]
        assert len(versions) == 2  # the current one and the one before it (a reader may still have it open)
