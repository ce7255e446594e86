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


def _settled(recorded: dict) -> dict:
    """The fingerprint as if taken long after the files' last change: without ``racy``, so that only size, mtime
    and ctime decide whether a file is hashed (a freshly written file is always hashed)."""
    return {rel: {k: v for k, v in entry.items() if k != "racy"} for rel, entry in recorded.items()}


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
    recorded = _settled(corpus_fingerprint(files))
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
    # even size and mtime both kept ("touch -r"): the ctime moved, which no user call can set back
    assert corpus_changed(recorded, files) is True


def test_an_unreadable_file_is_fingerprinted_and_a_later_read_rebuilds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ingest skips a file it cannot read; fingerprinting it must not abort the build, and once it can be read
    (chmod changes its ctime) the index is stale."""
    import retrieval.store as store

    files = _corpus(tmp_path)
    real = store.file_sha256

    def denied(path: Path, *args: object) -> str:
        if Path(path).name == "a.txt":
            raise PermissionError(13, "Permission denied", str(path))
        return real(path, *args)

    monkeypatch.setattr(store, "file_sha256", denied)
    recorded = _settled(corpus_fingerprint(files))
    assert recorded["a.txt"]["sha256"] is None and recorded["b.txt"]["sha256"] is not None
    assert corpus_changed(recorded, files) is False  # still unreadable, untouched
    monkeypatch.setattr(store, "file_sha256", real)
    files["a.txt"].chmod(0o644)  # what makes it readable also moves its ctime
    assert corpus_changed(recorded, files) is True


def test_an_untouched_corpus_is_not_hashed_on_every_ask(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Size, mtime and ctime unchanged and fingerprinted well after the last change: no file is read; a file
    changed just before its fingerprint (the same clock tick could hide a second change) is always hashed."""
    import retrieval.store as store

    files = _corpus(tmp_path)
    recorded = corpus_fingerprint(files)
    assert all(entry.get("racy") for entry in recorded.values())  # written a moment ago
    hashed: list[str] = []
    real = store.file_sha256
    monkeypatch.setattr(store, "file_sha256", lambda path, *a: hashed.append(Path(path).name) or real(path, *a))
    assert corpus_changed(recorded, files) is False and sorted(hashed) == ["a.txt", "b.txt"]
    settled = _settled(recorded)
    hashed.clear()
    assert corpus_changed(settled, files) is False and hashed == []


def test_files_hashed_equal_after_a_metadata_change_are_not_hashed_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A chmod (or cp -a) moves every ctime without changing a byte: the first check hashes and records the new
    stats in the stat cache, later checks read no file; an edit after that is still seen."""
    import retrieval.store as store
    from retrieval.store import read_stat_cache, write_stat_cache

    files = _corpus(tmp_path)
    recorded = _settled(corpus_fingerprint(files))
    for path in files.values():
        path.chmod(0o600)
    old = {rel: p.stat() for rel, p in files.items()}
    monkeypatch.setattr(store, "time", type("Clock", (), {"time_ns": staticmethod(
        lambda: max(max(st.st_mtime_ns, st.st_ctime_ns) for st in old.values()) + store.RACY_NS)}))
    hashed: list[str] = []
    real = store.file_sha256
    monkeypatch.setattr(store, "file_sha256", lambda path, *a: hashed.append(Path(path).name) or real(path, *a))
    verified = read_stat_cache(tmp_path / "index")  # none yet
    assert verified == {}
    assert corpus_changed(recorded, files, verified) is False and sorted(hashed) == ["a.txt", "b.txt"]
    (tmp_path / "index").mkdir()
    write_stat_cache(tmp_path / "index", verified)
    again = read_stat_cache(tmp_path / "index")
    hashed.clear()
    assert corpus_changed(recorded, files, again) is False and hashed == []
    st = files["a.txt"].stat()
    files["a.txt"].write_text("Moscow deployed about 3,000 peacekeepers.", encoding="utf-8")  # same size
    os.utime(files["a.txt"], ns=(st.st_atime_ns, st.st_mtime_ns))
    assert corpus_changed(recorded, files, again) is True  # the ctime moved past the cached one
