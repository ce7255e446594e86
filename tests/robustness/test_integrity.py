"""Integrity: every index file is checked before it is parsed; damage gives one clear line, never a crash.

Each file listed in the manifest is truncated, emptied and byte-flipped in turn (in a hard-linked copy of a built
index, the damaged file written as a new inode), then opened with Engine.open and asked through the CLI.
"""

from __future__ import annotations

import json
import os
import random
import shlex
from pathlib import Path

import pytest
from _support import (
    FIGURES,
    link_copy,
    manifest_of,
    relist_file,
    replace_file,
    reseal_manifest,
    signatures,
)
from typer.testing import CliRunner

from retrieval.cli import ask_app
from retrieval.engine import Engine
from retrieval.store import (
    IndexCorrupt,
    IndexError_,
    IndexIncompatible,
    IndexMissing,
    IndexTooNew,
)

runner = CliRunner()
DAMAGE = ("truncate", "empty", "flip")


def _damage(path: Path, how: str, rng: random.Random) -> str:
    data = path.read_bytes()
    if how == "truncate":
        cut = rng.randrange(0, len(data)) if len(data) > 1 else 0
        replace_file(path, data[:cut])
        return f"truncated to {cut} of {len(data)} bytes"
    if how == "empty":
        replace_file(path, b"")
        return "emptied"
    pos = rng.randrange(len(data))
    flipped = bytearray(data)
    flipped[pos] ^= 0xFF if how == "flip" else 1 << rng.randrange(8)
    replace_file(path, bytes(flipped))
    return f"byte {pos} flipped"


def _cli_ask(link: Path, corpus: Path, question: str = "where were talks held?"):
    return runner.invoke(ask_app, [question, "--index", str(link), "--corpus", str(corpus)])


def _assert_one_line_error(result, *needles: str) -> str:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, result.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    assert result.stdout == ""  # no answer printed
    return lines[0]


def _files(tiny) -> list[str]:
    return sorted(manifest_of(tiny.version)["files"])


def test_every_file_is_in_the_manifest(tiny) -> None:
    listed = set(_files(tiny))
    present = {p.name for p in tiny.version.iterdir()} - {"manifest.json"}
    assert listed == present
    assert {"encoder.onnx", "tokenizer.json", "dense.faiss", "passages.jsonl", "sentence_vectors.npy"} <= listed
    assert "manifest_sha256" in manifest_of(tiny.version)


@pytest.mark.parametrize("how", DAMAGE)
def test_each_damaged_file_is_named_by_open_and_by_the_cli(tiny, tmp_path: Path, how: str) -> None:
    rng = random.Random(f"integrity-{how}")
    for name in _files(tiny):
        link = link_copy(tiny.version, tmp_path / name)
        what = _damage(link.resolve() / name, how, rng)
        with pytest.raises(IndexCorrupt, match=name.replace(".", r"\.")):
            Engine.open(link)
        line = _assert_one_line_error(_cli_ask(link, tiny.corpus), name, "ask-engine build", "error:")
        FIGURES[f"corruptions detected ({how}, each file)"] += 1
        FIGURES["corruptions tried"] += 1
        FIGURES["corruptions detected"] += 1
        assert what and "Traceback" not in line


MANIFEST_DAMAGE = {
    "truncated": lambda b: b[: len(b) // 2],
    "emptied": lambda b: b"",
    "garbage bytes": lambda b: bytes(random.Random(1).randrange(256) for _ in range(len(b))),
    "not JSON": lambda b: b"this is not json",
    "a JSON list": lambda b: b"[]",
    "an empty object": lambda b: b"{}",
    "files not an object": lambda b: json.dumps({**json.loads(b), "files": ["passages.jsonl"]}).encode(),
    "deeply nested": lambda b: b"[" * 100_000 + b"]" * 100_000,
    "one value changed": lambda b: b.replace(b'"documents": 3', b'"documents": 4'),
    "a file entry removed": lambda b: json.dumps(
        {**json.loads(b), "files": {k: v for k, v in json.loads(b)["files"].items() if k != "dense.faiss"}}
    ).encode(),
    "utf-16": lambda b: b.decode().encode("utf-16"),
}


@pytest.mark.parametrize("kind", sorted(MANIFEST_DAMAGE))
def test_damaged_manifest_is_detected(tiny, tmp_path: Path, kind: str) -> None:
    link = link_copy(tiny.version, tmp_path)
    manifest = link.resolve() / "manifest.json"
    replace_file(manifest, MANIFEST_DAMAGE[kind](manifest.read_bytes()))
    with pytest.raises(IndexCorrupt, match="manifest.json"):
        Engine.open(link)
    _assert_one_line_error(_cli_ask(link, tiny.corpus), "manifest.json", "ask-engine build")
    FIGURES["corruptions tried"] += 1
    FIGURES["corruptions detected"] += 1


def test_flipped_manifest_bytes_are_detected(tiny, tmp_path: Path) -> None:
    """Byte flips (0xFF) and single-bit flips anywhere in manifest.json: never opened as if nothing happened."""
    rng = random.Random("manifest-flips")
    link = link_copy(tiny.version, tmp_path)
    path = link.resolve() / "manifest.json"
    original = path.read_bytes()
    outcomes: dict[str, int] = {}
    for i in range(40):
        data = bytearray(original)
        pos = rng.randrange(len(data))
        data[pos] ^= 0xFF if i % 2 == 0 else 1 << rng.randrange(8)
        replace_file(path, bytes(data))
        with pytest.raises(IndexError_) as info:
            Engine.open(link)
        # A flip in the format version reads as another format (rebuilt, or refused when "newer"); all else is damage.
        assert isinstance(info.value, (IndexCorrupt, IndexIncompatible, IndexTooNew)), info.value
        if isinstance(info.value, IndexCorrupt):
            assert "manifest.json" in str(info.value)
        outcomes[type(info.value).__name__] = outcomes.get(type(info.value).__name__, 0) + 1
        FIGURES["corruptions tried"] += 1
        FIGURES["corruptions detected"] += 1
    replace_file(path, original)
    Engine.open(link)  # the restored copy opens again
    assert sum(outcomes.values()) == 40


def test_missing_manifest_and_missing_files(tiny, tmp_path: Path) -> None:
    link = link_copy(tiny.version, tmp_path / "a")
    (link.resolve() / "manifest.json").unlink()
    with pytest.raises(IndexCorrupt, match="manifest.json is missing"):
        Engine.open(link)
    _assert_one_line_error(_cli_ask(link, tiny.corpus), "manifest.json", "ask-engine build")
    for name in _files(tiny):
        link = link_copy(tiny.version, tmp_path / f"missing-{name}")
        (link.resolve() / name).unlink()
        with pytest.raises(IndexCorrupt, match=f"{name.replace('.', '[.]')} is missing"):
            Engine.open(link)
        _assert_one_line_error(_cli_ask(link, tiny.corpus), name, "ask-engine build")
        FIGURES["corruptions tried"] += 1
        FIGURES["corruptions detected"] += 1


def test_unlisted_and_linked_files_are_refused(tiny, tmp_path: Path) -> None:
    # A file the engine reads but the manifest does not list (and so could not be checked) is refused.
    link = link_copy(tiny.version, tmp_path / "unlisted")
    manifest = manifest_of(link.resolve())
    del manifest["files"]["sentence_vectors.npy"]
    reseal_manifest(link.resolve(), manifest)
    with pytest.raises(IndexCorrupt, match="sentence_vectors.npy is not listed"):
        Engine.open(link)
    # A listed file replaced by a link (even to identical bytes) is refused: reads stay inside the index folder.
    link = link_copy(tiny.version, tmp_path / "linked")
    outside = tmp_path / "outside-passages.jsonl"
    outside.write_bytes((tiny.version / "passages.jsonl").read_bytes())
    (link.resolve() / "passages.jsonl").unlink()
    os.symlink(outside, link.resolve() / "passages.jsonl")
    with pytest.raises(IndexCorrupt, match="passages.jsonl is a link"):
        Engine.open(link)
    FIGURES["corruptions tried"] += 2
    FIGURES["corruptions detected"] += 2


def test_consistent_but_wrong_contents_are_still_an_error(tiny, tmp_path: Path) -> None:
    """Damaged files whose checksums were re-recorded (a buggy writer): a clean IndexCorrupt, never a crash."""
    cases = {
        "passages.jsonl": b'{"passage_id": "x"}\n',
        "documents.json": b'{"not": "a list"}',
        "dense_params.json": b'{"kind": "flat"}',
        "bm25_params.json": b"[]",
        "bm25_weights.npy": b"\x93NUMPY garbage",
        "sentence_vectors.npy": (tiny.version / "bm25_indptr.npy").read_bytes(),
        "dense.faiss": b"IxF2" + b"\x00" * 64,
    }
    for name, data in cases.items():
        link = link_copy(tiny.version, tmp_path / name)
        directory = link.resolve()
        replace_file(directory / name, data)
        reseal_manifest(directory, relist_file(directory, manifest_of(directory), name))
        with pytest.raises(IndexCorrupt):
            Engine.open(link)
        FIGURES["consistent-but-wrong files refused"] += 1


def test_a_passage_list_shorter_than_the_vectors_is_inconsistent(tiny, tmp_path: Path) -> None:
    """Every file well formed and its checksum re-recorded, but one passage fewer than the BM25 and dense rows: a
    search could return a row with no passage behind it."""
    link = link_copy(tiny.version, tmp_path)
    directory = link.resolve()
    lines = (directory / "passages.jsonl").read_bytes().rstrip(b"\n").split(b"\n")
    replace_file(directory / "passages.jsonl", b"\n".join(lines[:-1]) + b"\n")
    reseal_manifest(directory, relist_file(directory, manifest_of(directory), "passages.jsonl"))
    with pytest.raises(IndexCorrupt, match="passage counts differ"):
        Engine.open(link)
    FIGURES["consistent-but-wrong files refused"] += 1


def test_the_untouched_copy_still_answers_as_the_original(tiny, tiny_engine, tmp_path: Path) -> None:
    link = link_copy(tiny.version, tmp_path)
    assert signatures(Engine.open(link)) == signatures(tiny_engine)


def test_nothing_and_empty_folders_are_missing_not_corrupt(tmp_path: Path) -> None:
    with pytest.raises(IndexMissing):
        Engine.open(tmp_path / "nothing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(IndexMissing):
        Engine.open(tmp_path / "empty")


@pytest.mark.slow
def test_many_random_flips_per_file(tiny, tmp_path: Path) -> None:
    """Slow: 12 random single-byte or single-bit flips in every index file, each detected before parsing."""
    rng = random.Random("many-flips")
    for name in _files(tiny):
        link = link_copy(tiny.version, tmp_path / name)
        path = link.resolve() / name
        original = path.read_bytes()
        for i in range(12):
            _damage(path, "flip" if i % 2 == 0 else "bit", rng)
            with pytest.raises(IndexCorrupt, match=name.replace(".", r"\.")):
                Engine.open(link)
            FIGURES["corruptions tried"] += 1
            FIGURES["corruptions detected"] += 1
        replace_file(path, original)


@pytest.mark.slow
def test_the_rebuild_command_in_the_message_repairs_the_index(tiny, tmp_path: Path, tiny_engine) -> None:
    from retrieval.cli import admin_app

    link = link_copy(tiny.version, tmp_path)
    _damage(link.resolve() / "dense.faiss", "flip", random.Random(0))
    line = _assert_one_line_error(_cli_ask(link, tiny.corpus), "dense.faiss")
    command = shlex.split(line.split("rebuild with: ")[1])
    assert command[:2] == ["ask-engine", "build"]
    result = runner.invoke(admin_app, command[1:] + ["--quiet"])
    assert result.exit_code == 0, result.output
    assert signatures(Engine.open(link)) == signatures(tiny_engine)
    assert _cli_ask(link, tiny.corpus).exit_code == 0


def test_admin_commands_name_the_damaged_file_too(tiny, tmp_path: Path) -> None:
    from retrieval.cli import admin_app

    link = link_copy(tiny.version, tmp_path)
    _damage(link.resolve() / "passages.jsonl", "flip", random.Random(3))
    for argv in (["info"], ["search", "Yevlakh"]):
        result = runner.invoke(admin_app, [*argv, "--index", str(link), "--corpus", str(tiny.corpus)])
        _assert_one_line_error(result, "passages.jsonl", "ask-engine build")
