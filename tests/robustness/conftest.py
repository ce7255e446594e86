"""Fixtures of the fault-injection suite, the slow-suite gate, and the figures printed at the end of a run.

The slow robustness tests (20+ SIGKILLed builds, real concurrent rebuilds, 10,000 generated inputs) take several
minutes. They run when selected explicitly (``-m slow``, or ``ASK_ROBUSTNESS_SLOW=1``); a plain ``pytest`` (what CI
runs) runs the fast subset of this folder and reports the slow tests as skipped.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _support import FIGURES, OUTCOMES, write_corpus

HERE = Path(__file__).resolve().parent


def _slow_selected(config: pytest.Config) -> bool:
    expr = config.getoption("markexpr", "") or ""
    return os.environ.get("ASK_ROBUSTNESS_SLOW") == "1" or ("slow" in expr and "not slow" not in expr)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if _slow_selected(config):
        return
    skip = pytest.mark.skip(reason="slow fault-injection test: run with -m slow (or ASK_ROBUSTNESS_SLOW=1)")
    for item in items:
        if item.get_closest_marker("slow") and HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(skip)


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    if not FIGURES and not OUTCOMES:
        return
    tr = terminalreporter
    tr.section("robustness figures")
    for key in sorted(FIGURES):
        tr.write_line(f"{key:48s} {FIGURES[key]}")
    if OUTCOMES:
        tr.write_line("bad inputs and outcomes:")
        for key in sorted(OUTCOMES):
            tr.write_line(f"  {key:46s} {OUTCOMES[key]}")


@dataclass(frozen=True)
class Tiny:
    corpus: Path  # the three-article corpus
    link: Path  # the index symlink
    version: Path  # the version folder it points to (never modified by tests)
    changed_corpus: Path  # the corpus with one fact changed
    changed_version: Path  # an index of the changed corpus


@pytest.fixture(scope="session")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Tiny:
    """A three-article corpus and its index, built once (in this process), plus an index of the changed corpus."""
    from retrieval.engine import Engine

    root = tmp_path_factory.mktemp("tiny")
    corpus = write_corpus(root / "corpus")
    changed = write_corpus(root / "changed-corpus", changed=True)
    engine = Engine.build(corpus, root / "idx" / "index")
    other = Engine.build(changed, root / "idx-changed" / "index")
    return Tiny(corpus, root / "idx" / "index", engine.directory, changed, other.directory)


@pytest.fixture(scope="session")
def tiny_engine(tiny: Tiny):
    from retrieval.engine import Engine

    return Engine.open(tiny.link)
