"""Crash safety: real build processes killed with SIGKILL at random moments never cost the previous index.

One build process at a time rebuilds an index from the same corpus and is killed after a delay drawn (fixed seed)
either across the measured duration of a whole build, or just after its new version folder appears (the write
phase: files being written, fsync, the symlink flip). After every kill the index opens (every checksum verified)
and answers exactly as before the kills; the symlink never points at a partial version; a partial version folder
left behind is never loadable as an index unless it is complete.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest
from _support import (
    FIGURES,
    PYTHON,
    WORKER,
    link_copy,
    run_worker,
    signatures,
    worker_env,
)

from retrieval.engine import Engine
from retrieval.store import IndexError_


def _versions(link: Path) -> set[str]:
    return {p.name for p in link.parent.glob(f".{link.name}.v-*")}


def _start_build(corpus: Path, link: Path, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [PYTHON, str(WORKER), "build", str(corpus), str(link)],
        stdout=open(log, "ab"), stderr=subprocess.STDOUT, env=worker_env(), start_new_session=True,
    )


def _measure_build(corpus: Path, link: Path, log: Path) -> float:
    t0 = time.monotonic()
    proc = _start_build(corpus, link, log)
    assert proc.wait(timeout=600) == 0, log.read_text()[-3000:]
    return time.monotonic() - t0


def _kill_once(corpus: Path, link: Path, log: Path, mode: str, delay: float) -> dict:
    """Start one build, kill it (SIGKILL, whole process group) ``delay`` s after start or after the write phase
    begins; return what happened."""
    known = _versions(link)
    proc = _start_build(corpus, link, log)
    t0 = time.monotonic()
    if mode == "write-phase":
        while not (_versions(link) - known) and proc.poll() is None and time.monotonic() - t0 < 300:
            time.sleep(0.01)
        time.sleep(delay)
    else:
        deadline = t0 + delay
        while proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
    finished_first = proc.poll() is not None
    writing = bool(_versions(link) - known)
    if not finished_first:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    return {
        "killed": not finished_first and proc.returncode == -signal.SIGKILL,
        "in_write_phase": writing,
        "at": time.monotonic() - t0,
        "returncode": proc.returncode,
    }


def _check_after_kill(link: Path, before_target: str, baseline: list, outcome: dict, leftovers: dict) -> None:
    target = os.readlink(link)
    engine = Engine.open(link)  # verifies every checksum: a half-written version cannot pass
    assert signatures(engine) == baseline, outcome
    if target != before_target:
        # Only a build that got past the flip may move the link (it finished, or died between flip and exit).
        assert outcome["in_write_phase"], outcome
    # Leftover version folders of killed builds: never the link's target, never loadable unless complete.
    for leftover in _versions(link) - {target}:
        try:
            partial = Engine.open(link.parent / leftover)
        except IndexError_:
            leftovers[leftover] = "refused"
        else:  # killed after its manifest was written: a complete, verified index of the same corpus
            assert signatures(partial) == baseline
            leftovers[leftover] = "complete"


def _campaign(tiny, tmp_path: Path, make_plan, baseline_from_build: bool) -> list[dict]:
    link = link_copy(tiny.version, tmp_path / "idx")
    log = tmp_path / "builds.log"
    baseline = signatures(Engine.open(link))
    duration = None
    if baseline_from_build:
        # A complete rebuild in a fresh process: the previous index for the kills, and the duration to draw from.
        duration = _measure_build(tiny.corpus, link, log)
        FIGURES["measured build duration, s (kill test)"] = round(duration)
        baseline = signatures(Engine.open(link))
    plan = make_plan(duration)
    results: list[dict] = []
    leftovers: dict[str, str] = {}
    for mode, delay in plan:
        before = os.readlink(link)
        outcome = _kill_once(tiny.corpus, link, log, mode, delay)
        outcome.update(mode=mode, delay=round(delay, 2))
        _check_after_kill(link, before, baseline, outcome, leftovers)
        results.append(outcome)
        FIGURES["build processes started (kill tests)"] += 1
        if outcome["killed"]:
            FIGURES["kills (SIGKILL) tried"] += 1
            FIGURES["kills survived (index loads, same answers)"] += 1
            if outcome["in_write_phase"]:
                FIGURES["kills during the write phase"] += 1
        else:
            FIGURES["builds that finished before their kill"] += 1
    FIGURES["partial version folders left by kills (open refused)"] += sum(v == "refused" for v in leftovers.values())
    FIGURES["complete unlinked versions left by kills"] += sum(v == "complete" for v in leftovers.values())
    return results


def test_builds_killed_at_random_moments_fast(tiny, tmp_path: Path) -> None:
    """CI: three kills, one during start-up and two in the write phase."""
    rng = random.Random(20250101)
    plan = [("after-start", rng.uniform(0.5, 3.0)), ("write-phase", rng.uniform(0.0, 0.4)),
            ("write-phase", rng.uniform(0.0, 0.4))]
    results = _campaign(tiny, tmp_path, lambda _duration: plan, baseline_from_build=False)
    assert sum(r["killed"] for r in results) >= 2, results


@pytest.mark.slow
def test_builds_killed_at_22_random_moments(tiny, tmp_path: Path) -> None:
    """16 kills at delays stratified over the measured build duration + 6 in the write phase (seeded)."""
    def make_plan(duration: float) -> list[tuple[str, float]]:
        rng = random.Random(4242)
        n = 16
        plan = [("after-start", duration * (i + rng.random()) / n) for i in range(n)]
        return plan + [("write-phase", rng.uniform(0.0, 2.5)) for _ in range(6)]

    results = _campaign(tiny, tmp_path, make_plan, baseline_from_build=True)
    killed = [r for r in results if r["killed"]]
    assert len(killed) >= 20, results
    assert any(r["in_write_phase"] for r in killed), results
    # The next complete build cleans up what the killed ones left: only the current and previous versions remain.
    main = tmp_path / "idx" / "index"
    before = _versions(main)
    assert run_worker("build", str(tiny.corpus), str(main)).returncode == 0
    remaining = _versions(main)
    assert len(remaining) <= 2, (before, remaining)
    FIGURES["leftover version folders before/after the next build"] = f"{len(before)}/{len(remaining)}"  # type: ignore[assignment]
