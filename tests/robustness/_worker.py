"""Real processes for the fault-injection suite (run as ``python _worker.py MODE ...``).

build CORPUS INDEX                 Engine.build, then print "built <version dir>".
read INDEX OUT STOP MIN            loop: Engine.open + ask every question; one JSON line per read into OUT, until
                                   the file STOP exists and MIN reads are done.
flip INDEX DIR_A DIR_B N PAUSE     N atomic swaps of INDEX between hard-linked copies of DIR_A and DIR_B.
hold-lock INDEX SECONDS [STOP]     hold the build lock, printing "locked T" and "released T", for SECONDS or
                                   until the file STOP exists (then SECONDS is only a cap).
take-lock INDEX [nowait]           take the build lock (printing "waiting T" if it must wait), print "locked T".
audit-open INDEX                   Engine.open + ask under an audit hook; print what was opened, executed, imported.
audit-build CORPUS INDEX           Engine.build (cheap encoder) under an audit hook; print every write outside.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def _build(corpus: str, index: str) -> None:
    from retrieval.engine import Engine

    engine = Engine.build(corpus, index)
    print("built", engine.directory.name, flush=True)


def _read(index: str, out: str, stop: str, minimum: str) -> None:
    from _support import signatures

    from retrieval.engine import Engine
    from retrieval.store import IndexError_

    reads = 0
    with open(out, "a", encoding="utf-8") as fh:
        while reads < int(minimum) or not os.path.exists(stop):
            t0 = time.time()
            try:
                engine = Engine.open(index)
                row = {
                    "t0": t0,
                    "version": engine.directory.name,
                    "manifest": engine.manifest.get("manifest_sha256"),
                    "created": engine.manifest.get("created"),
                    "answers": signatures(engine),
                }
            except IndexError_ as exc:  # counted as a failed read by the test
                row = {"t0": t0, "error": f"{type(exc).__name__}: {exc}"}
            row["t1"] = time.time()
            fh.write(json.dumps(row) + "\n")
            fh.flush()
            reads += 1


def _flip(index: str, dir_a: str, dir_b: str, n: str, pause: str) -> None:
    from retrieval.store import atomic_index_dir, build_lock

    for i in range(int(n)):
        source = Path(dir_a if i % 2 == 0 else dir_b)
        with build_lock(Path(index)), atomic_index_dir(Path(index)) as tmp:
            for f in sorted(source.iterdir()):
                os.link(f, tmp / f.name)
        print("flipped", i, source.name, time.time(), flush=True)
        time.sleep(float(pause))


def _hold_lock(index: str, seconds: str, stop: str | None = None) -> None:
    from retrieval.store import build_lock

    with build_lock(Path(index)):
        print("locked", time.time(), flush=True)
        deadline = time.monotonic() + float(seconds)
        while time.monotonic() < deadline and not (stop and Path(stop).exists()):
            time.sleep(0.05)
        print("released", time.time(), flush=True)


def _take_lock(index: str, mode: str = "wait") -> None:
    from retrieval.store import IndexError_, build_lock

    try:
        with build_lock(Path(index), wait=mode != "nowait", on_wait=lambda: print("waiting", time.time(), flush=True)):
            print("locked", time.time(), flush=True)
    except IndexError_ as exc:
        print("refused", exc, flush=True)
        sys.exit(3)


def _audit_open(index: str) -> None:
    from retrieval.engine import Engine

    warm = Engine.open(index)  # import every module first, so later imports would be code from the index
    warm.ask("warm up")
    events: list[list[str]] = []
    watched = ("open", "exec", "compile", "import", "pickle.find_class", "os.system", "subprocess.Popen",
               "ctypes.dlopen", "os.exec", "os.posix_spawn", "marshal.loads")

    def hook(event: str, args: tuple) -> None:
        if event in watched:
            events.append([event, str(args[0]) if args else ""])

    sys.addaudithook(hook)
    engine = Engine.open(index)
    engine.ask("where were talks held?")
    sys.stdout.write(json.dumps({"directory": str(engine.directory), "events": events}) + "\n")


def _audit_build(corpus: str, index: str) -> None:
    from _support import HashEncoder, rules_config

    from retrieval.engine import Engine

    root = Path(index).resolve().parent
    writes: list[list[str]] = []

    def hook(event: str, args: tuple) -> None:
        if event == "open" and len(args) >= 3:
            path, mode, flags = args[0], args[1], args[2]
            writing = (isinstance(mode, str) and any(m in mode for m in "wax+")) or (
                isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT)
            )
            if writing and isinstance(path, (str, bytes, os.PathLike)):
                writes.append(["open", os.fsdecode(path)])
        elif event in ("os.rename", "os.replace", "os.link"):  # (src, dst, ...): both change
            writes.extend([event, os.fsdecode(a)] for a in args[:2] if isinstance(a, (str, bytes, os.PathLike)))
        elif event == "os.symlink":  # (target, link path): only the link path is written
            writes.append([event, os.fsdecode(args[1])])
        elif event in ("os.remove", "os.unlink", "os.rmdir", "os.mkdir", "shutil.rmtree", "os.truncate") and (
            args and isinstance(args[0], (str, bytes, os.PathLike))
        ):
            writes.append([event, os.fsdecode(args[0])])

    sys.addaudithook(hook)
    Engine.build(corpus, index, config=rules_config(), encoder=HashEncoder())
    sys.stdout.write(json.dumps({"root": str(root), "writes": writes}) + "\n")


if __name__ == "__main__":
    mode, *rest = sys.argv[1:]
    {
        "build": _build,
        "read": _read,
        "flip": _flip,
        "hold-lock": _hold_lock,
        "take-lock": _take_lock,
        "audit-open": _audit_open,
        "audit-build": _audit_build,
    }[mode](*rest)
