"""Vector search benchmark: latency, throughput, memory and recall@10 of every dense index kind, 10k to 1M vectors.

Data: all-MiniLM-L6-v2 embeddings of the bench-data passages (SQuAD train + visible dev paragraph contexts, SciFact
title + abstract), deduplicated and shuffled with a fixed seed; queries are real SQuAD questions and SciFact claims,
never database rows. Beyond the real passages (~25k), vectors are sampled from a model fitted to them: k-means
into small clusters (~50 vectors), and inside each cluster a Gaussian along the cluster's own principal axes with
their variances, then renormalised (PCA-Gaussian per cluster). A fidelity check compares, at equal size, real and
synthetic sets on the queries' neighbour similarities and on the recall of an IVF and an HNSW index.

Embeddings are computed once (ONNX encoder, batches of similar length) and cached as ``.npy`` blocks under
``.cache/vectors/`` keyed by a hash of the model file, encoder and texts.

Measured per index and search setting: build time, bytes per vector, single-query latency p50/p99 with one and with
all threads, queries/s at batch 64 (all threads), recall@10 against exact search. In the same run: the machine's
memory read bandwidth (the exact scan is compared with the time to read its bytes), numpy brute force, hnswlib (when
installed), this engine's BM25 against rank_bm25 on SciFact, the build-time ONNX encoder's passage throughput against
sentence-transformers, and an end-to-end hybrid search (encode, BM25, dense, fusion) at 100k passages, timed per stage
(:func:`hybrid_latency`; alone: ``ask-engine bench --e2e-only``).
Writes ``vector_bench.json``, ``vector_bench.md`` and ``vector_bench.png`` into the output folder.

Layout, one topic a module: ``config`` (:class:`BenchConfig`, defaults), ``data`` (real texts, embedding cache),
``synthetic`` (clustered and fitted synthetic vectors), ``measure`` (bandwidth, exact top-k, recall, timing loops),
``encoder`` (encoder throughput), ``hybrid`` (end-to-end hybrid search), ``run`` (the whole run), ``report``
(writers). Importing the package loads numpy and retrieval.dense only; faiss, torch, matplotlib and the encoders
are imported inside the functions that use them.
"""

from __future__ import annotations

from retrieval.vector_bench.config import DEFAULT_CACHE, DEFAULT_DATA, DEFAULT_OUT, PEERS, BenchConfig
from retrieval.vector_bench.data import cached_prefix, embed_cached, load_real_texts, scifact_chunks
from retrieval.vector_bench.encoder import encoder_throughput
from retrieval.vector_bench.hybrid import hybrid_latency, hybrid_passages, run_e2e
from retrieval.vector_bench.measure import exact_topk, measure_search, memory_bandwidth, recall_at_k
from retrieval.vector_bench.report import write_json, write_markdown, write_png
from retrieval.vector_bench.run import run_benchmark
from retrieval.vector_bench.synthetic import (
    ClusterModel,
    build_database,
    clustered_vectors,
    fit_cluster_model,
    sample_cluster_model,
    synthetic_fidelity,
)

__all__ = [
    "DEFAULT_CACHE",
    "DEFAULT_DATA",
    "DEFAULT_OUT",
    "PEERS",
    "BenchConfig",
    "ClusterModel",
    "build_database",
    "cached_prefix",
    "clustered_vectors",
    "embed_cached",
    "encoder_throughput",
    "exact_topk",
    "fit_cluster_model",
    "hybrid_latency",
    "hybrid_passages",
    "load_real_texts",
    "measure_search",
    "memory_bandwidth",
    "recall_at_k",
    "run_benchmark",
    "run_e2e",
    "sample_cluster_model",
    "scifact_chunks",
    "synthetic_fidelity",
    "write_json",
    "write_markdown",
    "write_png",
]
