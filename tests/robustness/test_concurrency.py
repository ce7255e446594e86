"""Concurrent use with real processes: readers see the old index or the new one, never a mix; builders queue.

Readers (separate processes) loop Engine.open + ask over every question and record which version folder they
opened; each read must equal, as a whole, the answers of that version. Builders of one index are serialised by an
exclusive ``flock``: the second waits (logging "another build of INDEX is running; waiting for it to finish");
``build_lock(wait=False)`` refuses instead; a SIGKILLed holder releases the lock at once.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from _support import (
    FIGURES,
    PYTHON,
    WORKER,
    HashEncoder,
    link_copy,
    manifest_of,
    rules_config,
    run_worker,
    signatures,
    worker_env,
)

from retrieval.engine import Engine


def _spawn(*args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen([PYTHON, str(WORKER), *args], env=worker_env(), start_new_session=True, **kw)


def _hold_lock(index: Path, stop: Path | None = None) -> subprocess.Popen:
    """A process holding ``index``'s build lock (until ``stop`` exists, else 600 s), returned once it holds it."""
    args = ("300", str(stop)) if stop is not None else ("600",)
    holder = _spawn("hold-lock", str(index), *args, stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().startswith("locked")
    return holder


def _readers(link: Path, tmp_path: Path, n: int = 2, minimum: int = 3) -> tuple[list[subprocess.Popen], list[Path], Path]:
    stop = tmp_path / "stop"
    outs = [tmp_path / f"reader-{i}.jsonl" for i in range(n)]
    procs = [_spawn("read", str(link), str(out), str(stop), str(minimum)) for out in outs]
    return procs, outs, stop


def _wait_for_reads(outs: list[Path], at_least: int, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(o.exists() and len(o.read_text().splitlines()) >= at_least for o in outs):
            return
        time.sleep(0.1)
    raise AssertionError("readers did not start")


def _finish(procs: list[subprocess.Popen], outs: list[Path], stop: Path) -> list[dict]:
    stop.touch()
    for p in procs:
        assert p.wait(timeout=300) == 0
    return [json.loads(line) for o in outs for line in o.read_text().splitlines()]


def _check_reads(rows: list[dict], expected: dict[str, list]) -> set[str]:
    """Each read is one whole known version (by its manifest checksum), answering exactly as that version."""
    errors = [r for r in rows if "error" in r]
    assert not errors, errors[:3]
    seen = set()
    for r in rows:
        assert r["manifest"] in expected, r["manifest"]
        assert r["answers"] == expected[r["manifest"]], (r["version"], r["answers"])
        seen.add(r["manifest"])
    FIGURES["concurrent reads checked (old or new, never a mix)"] += len(rows)
    return seen


def test_readers_during_atomic_flips(tiny, tmp_path: Path) -> None:
    """Fast: an index swapped 6 times between two versions (hard links, no model) while two processes read it."""
    link = link_copy(tiny.version, tmp_path / "idx")
    a, b = manifest_of(tiny.version)["manifest_sha256"], manifest_of(tiny.changed_version)["manifest_sha256"]
    expected = {a: signatures(Engine.open(tiny.version)), b: signatures(Engine.open(tiny.changed_version))}
    assert expected[a] != expected[b]  # the storm question answers 40 in one, 75 in the other
    procs, outs, stop = _readers(link, tmp_path)
    _wait_for_reads(outs, 1)
    flipper = _spawn("flip", str(link), str(tiny.changed_version), str(tiny.version), "6", "1.5",
                     stdout=subprocess.PIPE, text=True)
    out, _ = flipper.communicate(timeout=300)
    assert flipper.returncode == 0 and out.count("flipped") == 6
    rows = _finish(procs, outs, stop)
    seen = _check_reads(rows, expected)
    assert seen == {a, b}
    assert len({r["version"] for r in rows}) >= 3  # reads spanned several swaps
    FIGURES["index swaps under concurrent readers"] += 6


def test_second_lock_taker_waits_for_the_first(tmp_path: Path) -> None:
    """The holder lets go only once the waiter has said it waits, so a slow start cannot race the test."""
    index, stop = tmp_path / "index", tmp_path / "stop"
    holder = _hold_lock(index, stop)
    waiter = _spawn("take-lock", str(index), stdout=subprocess.PIPE, text=True)
    assert waiter.stdout is not None and waiter.stdout.readline().startswith("waiting")
    stop.touch()
    w_out, _ = waiter.communicate(timeout=60)
    h_out, _ = holder.communicate(timeout=60)
    released = float(h_out.split("released")[1].split()[0])
    (locked,) = w_out.splitlines()
    assert float(locked.split()[1]) >= released - 0.01  # got the lock only once the holder let go
    FIGURES["lock waits shown (real processes)"] += 1


def test_second_lock_taker_can_refuse_instead(tmp_path: Path) -> None:
    index, stop = tmp_path / "index", tmp_path / "stop"
    holder = _hold_lock(index, stop)
    try:
        refused = run_worker("take-lock", str(index), "nowait", timeout=60)
    finally:
        stop.touch()
    assert refused.returncode == 3
    assert f"another build of {index} is running" in refused.stdout
    holder.wait(timeout=60)


def test_engine_build_waits_for_a_build_lock_held_by_another_process(tiny, tmp_path: Path,
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    """Fast (no model): the lock tests above call ``build_lock`` directly; this one shows ``Engine.build`` takes it,
    says it waits, and writes its version only after the other process let go."""
    import threading

    index, stop = tmp_path / "index", tmp_path / "stop"
    holder = _hold_lock(index, stop)
    result: dict[str, object] = {}

    def build() -> None:
        try:
            result["engine"] = Engine.build(tiny.corpus, index, config=rules_config(), encoder=HashEncoder())
        except Exception as exc:  # noqa: BLE001 (reported below, in the test's own thread)
            result["error"] = exc
        result["done"] = time.time()

    with caplog.at_level("WARNING", logger="retrieval.engine"):
        builder = threading.Thread(target=build)
        builder.start()
        deadline = time.monotonic() + 60
        while "waiting for it to finish" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "done" not in result and not index.exists()  # still waiting: nothing written
        stop.touch()
        builder.join(timeout=120)
    h_out, _ = holder.communicate(timeout=60)
    released = float(h_out.split("released")[1].split()[0])
    assert "error" not in result, result.get("error")
    assert f"another build of {index} is running; waiting for it to finish" in caplog.text
    assert float(result["done"]) >= released and Engine.open(index).manifest["counts"]["passages"] > 0  # type: ignore[arg-type]
    FIGURES["lock waits shown (real processes)"] += 1


def test_a_killed_lock_holder_releases_the_lock(tmp_path: Path) -> None:
    index = tmp_path / "index"
    holder = _hold_lock(index)
    os.killpg(holder.pid, signal.SIGKILL)
    holder.wait(timeout=60)
    t0 = time.monotonic()
    taker = run_worker("take-lock", str(index), "nowait", timeout=60)
    assert taker.returncode == 0 and "locked" in taker.stdout, taker.stdout + taker.stderr
    assert time.monotonic() - t0 < 30


def _lock_is_held(index: Path) -> bool:
    lock = index.parent / f".{index.name}.lock"
    if not lock.exists():
        return False
    fd = os.open(lock, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


@pytest.mark.slow
def test_readers_during_real_rebuilds(tiny, tmp_path: Path) -> None:
    """Two reader processes while a real build process rebuilds the index from a changed corpus, then back."""
    link = link_copy(tiny.version, tmp_path / "idx")
    expected = {manifest_of(link.resolve())["manifest_sha256"]: signatures(Engine.open(link))}
    procs, outs, stop = _readers(link, tmp_path)
    _wait_for_reads(outs, 1)
    storm_answers = []
    for corpus in (tiny.changed_corpus, tiny.corpus):
        build = run_worker("build", str(corpus), str(link))
        assert build.returncode == 0, build.stderr[-3000:]
        engine = Engine.open(link)  # the new version, opened before the next rebuild could remove it
        expected[engine.manifest["manifest_sha256"]] = signatures(engine)
        storm_answers.append(engine.ask("how many houses did the storm destroy?").text)
        n = sum(len(o.read_text().splitlines()) for o in outs)
        _wait_for_reads(outs, n // len(outs) + 2)  # readers catch up with the new version
    rows = _finish(procs, outs, stop)
    seen = _check_reads(rows, expected)
    assert len(seen) == 3 and storm_answers == ["75", "40"]
    FIGURES["real rebuilds under concurrent readers"] += 2


@pytest.mark.slow
def test_two_real_builders_are_serialised(tiny, tmp_path: Path) -> None:
    link = link_copy(tiny.version, tmp_path / "idx")
    first = _spawn("build", str(tiny.changed_corpus), str(link), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                   text=True)
    deadline = time.monotonic() + 120
    while not _lock_is_held(link) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert first.poll() is None, "the first build ended before it could be overlapped"
    second = _spawn("build", str(tiny.corpus), str(link), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out1, err1 = first.communicate(timeout=600)
    t_first_done = time.monotonic()
    out2, err2 = second.communicate(timeout=600)
    t_second_done = time.monotonic()
    assert first.returncode == 0 and second.returncode == 0, err1[-2000:] + err2[-2000:]
    assert f"another build of {link} is running; waiting for it to finish" in err2
    assert t_second_done > t_first_done
    v1, v2 = out1.split()[1], out2.split()[1]
    assert os.readlink(link) == v2 and v1 < v2  # the second build ran after the first and is the one in place
    assert Engine.open(link).ask("how many houses did the storm destroy?").text == "40"
    FIGURES["concurrent real builds serialised by the lock"] += 1
