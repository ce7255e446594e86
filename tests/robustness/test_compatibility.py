"""Compatibility: indexes of another format version, embedding model or package version (documented outcomes).

Outcomes (docs/robustness.md): an older or unknown format version and another embedding model raise
IndexIncompatible, and ``ask`` rebuilds with a message; a newer format version raises IndexTooNew, and ``ask``
stops with an error (exit 1) without touching it; another package version with the same format, or other model
weights of the same model (the index carries its own query encoder), open normally.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _support import (
    FIGURES,
    OUTCOMES,
    link_copy,
    manifest_of,
    relist_file,
    replace_file,
    reseal_manifest,
    signatures,
)
from typer.testing import CliRunner

import retrieval.engine
from retrieval.cli import ask_app
from retrieval.engine import Engine
from retrieval.store import IndexIncompatible, IndexTooNew
from retrieval.tokenize import TOKENIZER_RULES_VERSION

runner = CliRunner()


def _edited_copy(tiny, tmp_path: Path, edit) -> Path:
    link = link_copy(tiny.version, tmp_path)
    manifest = manifest_of(link.resolve())
    edit(manifest)
    reseal_manifest(link.resolve(), manifest)
    return link


@pytest.fixture
def fake_build(monkeypatch: pytest.MonkeyPatch, tiny):
    """Engine.build replaced by a recorder that returns the tiny index (the real rebuild is in the slow test)."""
    calls: list[tuple] = []

    def build(corpus, index, *args, **kwargs):
        calls.append((Path(corpus), Path(index)))
        return Engine.open(tiny.version)

    monkeypatch.setattr(retrieval.engine.Engine, "build", staticmethod(build))
    return calls


def _ask(link: Path, corpus: Path):
    return runner.invoke(ask_app, ["how many peacekeepers?", "--index", str(link), "--corpus", str(corpus)])


def _set(path: str, value):
    def edit(m: dict) -> None:
        *parents, key = path.split(".")
        node = m
        for p in parents:
            node = node[p]
        if value is _DELETE:
            del node[key]
        else:
            node[key] = value

    return edit


_DELETE = object()

REBUILT = {
    "format version 0 (older)": _set("format_version", 0),
    "format version '1' (a string)": _set("format_version", "1"),
    "format version null": _set("format_version", None),
    "format version missing": _set("format_version", _DELETE),
    "another model name": _set("model.name", "all-mpnet-base-v2"),
    "another embedding size": _set("model.dim", 768),
    "older package, older format": lambda m: (_set("package_version", "0.0.1")(m), _set("format_version", 0)(m)),
}


@pytest.mark.parametrize("case", sorted(REBUILT))
def test_incompatible_indexes_are_rebuilt_by_ask(case: str, tiny, tmp_path: Path, fake_build) -> None:
    link = _edited_copy(tiny, tmp_path, REBUILT[case])
    with pytest.raises(IndexIncompatible):
        Engine.open(link)
    result = _ask(link, tiny.corpus)
    assert result.exit_code == 0, result.output
    assert fake_build == [(tiny.corpus, link)]
    first = result.stderr.splitlines()[0]
    assert "rebuilding" in first and ("format version" in first or "another embedding model" in first), first
    OUTCOMES[f"index: {case}"] = "IndexIncompatible; ask rebuilds with a message (exit 0)"
    FIGURES["compatibility cases checked"] += 1


@pytest.mark.parametrize("version", [2, 99])
def test_a_newer_format_is_an_error_and_left_alone(version: int, tiny, tmp_path: Path, fake_build) -> None:
    link = _edited_copy(tiny, tmp_path, _set("format_version", version))
    target, before = link.resolve(), (link.resolve() / "manifest.json").read_bytes()
    with pytest.raises(IndexTooNew, match="newer ask-engine"):
        Engine.open(link)
    result = _ask(link, tiny.corpus)
    assert result.exit_code == 1
    line = result.stderr.strip()
    assert "\n" not in line and "newer ask-engine" in line and "upgrade ask-engine" in line and "Traceback" not in line
    assert "rebuild with" not in line  # a rebuild by this older version would overwrite the newer index
    assert fake_build == [] and link.resolve() == target and (target / "manifest.json").read_bytes() == before
    OUTCOMES[f"index: format version {version} (newer)"] = "IndexTooNew: one-line error, exit 1, index untouched"
    FIGURES["compatibility cases checked"] += 1


OPENS = {
    "another package version (same format)": _set("package_version", "9.9.9"),
    "an older package version (same format)": _set("package_version", "0.0.1"),
    "other weights of the same model": _set("model.sha256", "0" * 64),
    "no manifest self-checksum (older writer)": lambda m: m.pop("manifest_sha256", None),
}


@pytest.mark.parametrize("case", sorted(OPENS))
def test_compatible_differences_open_and_answer_the_same(case: str, tiny, tiny_engine, tmp_path: Path,
                                                        fake_build) -> None:
    link = link_copy(tiny.version, tmp_path)
    manifest = manifest_of(link.resolve())
    OPENS[case](manifest)
    if case.startswith("no manifest self-checksum"):
        replace_file(link.resolve() / "manifest.json", json.dumps(manifest, indent=2).encode())
    else:
        reseal_manifest(link.resolve(), manifest)
    assert signatures(Engine.open(link)) == signatures(tiny_engine)
    result = _ask(link, tiny.corpus)
    assert result.exit_code == 0 and fake_build == [], result.output
    OUTCOMES[f"index: {case}"] = "opens normally, same answers"
    FIGURES["compatibility cases checked"] += 1


def test_older_content_rules_are_rebuilt(tiny, tmp_path: Path, fake_build) -> None:
    link = _edited_copy(tiny, tmp_path, _set("build.ingest_rules", 1))
    Engine.open(link)
    result = _ask(link, tiny.corpus)
    assert result.exit_code == 0 and fake_build == [(tiny.corpus, link)]
    assert "older content rules" in result.stderr
    OUTCOMES["index: older ingest rules"] = "opens; ask rebuilds with a message (exit 0)"


def test_an_index_from_before_tokenizer_rules_keeps_its_tokens_and_is_rebuilt(tiny, tmp_path: Path,
                                                                            fake_build) -> None:
    """An index saved before tokenizer rules were versioned records none: it opens with rules 1 (so queries are
    tokenised as its passages were, "U.S." -> "u") and ``ask`` rebuilds it with the current rules."""
    from retrieval.bm25 import _PARAMS

    link = link_copy(tiny.version, tmp_path)
    target = link.resolve()
    params = json.loads((target / _PARAMS).read_text(encoding="utf-8"))
    assert params["tokenizer"].pop("rules") == TOKENIZER_RULES_VERSION
    replace_file(target / _PARAMS, json.dumps(params).encode())
    manifest = relist_file(target, manifest_of(target), _PARAMS)
    del manifest["build"]["tokenizer"]["rules"]
    reseal_manifest(target, manifest)
    engine = Engine.open(link)
    assert engine.tokenizer.rules == 1 and engine.rebuild_reason(tiny.corpus) == (
        "the index was built with older tokenizer rules")
    result = _ask(link, tiny.corpus)
    assert result.exit_code == 0 and fake_build == [(tiny.corpus, link)], result.output
    assert "older tokenizer rules" in result.stderr
    OUTCOMES["index: older tokenizer rules"] = "opens with its own rules; ask rebuilds with a message (exit 0)"


@pytest.mark.slow
def test_a_real_rebuild_of_an_old_format_index(tiny, tiny_engine, tmp_path: Path) -> None:
    link = _edited_copy(tiny, tmp_path, _set("format_version", 0))
    old_target = link.resolve()
    result = _ask(link, tiny.corpus)
    assert result.exit_code == 0, result.output
    assert "format version 0" in result.stderr and "rebuilding" in result.stderr
    assert link.resolve() != old_target
    assert Engine.open(link).manifest["format_version"] == 1
    assert signatures(Engine.open(link)) == signatures(tiny_engine)
