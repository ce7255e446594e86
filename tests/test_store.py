"""The index directory's atomic swap (retrieval/store.py): builds of one index never touch another's folders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from retrieval.store import atomic_index_dir, corpus_changed, corpus_fingerprint


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


def _corpus(tmp_path: Path) -> dict[str, Path]:
    tmp_path.mkdir(exist_ok=True)
    files = {"a.txt": tmp_path / "a.txt", "b.txt": tmp_path / "b.txt"}
    files["a.txt"].write_text("Moscow deployed about 2,000 peacekeepers.", encoding="utf-8")
    files["b.txt"].write_text("Talks were held in Yevlakh.", encoding="utf-8")
    return files


def test_a_touched_but_unchanged_corpus_is_not_stale(tmp_path: Path) -> None:
    """A copy or checkout that only changes modification times must not rebuild the index on every ``ask``."""
    files = _corpus(tmp_path)
    recorded = corpus_fingerprint(files)
    st = files["a.txt"].stat()
    os.utime(files["a.txt"], ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    assert corpus_changed(recorded, files) is False


@pytest.mark.parametrize("change", ["same-size edit", "same-size edit, same mtime", "deleted", "added", "grown"])
def test_changed_corpora_are_stale(change: str, tmp_path: Path) -> None:
    """Silently stale answers are the worse failure: every kind of change is seen, including an edit that keeps
    the size ("2,000" -> "3,000"), which only the hash can tell."""
    files = _corpus(tmp_path)
    recorded = corpus_fingerprint(files)
    a = files["a.txt"]
    st = a.stat()
    if change.startswith("same-size edit"):
        a.write_text("Moscow deployed about 3,000 peacekeepers.", encoding="utf-8")
        os.utime(a, ns=(st.st_atime_ns, st.st_mtime_ns + (0 if change.endswith("same mtime") else 1_000_000_000)))
        assert a.stat().st_size == st.st_size
    elif change == "deleted":
        a.unlink()
        del files["a.txt"]
    elif change == "added":
        files["c.txt"] = tmp_path / "c.txt"
        files["c.txt"].write_text("More.", encoding="utf-8")
    else:
        a.write_text("Moscow deployed about 2,000 peacekeepers to the region.", encoding="utf-8")
    expected = change != "same-size edit, same mtime"  # size and mtime both kept: not hashed, by design
    assert corpus_changed(recorded, files) is expected
