"""Load the scripts under eval/ as modules (they are not part of the package)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

EVAL_DIR = Path(__file__).resolve().parents[2] / "eval"


def _load(name: str) -> ModuleType:
    """Import ``eval/<name>.py``; the scripts import their heavy dependencies (torch) only inside ``main()``."""
    spec = importlib.util.spec_from_file_location(name, EVAL_DIR / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def load_eval_script():
    """``load_eval_script("train_reader")`` -> the module of ``eval/train_reader.py``."""
    return _load
