"""ask-engine: offline hybrid search and extractive question answering over article collections.

Importing the package is cheap; the engine and its heavy dependencies load on first attribute access.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "Answer",
    "AnswerValue",
    "BM25",
    "BuildConfig",
    "Citation",
    "CorpusError",
    "DenseIndex",
    "Document",
    "Engine",
    "FusionMode",
    "Hit",
    "IndexCorrupt",
    "IndexIncompatible",
    "IndexMissing",
    "IndexTooNew",
    "Passage",
    "SearchConfig",
    "__version__",
    "tokenize",
]

_LAZY = {
    "Answer": "retrieval.types",
    "AnswerValue": "retrieval.types",
    "Citation": "retrieval.types",
    "Document": "retrieval.types",
    "Hit": "retrieval.types",
    "Passage": "retrieval.types",
    "BM25": "retrieval.bm25",
    "DenseIndex": "retrieval.dense",
    "FusionMode": "retrieval.fusion",
    "Engine": "retrieval.engine",
    "BuildConfig": "retrieval.engine",
    "SearchConfig": "retrieval.engine",
    "CorpusError": "retrieval.ingest",
    "IndexCorrupt": "retrieval.store",
    "IndexIncompatible": "retrieval.store",
    "IndexMissing": "retrieval.store",
    "IndexTooNew": "retrieval.store",
}

# ``tokenize`` is also a submodule, made callable as the function (see ``retrieval.tokenize``). It is imported now
# (pure Python, light) so that the name means the same object whatever was imported first.
from retrieval import tokenize  # noqa: E402

if TYPE_CHECKING:
    from retrieval.bm25 import BM25
    from retrieval.dense import DenseIndex
    from retrieval.engine import BuildConfig, Engine, SearchConfig
    from retrieval.fusion import FusionMode
    from retrieval.ingest import CorpusError
    from retrieval.store import IndexCorrupt, IndexIncompatible, IndexMissing, IndexTooNew
    from retrieval.types import Answer, AnswerValue, Citation, Document, Hit, Passage


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'retrieval' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
