"""Dense vector index over FAISS: normalised embeddings, inner product = cosine similarity."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["DenseIndex"]

_PARAMS_FILE = "dense_params.json"
_INDEX_FILE = "dense.faiss"


class DenseIndex:
    """Exact (flat) inner-product search; the same ``add``/``search``/``save``/``load`` shape as :class:`BM25`."""

    def __init__(self, dim: int = 384, kind: str = "flat") -> None:
        if dim < 1:
            raise ValueError("dim must be >= 1")
        if kind != "flat":
            raise ValueError(f"unknown dense index kind {kind!r}")
        import faiss

        self.dim = dim
        self.kind = kind
        self._index: Any = faiss.IndexFlatIP(dim)

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def add(self, vectors: np.ndarray) -> None:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.dim:
            raise ValueError(f"expected vectors of shape (n, {self.dim}), got {vectors.shape}")
        self._index.add(vectors)

    def search(self, queries: np.ndarray, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, ids) per query row, best first; ids are -1 where fewer than k vectors exist."""
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        if queries.shape[1] != self.dim:
            raise ValueError(f"expected queries of dimension {self.dim}, got {queries.shape[1]}")
        if k <= 0 or len(self) == 0:
            empty = np.zeros((queries.shape[0], 0))
            return empty.astype(np.float32), empty.astype(np.int64)
        scores, ids = self._index.search(queries, min(k, len(self)))
        return scores, ids

    def save(self, directory: str | Path) -> list[str]:
        import faiss

        directory = Path(directory)
        faiss.write_index(self._index, str(directory / _INDEX_FILE))
        (directory / _PARAMS_FILE).write_text(json.dumps({"dim": self.dim, "kind": self.kind, "ntotal": len(self)}))
        return [_INDEX_FILE, _PARAMS_FILE]

    @classmethod
    def load(cls, directory: str | Path, mmap: bool = False) -> DenseIndex:
        import faiss

        directory = Path(directory)
        params = json.loads((directory / _PARAMS_FILE).read_text())
        obj = cls.__new__(cls)
        obj.dim, obj.kind = int(params["dim"]), str(params["kind"])
        flags = faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY if mmap else 0
        obj._index = faiss.read_index(str(directory / _INDEX_FILE), flags)
        if obj._index.d != obj.dim or obj._index.ntotal != int(params["ntotal"]):
            raise ValueError(f"{_INDEX_FILE} does not match {_PARAMS_FILE}")
        return obj
