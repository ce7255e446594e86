"""Passage embedding throughput: the build-time ONNX encoder against sentence-transformers, in the same run.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from retrieval.vector_bench.config import DEFAULT_CACHE
from retrieval.vector_bench.data import _onnx_encoder

__all__ = [
    "encoder_throughput",
]

def encoder_throughput(
    texts: Sequence[str], cache_dir: Path = DEFAULT_CACHE, repeats: int = 2, slice_size: int = 250,
    token_budget: int = 4096,
) -> dict[str, Any]:
    """Passages embedded per second: the build-time ONNX encoder against sentence-transformers, in the same run.

    Encoders (each loaded and warmed up first; load, export and fusion time reported apart as ``setup_s``):

    * ``sentence_transformers``: ``SentenceTransformer.encode(batch_size=32)``, its defaults (it sorts by length);
    * ``sentence_transformers_engine``: :class:`SentenceTransformerEncoder` (batches of 64 of similar length), what
      ``Engine.build`` used before;
    * ``onnx_query``: the stored query model (:class:`OnnxEncoder`, batches of 64 of similar character length);
    * ``onnx_build``: :class:`OnnxBuildEncoder` (fused graph, ORT_ENABLE_ALL, ``token_budget`` batches), what
      ``Engine.build`` uses.

    Interleaved: the texts are cut into slices of ``slice_size``; each slice goes through every encoder in rotating
    order, ``repeats`` times, so a change of machine load hits all alike; texts/s = texts / seconds spent encoding.
    ``speedup``: ``onnx_build`` over the faster sentence-transformers configuration; ``min_cosine``: the lowest
    cosine of ``onnx_build`` to ``sentence_transformers`` over every text (the speed-up counts only if >= 0.9999).
    """
    from retrieval.encoders import OnnxBuildEncoder, SentenceTransformerEncoder

    texts = list(texts)
    setup: dict[str, float] = {}

    def timed(name: str, make: Callable[[], Any]) -> Any:
        t0 = time.perf_counter()
        enc = make()
        enc.encode(texts[: min(len(texts), 16)])  # loads the model / exports and fuses the graph
        setup[name] = time.perf_counter() - t0
        return enc

    st_engine = timed("sentence_transformers_engine", lambda: SentenceTransformerEncoder(batch_size=64))
    st_model = st_engine.model

    class _STDefault:
        def encode(self, batch: Sequence[str]) -> np.ndarray:
            return st_model.encode(list(batch), batch_size=32, normalize_embeddings=True, convert_to_numpy=True)

    build = timed("onnx_build", lambda: OnnxBuildEncoder(token_budget=token_budget))
    encoders: dict[str, Any] = {
        "sentence_transformers": _STDefault(),
        "sentence_transformers_engine": st_engine,
        "onnx_query": timed("onnx_query", lambda: _onnx_encoder(Path(cache_dir).parent)),
        "onnx_build": build,
    }
    encoders["sentence_transformers"].encode(texts[:16])
    import torch

    spent = dict.fromkeys(encoders, 0.0)
    vectors = {name: np.zeros((len(texts), 384), dtype=np.float32) for name in encoders}
    names = list(encoders)
    turn = 0
    for _ in range(repeats):
        for start in range(0, len(texts), slice_size):
            part = texts[start : start + slice_size]
            for name in names[turn % len(names):] + names[: turn % len(names)]:
                t0 = time.perf_counter()
                vecs = encoders[name].encode(part)
                spent[name] += time.perf_counter() - t0
                vectors[name][start : start + len(part)] = vecs
            turn += 1
    rate = {name: repeats * len(texts) / spent[name] for name in encoders}
    st_best = max(rate["sentence_transformers"], rate["sentence_transformers_engine"])
    cos = np.sum(vectors["onnx_build"] * vectors["sentence_transformers"], axis=1)
    cos_query = np.sum(vectors["onnx_query"] * vectors["sentence_transformers"], axis=1)
    return {
        "texts": len(texts), "repeats": repeats, "slice_size": slice_size,
        "mean_chars": float(np.mean([len(t) for t in texts])) if texts else 0.0,
        "mean_words": float(np.mean([len(t.split()) for t in texts])) if texts else 0.0,
        "passages_per_s": rate,
        "onnx_passages_per_s": rate["onnx_build"],
        "sentence_transformers_passages_per_s": st_best,
        "speedup": rate["onnx_build"] / st_best,
        "speedup_vs_st_default": rate["onnx_build"] / rate["sentence_transformers"],
        "speedup_query_graph": rate["onnx_query"] / st_best,
        "min_cosine": float(cos.min()), "mean_cosine": float(cos.mean()),
        "min_cosine_query_graph": float(cos_query.min()),
        "setup_s": setup,
        "threads": {"torch": torch.get_num_threads(), "onnxruntime": "default (one per physical core)",
                    "cpus": os.cpu_count()},
        "onnx_build": {"token_budget": token_budget, "max_batch": build.max_batch, "fused_ops": build.fused_ops,
                       "graph_optimization": "ORT_ENABLE_ALL"},
        "loadavg_1min_end": os.getloadavg()[0],
    }
