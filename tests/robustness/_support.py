"""Shared helpers of the fault-injection suite: a tiny corpus, index copies, answer signatures, offset checks.

Builds load torch and sentence-transformers (10-20 s each), so everything that can works on hard-linked copies of
one tiny index built once per session; files are always replaced (unlink, then write), never edited in place, so
the shared index is never touched.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zlib
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
WORKER = HERE / "_worker.py"
PYTHON = sys.executable

# Figures reported at the end of a run (see conftest.pytest_terminal_summary).
FIGURES: Counter[str] = Counter()
OUTCOMES: dict[str, str] = {}

ARTICLES = {
    "talks.txt": (
        "Talks on the future of Karabakh will be held in Yevlakh\n"
        "Both sides said talks on reintegrating the breakaway territory into the rest of Azerbaijan would be held "
        "on Thursday in the city of Yevlakh. Officials from Baku and Stepanakert confirmed the meeting.\n"
    ),
    "peacekeepers.txt": (
        "Russian peacekeepers stay in the mountainous region for now\n"
        "Moscow deployed about 2,000 peacekeeping troops to the region after the war ended in 2020. "
        "The ministry said the troops would remain until the ceasefire holds.\n"
    ),
    "storm.md": (
        "Big storm hits the coastal town of Exampleville overnight\n"
        "The storm destroyed 40 houses in Exampleville on Monday, officials said. "
        "Rescue teams worked through the night to clear the roads.\n"
    ),
}
# The same corpus with one fact changed: a rebuild from it answers the storm question differently.
CHANGED = {"storm.md": ARTICLES["storm.md"].replace("destroyed 40 houses", "destroyed 75 houses")}

QUESTIONS = (
    "where were talks held?",
    "how many peacekeepers?",
    "how many houses did the storm destroy?",
    "who won the 2022 World Cup?",
)


def write_corpus(folder: Path, changed: bool = False) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in {**ARTICLES, **(CHANGED if changed else {})}.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


# ---- index copies ---------------------------------------------------------------------------------------------


def link_copy(version_dir: Path, dest_parent: Path, name: str = "index") -> Path:
    """A new index ``dest_parent/name`` (symlink) -> hard-linked copy of ``version_dir``; returns the link."""
    dest_parent.mkdir(parents=True, exist_ok=True)
    version = dest_parent / f".{name}.v-20000101000000-c0b1c0b1"  # the store's own version-folder name format
    shutil.copytree(version_dir, version, copy_function=os.link)
    link = dest_parent / name
    os.symlink(version.name, link)
    return link


def replace_file(path: Path, data: bytes) -> None:
    """Write ``data`` as a new inode (the old one may be shared with the session index through a hard link)."""
    path.unlink()
    path.write_bytes(data)


def reseal_manifest(directory: Path, manifest: dict[str, Any]) -> None:
    """Write an edited manifest with a valid self-checksum (what a consistent index of that content would hold)."""
    from retrieval.store import manifest_checksum

    manifest = dict(manifest)
    manifest["manifest_sha256"] = manifest_checksum(manifest)
    replace_file(directory / "manifest.json", json.dumps(manifest, indent=2, sort_keys=True).encode())


def manifest_of(directory: Path) -> dict[str, Any]:
    return json.loads((directory / "manifest.json").read_text(encoding="utf-8"))


def relist_file(directory: Path, manifest: dict[str, Any], name: str) -> dict[str, Any]:
    """The manifest with ``name``'s size and sha256 updated to the file's current bytes."""
    from retrieval.encoders import file_sha256

    manifest = json.loads(json.dumps(manifest))
    manifest["files"][name] = {"sha256": file_sha256(directory / name), "bytes": (directory / name).stat().st_size}
    return manifest


# ---- answers ----------------------------------------------------------------------------------------------------


def signature(answer: Any) -> dict[str, Any]:
    """Everything a user sees of an answer (timings aside): texts and offsets exactly, scores to 6 decimals.

    In JSON form (lists, not tuples), so reads recorded by other processes compare equal.
    """
    return _json_form({
        "answer": answer.text,
        "score": round(float(answer.score), 6),
        "citations": [
            (c.doc_id, c.start, c.end, c.text, c.sentence_start, c.sentence_end, c.passage_id) for c in answer.citations
        ],
        "alternatives": [(v.text, round(float(v.score), 6)) for v in answer.alternatives],
        "passages": [
            (h.rank, h.passage.passage_id, h.passage.doc_id, h.passage.start, h.passage.end, round(float(h.score), 6))
            for h in answer.hits
        ],
    })


def _json_form(obj: Any) -> Any:
    return json.loads(json.dumps(obj))


def signatures(engine: Any, questions: tuple[str, ...] = QUESTIONS) -> list[dict[str, Any]]:
    return [signature(engine.ask(q)) for q in questions]


def document_texts(corpus: Path) -> dict[str, str]:
    from retrieval.ingest import load_corpus

    return {d.doc_id: d.text for d in load_corpus(corpus)}


def check_offsets(answer: Any, texts: dict[str, str]) -> int:
    """Every citation and passage of ``answer`` points at the exact original text; returns how many were checked."""
    checked = 0
    citations = list(answer.citations) + [c for v in answer.alternatives for c in v.citations]
    for c in citations:
        text = texts[c.doc_id]
        assert 0 <= c.sentence_start <= c.start <= c.end <= c.sentence_end <= len(text), c
        assert text[c.start : c.end] == c.text, c
        assert text[c.sentence_start : c.sentence_end] == c.sentence, c
        checked += 1
    for h in answer.hits:
        p = h.passage
        text = texts[p.doc_id]
        assert 0 <= p.start < p.end <= len(text), p
        assert text[p.start : p.end] == p.text, p
        for a, b in p.sentences:
            assert p.start <= a < b <= p.end, p
        checked += 1
    assert 0.0 <= answer.score <= 1.0 and np.isfinite(answer.score)
    assert [h.rank for h in answer.hits] == list(range(1, len(answer.hits) + 1))
    return checked


class HashEncoder:
    """A cheap deterministic stand-in for the sentence encoder (unit float32 vectors, 384 dims)."""

    def encode(self, texts: list[str], progress: Any = None) -> np.ndarray:
        out = np.empty((len(texts), 384), dtype=np.float32)
        for i, t in enumerate(texts):
            rng = np.random.default_rng(zlib.crc32(t.encode("utf-8", "surrogatepass")))
            v = rng.standard_normal(384).astype(np.float32)
            out[i] = v / np.linalg.norm(v)
        if progress is not None:
            progress(len(texts))
        return out


def rules_config() -> Any:
    """A build without spaCy (the rule sentence splitter, no answer candidates): cheap for generated corpora."""
    from retrieval.chunking import ChunkerConfig
    from retrieval.engine import BuildConfig

    return BuildConfig(chunker=ChunkerConfig(splitter="rules", candidates=False))


def run_worker(*args: str, timeout: float = 600, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run ``_worker.py`` with ``args`` to completion (output captured as text)."""
    return subprocess.run(
        [PYTHON, str(WORKER), *args], check=False, env=worker_env(), capture_output=True, text=True, timeout=timeout,
        cwd=cwd,
    )


def worker_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(HERE.parents[1]) + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    return env
