"""Index directory persistence: manifest, checksums, atomic replacement, and the build lock.

An index is a directory. It is written into a temporary sibling directory and swapped in with ``os.rename``, so a
reader sees the old index or the new one, never a mix, and a build killed half-way leaves the old index in place.
Every file's sha256 is in ``manifest.json`` and is checked before its bytes reach numpy, FAISS or ONNX Runtime;
the manifest carries the sha256 of its own canonical JSON (``manifest_sha256``), so a damaged manifest is noticed too.
Outcomes of each fault are listed in docs/robustness.md.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import hashlib
import json
import os
import re
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from retrieval.encoders import file_sha256

__all__ = [
    "FORMAT_VERSION",
    "IndexError_",
    "IndexIncompatible",
    "IndexCorrupt",
    "IndexMissing",
    "IndexTooNew",
    "atomic_index_dir",
    "build_lock",
    "check_index_target",
    "corpus_fingerprint",
    "corpus_changed",
    "read_stat_cache",
    "manifest_checksum",
    "read_manifest",
    "verify_files",
    "write_manifest",
    "write_stat_cache",
]

FORMAT_VERSION = 1
MANIFEST = "manifest.json"


class IndexError_(RuntimeError):
    """Base for index problems; the message is one line and says how to fix it."""


class IndexMissing(IndexError_):
    pass


class IndexCorrupt(IndexError_):
    pass


class IndexIncompatible(IndexError_):
    """Built by an older format or another embedding model: ``ask`` rebuilds it (with a message)."""


class IndexTooNew(IndexError_):
    """Written by a newer ask-engine (higher format version): an error, never silently overwritten by ``ask``."""


def _safe_name(name: str) -> bool:
    """Manifest file names are plain names inside the index folder: no paths, no parents, no hidden tricks."""
    return bool(name) and "/" not in name and "\\" not in name and name not in (".", "..") and not name.startswith(".")


def manifest_checksum(manifest: dict[str, Any]) -> str:
    """sha256 of the manifest's canonical JSON, without its own ``manifest_sha256`` entry."""
    body = {k: v for k, v in manifest.items() if k != "manifest_sha256"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def write_manifest(directory: Path, manifest: dict[str, Any]) -> None:
    files = {}
    for name in sorted(p.name for p in directory.iterdir() if p.is_file() and p.name != MANIFEST):
        files[name] = {"sha256": file_sha256(directory / name), "bytes": (directory / name).stat().st_size}
    manifest = dict(manifest, files=files)
    manifest["manifest_sha256"] = manifest_checksum(manifest)
    tmp = directory / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True))
    _fsync_file(tmp)
    os.replace(tmp, directory / MANIFEST)


def read_manifest(directory: Path) -> dict[str, Any]:
    """The parsed, self-checked manifest of an index folder.

    IndexMissing: nothing there (or an empty folder). IndexCorrupt: a folder or file that is not a readable index.
    IndexIncompatible: an older (or unknown) format version. IndexTooNew: written by a newer ask-engine.
    """
    path = directory / MANIFEST
    if not path.is_file() and not path.is_symlink():
        if not directory.exists() or (directory.is_dir() and not any(directory.iterdir())):
            raise IndexMissing(f"no index at {directory} (no {MANIFEST})")
        raise IndexCorrupt(f"{path} is missing: {directory} is not a complete ask-engine index")
    if path.is_symlink():
        raise IndexCorrupt(f"{path} is a link, not a file")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise IndexCorrupt(f"{path} is unreadable ({type(exc).__name__})") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        raise IndexCorrupt(f"{path} is not an ask-engine manifest")
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        if isinstance(version, int) and not isinstance(version, bool) and version > FORMAT_VERSION:
            raise IndexTooNew(
                f"index at {directory} has format version {version}, written by a newer ask-engine "
                f"(this one reads {FORMAT_VERSION}); upgrade ask-engine"
            )
        raise IndexIncompatible(f"index at {directory} has format version {version}, this ask-engine reads {FORMAT_VERSION}")
    if "manifest_sha256" in manifest and manifest["manifest_sha256"] != manifest_checksum(manifest):
        raise IndexCorrupt(f"{path} is damaged (checksum mismatch)")
    for name, entry in manifest["files"].items():
        if not _safe_name(str(name)):
            raise IndexCorrupt(f"{path} names a file outside the index folder: {name!r}")
        if not isinstance(entry, dict):
            raise IndexCorrupt(f"{path} is not an ask-engine manifest (bad entry for {name})")
    return manifest


def verify_files(directory: Path, manifest: dict[str, Any], names: list[str] | None = None) -> None:
    """Check size and sha256 of each listed file before anything parses it."""
    files = manifest["files"]
    for name in names if names is not None else list(files):
        entry = files.get(name)
        path = directory / name
        if entry is None:
            raise IndexCorrupt(f"{name} is not listed in the manifest of {directory}")
        if path.is_symlink():
            raise IndexCorrupt(f"{path} is a link, not a file of the index")
        if not path.is_file():
            raise IndexCorrupt(f"{path} is missing")
        if path.stat().st_size != entry.get("bytes") or file_sha256(path) != entry.get("sha256"):
            raise IndexCorrupt(f"{path} is damaged (checksum mismatch)")


def _sha256_or_none(path: Path) -> str | None:
    """A file's sha256, or None when it cannot be read (ingest skips it, and so does the index)."""
    try:
        return file_sha256(path)
    except OSError:
        return None


# File times come from a coarse kernel clock (a few ms a tick): a file changed within this long of its
# fingerprint could change again in the same tick unseen, so it is always hashed ("racily clean", as git says).
RACY_NS = 2_000_000_000


def _settled(st: os.stat_result) -> bool:
    """The file last changed long enough ago that a change in the same clock tick is no longer possible."""
    return time.time_ns() - max(st.st_mtime_ns, st.st_ctime_ns) >= RACY_NS


def corpus_fingerprint(files: dict[str, Path]) -> dict[str, dict[str, Any]]:
    """sha256, size, mtime and ctime of each corpus file (relative name -> entry); sha256 None for a file that
    cannot be read; ``racy`` for a file changed just before it was fingerprinted."""
    out = {}
    for rel, path in sorted(files.items()):
        st = path.stat()
        out[rel] = {"sha256": _sha256_or_none(path), "bytes": st.st_size, "mtime_ns": st.st_mtime_ns,
                    "ctime_ns": st.st_ctime_ns}
        if not _settled(st):
            out[rel]["racy"] = True
    return out


def corpus_changed(
    recorded: dict[str, dict[str, Any]], files: dict[str, Path], verified: dict[str, list[int]] | None = None
) -> bool:
    """True when files were added, removed or changed; size, mtime and ctime first, hashing only when they differ.

    An edit that keeps the size and puts the old mtime back (``touch -r``, some sync tools) still changes the
    ctime, which no user call can set; so does a change of permissions that makes an unreadable file readable.
    ``verified``: ``[size, mtime_ns, ctime_ns]`` of files already hashed equal to their recorded sha256 since the
    build (a ``chmod -R`` or ``cp -a`` moves every ctime); files that hash equal now are added to it, so that they
    are not hashed again on every ``ask`` (``read_stat_cache`` / ``write_stat_cache`` keep it beside the index)."""
    if set(recorded) != set(files):
        return True
    for rel, path in files.items():
        try:
            st = path.stat()
        except OSError:
            return True
        entry = recorded[rel]
        if st.st_size != entry.get("bytes"):
            return True
        stat = [st.st_size, st.st_mtime_ns, st.st_ctime_ns]
        as_built = [entry.get("bytes"), entry.get("mtime_ns"), entry.get("ctime_ns")] == stat and not entry.get("racy")
        if as_built or (verified is not None and verified.get(rel) == stat):
            continue
        if _sha256_or_none(path) != entry.get("sha256"):
            return True
        if verified is not None and _settled(st):
            verified[rel] = stat
    return False


STAT_CACHE = "corpus_stat_cache.json"


def read_stat_cache(directory: Path) -> dict[str, list[int]]:
    """The verified corpus file stats kept beside an index (``corpus_changed``); empty when absent or unreadable."""
    try:
        data = json.loads((Path(directory) / STAT_CACHE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items()
            if isinstance(v, list) and len(v) == 3 and all(isinstance(x, int) for x in v)}


def write_stat_cache(directory: Path, verified: dict[str, list[int]]) -> None:
    """Atomically replace the stat cache; an index folder that cannot be written keeps hashing, nothing fails."""
    tmp = Path(directory) / f".{STAT_CACHE}.{uuid.uuid4().hex[:8]}"
    try:
        tmp.write_text(json.dumps(verified, sort_keys=True), encoding="utf-8")
        os.replace(tmp, Path(directory) / STAT_CACHE)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink()


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def check_index_target(target: Path) -> None:
    """Refuse to replace anything at ``target`` that is not an ask-engine index (never move a user's folder)."""
    if target.is_symlink() or not target.exists():
        return
    if target.is_dir() and ((target / MANIFEST).is_file() or not any(target.iterdir())):
        return
    raise IndexError_(f"{target} exists and is not an ask-engine index; remove it or choose another --index")


@contextlib.contextmanager
def atomic_index_dir(target: Path) -> Iterator[Path]:
    """Yield a fresh version directory; on success ``target`` (a symlink) is flipped to it in one ``rename``.

    Readers resolve ``target`` once, so they see the old version or the new one, never a mix, and never nothing.
    A build that fails or is killed leaves ``target`` untouched; its partial version directory is removed by the
    next build. The version before the current one is kept, so a reader that opened it just before the flip can
    finish. Call under :func:`build_lock`.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    check_index_target(target)
    current = os.readlink(target) if target.is_symlink() else None
    for stale in _siblings(target, "link"):
        stale.unlink(missing_ok=True)
    version = target.parent / f".{target.name}.v-{time.strftime('%Y%m%d%H%M%S')}-{uuid.uuid4().hex[:8]}"
    version.mkdir()
    try:
        yield version
        for f in version.iterdir():
            _fsync_file(f)
        _fsync_dir(version)
        link = target.parent / f".{target.name}.link-{uuid.uuid4().hex[:8]}"
        os.symlink(version.name, link)
        if target.exists() and not target.is_symlink():
            check_index_target(target)
            if any(target.iterdir()):  # an index of the old layout (a plain folder): moved aside, then removed
                os.rename(target, target.parent / f".{target.name}.v-legacy-{uuid.uuid4().hex[:8]}")
            else:
                target.rmdir()
        os.replace(link, target)
        _fsync_dir(target.parent)
    except BaseException:
        shutil.rmtree(version, ignore_errors=True)
        raise
    keep = {version.name, current}
    for old in _siblings(target, "v"):
        if old.name not in keep:
            shutil.rmtree(old, ignore_errors=True)


_SIBLING_SUFFIX = {"v": r"v-(?:\d{14}-[0-9a-f]{8}|legacy-[0-9a-f]{8})", "link": r"link-[0-9a-f]{8}"}


def _siblings(target: Path, kind: str) -> list[Path]:
    """``target``'s own version folders ("v") or pending links ("link"), by exact name: never another index's
    ("idx[1]" as a glob would match "idx1"; "idx" must not match "idx.v-x")."""
    pattern = re.compile(re.escape(f".{target.name}.") + _SIBLING_SUFFIX[kind])
    return [p for p in target.parent.glob(f".{glob.escape(target.name)}.{kind}-*") if pattern.fullmatch(p.name)]


@contextlib.contextmanager
def build_lock(target: Path, wait: bool = True, on_wait: Any = None) -> Iterator[None]:
    """Serialise builders of one index: an exclusive ``flock`` on a sibling lock file (released if killed)."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    check_index_target(target)
    lock_path = target.parent / f".{target.name}.lock"
    fd = os.open(lock_path, os.O_CREAT | os.O_RDWR, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if not wait:
                raise IndexError_(f"another build of {target} is running") from None
            if on_wait is not None:
                on_wait()
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
