"""Safety: no pickle anywhere, loading runs no code from the index, nothing is read or written outside its folders.

Checked on the source (no pickle, every np.load with allow_pickle=False), on a pickled payload planted in an index
whose checksums were re-recorded to match (refused, never run), on manifests naming paths outside the index folder
(refused before any file is touched), with Python audit hooks in a real process (what Engine.open + ask opens,
imports and executes; what Engine.build writes), and on the citations of answers (always files inside the corpus).
"""

from __future__ import annotations

import ast
import json
import os
import pickle
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
from _support import (
    FIGURES,
    QUESTIONS,
    HashEncoder,
    link_copy,
    manifest_of,
    relist_file,
    reseal_manifest,
    rules_config,
    run_worker,
)

from retrieval.engine import Engine
from retrieval.store import IndexCorrupt, read_manifest

PACKAGE = Path(__file__).resolve().parents[2] / "retrieval"
SOURCES = sorted(PACKAGE.rglob("*.py"))


def test_no_pickle_or_code_loading_in_the_package() -> None:
    banned_modules = {"pickle", "cPickle", "_pickle", "dill", "joblib", "shelve", "marshal", "cloudpickle"}
    offenders = []
    for path in SOURCES:
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                offenders += [(path.name, a.name) for a in node.names if a.name.split(".")[0] in banned_modules]
            elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in banned_modules:
                offenders.append((path.name, node.module))
            elif isinstance(node, ast.Call):
                name = ast.unparse(node.func)
                if name in ("eval", "exec", "torch.load", "pickle.load", "pickle.loads", "np.load", "numpy.load"):
                    if name in ("np.load", "numpy.load"):
                        kw = {k.arg: ast.unparse(k.value) for k in node.keywords}
                        if kw.get("allow_pickle") != "False":
                            offenders.append((path.name, f"line {node.lineno}: np.load without allow_pickle=False"))
                    else:
                        offenders.append((path.name, f"line {node.lineno}: {name}"))
            elif isinstance(node, ast.keyword) and node.arg == "allow_pickle" and ast.unparse(node.value) != "False":
                offenders.append((path.name, f"allow_pickle={ast.unparse(node.value)}"))
    assert offenders == []
    loads = sum(src.count("np.load(") for src in (p.read_text() for p in SOURCES))
    assert loads >= 3  # bm25, sentence vectors, vector bench: all checked above
    FIGURES["package files scanned for pickle/eval/exec"] = len(SOURCES)


class _Bomb:
    def __reduce__(self):  # unpickling would create the marker file
        return (open, (os.environ["BOMB_MARKER"], "w"))


@pytest.mark.parametrize("name", ["sentence_vectors.npy", "bm25_weights.npy", "bm25_doc_ids.npy"])
def test_a_pickled_payload_with_matching_checksums_is_never_run(name: str, tiny, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    marker = tmp_path / "exploded"
    monkeypatch.setenv("BOMB_MARKER", str(marker))
    link = link_copy(tiny.version, tmp_path / "idx")
    directory = link.resolve()
    payload = np.empty(3, dtype=object)
    payload[:] = [_Bomb(), _Bomb(), _Bomb()]
    (directory / name).unlink()
    np.save(directory / name, payload, allow_pickle=True)
    reseal_manifest(directory, relist_file(directory, manifest_of(directory), name))
    with pytest.raises(IndexCorrupt, match="cannot be read"):
        Engine.open(link)
    assert not marker.exists()
    FIGURES["planted pickle payloads refused"] += 1


EVIL_NAMES = ["../../etc/passwd", "/etc/passwd", "..", ".", "", "sub/passages.jsonl", "..\\..\\boot.ini",
              ".hidden", "../outside.json", "/proc/self/environ"]


@pytest.mark.parametrize("evil", EVIL_NAMES)
def test_manifest_paths_outside_the_index_are_refused(evil: str, tiny, tmp_path: Path) -> None:
    link = link_copy(tiny.version, tmp_path / "idx")
    manifest = manifest_of(link.resolve())
    manifest["files"][evil] = {"sha256": "0" * 64, "bytes": 1}
    reseal_manifest(link.resolve(), manifest)
    with pytest.raises(IndexCorrupt, match="names a file outside the index folder"):
        read_manifest(link.resolve())
    with pytest.raises(IndexCorrupt, match="names a file outside the index folder"):
        Engine.open(link)
    FIGURES["manifest paths outside the index refused"] += 1


def test_loading_opens_only_index_files_and_runs_no_code(tiny, tmp_path: Path) -> None:
    link = link_copy(tiny.version, tmp_path / "idx")
    # A planted Python file and pickle (not in the manifest) must never be imported, nor even read.
    (link.resolve() / "evil.py").write_text("open('/tmp/ask-engine-evil', 'w')\n")
    (link.resolve() / "model.pkl").write_bytes(pickle.dumps({"x": 1}))
    proc = run_worker("audit-open", str(link), timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    directory = Path(report["directory"])
    events = report["events"]
    kinds = {e[0] for e in events}
    assert not kinds & {"exec", "pickle.find_class", "os.system", "subprocess.Popen", "os.exec", "os.posix_spawn",
                        "marshal.loads", "ctypes.dlopen"}, events
    imported = [e[1] for e in events if e[0] == "import"]
    assert not [m for m in imported if m in ("evil", "pickle", "model")], imported
    opened = [Path(os.path.abspath(e[1])) for e in events if e[0] == "open" and e[1] and not e[1].isdigit()]
    inside = [p for p in opened if directory in p.parents]
    installation = (sys.prefix, sys.base_prefix, str(PACKAGE), "/proc", "/sys", "/dev")  # package data, stdlib
    elsewhere = [p for p in opened if directory not in p.parents and not str(p).startswith(installation)]
    assert inside and elsewhere == [], elsewhere
    assert not [p for p in inside if p.name in ("evil.py", "model.pkl")]
    assert not Path("/tmp/ask-engine-evil").exists()
    FIGURES["files opened by Engine.open + ask (all inside the index or the installation)"] = len(opened)


def test_a_build_writes_only_next_to_its_index(tiny, tmp_path: Path) -> None:
    """Every file a build creates, renames or removes is the index's own (version folders, lock, link)."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for f in tiny.corpus.iterdir():
        (corpus / f.name).write_bytes(f.read_bytes())
    index = tmp_path / "indexes" / "index"
    before = {p: p.stat().st_mtime_ns for p in corpus.rglob("*")}
    proc = run_worker("audit-build", str(corpus), str(index), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    root = Path(report["root"])
    writes = [(kind, Path(os.path.abspath(os.path.join(tmp_path, p)))) for kind, p in report["writes"]]
    # torch keeps a compile cache in the system temp folder (torchinductor_<user>); nothing else may be written.
    torch_cache = Path(tempfile.gettempdir()).resolve()
    outside = [(k, p) for k, p in writes if root not in p.parents and p != root
               and not (p.parent == torch_cache and p.name.startswith("torchinductor_"))]
    assert writes and outside == [], outside
    names = {p.relative_to(root).parts[0] for _, p in writes if root in p.parents}
    assert all(n == "index" or n.startswith((".index.v-", ".index.link-", ".index.lock")) for n in names), names
    assert {p: p.stat().st_mtime_ns for p in corpus.rglob("*")} == before  # the corpus is only read
    FIGURES["paths a build wrote (all next to its index)"] = len(writes)


def test_citations_point_only_at_files_inside_the_corpus(tiny, tiny_engine) -> None:
    corpus = tiny.corpus.resolve()
    sources = {d["doc_id"]: d["source"] for d in json.loads((tiny_engine.directory / "documents.json").read_text())}
    for q in QUESTIONS:
        answer = tiny_engine.ask(q)
        for doc_id in {c.doc_id for c in answer.citations} | {h.passage.doc_id for h in answer.hits}:
            path = (corpus / sources[doc_id].split("#")[0]).resolve()
            assert corpus in path.parents and path.is_file(), path


def test_links_out_of_the_corpus_are_never_cited(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("Secret talks were held in Zanzibarquux on Friday night\n"
                                        "The secret talks were held in Zanzibarquux, officials said on Friday.\n")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "ok.txt").write_text("Public talks were held in Yevlakh on Thursday morning\n"
                                   "The public talks were held in Yevlakh, officials said on Thursday.\n")
    (corpus / "secret.txt").symlink_to(outside / "secret.txt")
    (corpus / "secrets").symlink_to(outside, target_is_directory=True)
    engine = Engine.build(corpus, tmp_path / "idx" / "index", config=rules_config(), encoder=HashEncoder())
    assert [s["file"] for s in engine.manifest["corpus"]["skipped"]] == ["secret.txt"]
    for q in ("where were the secret talks held?", "Zanzibarquux"):
        answer = engine.ask(q)
        assert {h.passage.doc_id for h in answer.hits} == {"ok"}
        shown = {k: v for k, v in answer.to_json().items() if k != "question"}
        assert "Zanzibarquux" not in json.dumps(shown)
