"""Measurement helpers: memory bandwidth, exact top-k, recall@k, and the latency/throughput/recall loop of one
search setting, with the search functions it times. Independent of where the vectors come from.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import numpy as np

from retrieval.dense import DenseIndex
from retrieval.vector_bench.config import BenchConfig

__all__ = [
    "SearchFn",
    "exact_topk",
    "measure_search",
    "memory_bandwidth",
    "paired_latency",
    "recall_at_k",
]

def memory_bandwidth(nbytes: int = 1 << 30, repeats: int = 5, threads: int = 1) -> float:
    """Best-of-``repeats`` read bandwidth in GB/s: numpy sum of an int64 array, split over ``threads`` threads.

    An integer sum, not a float one: numpy's pairwise float summation is compute bound on some CPUs.
    """
    a = np.ones(max(nbytes // 8, threads), dtype=np.int64)
    parts = np.array_split(a, threads)
    best = math.inf
    with ThreadPoolExecutor(max_workers=threads) as pool:
        for _ in range(repeats):
            t0 = time.perf_counter()
            if threads == 1:
                np.add.reduce(a)
            else:
                list(pool.map(np.add.reduce, parts))  # the reduction releases the GIL
            best = min(best, time.perf_counter() - t0)
    return a.nbytes / best / 1e9


def exact_topk(db: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """Exact top-k ids by inner product (faiss flat, BLAS for the batch)."""
    import faiss

    index = faiss.IndexFlatIP(db.shape[1])
    index.add(np.ascontiguousarray(db, dtype=np.float32))
    return index.search(np.ascontiguousarray(queries, dtype=np.float32), k)[1]


def recall_at_k(found: np.ndarray, truth: np.ndarray, k: int) -> float:
    """Mean fraction of each query's true top-k found in its returned top-k.

    Padding (-1, an index that found fewer than k) and repeated ids count once at most, so an index cannot score
    by returning one good id k times.
    """
    hits = []
    for f, t in zip(found, truth):
        f = np.asarray(f[:k])
        hits.append(len(set(f[f >= 0].tolist()) & set(np.asarray(t[:k]).tolist())))
    return float(np.mean(hits)) / k if hits else 0.0


def _percentile(ms: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(ms), q)) if ms else float("nan")


SearchFn = Callable[[np.ndarray, int, int], np.ndarray]  # (queries, k, threads) -> ids


def measure_search(
    search: SearchFn, queries: np.ndarray, truth: np.ndarray, cfg: BenchConfig, all_threads: int
) -> dict[str, Any]:
    """Single-query latency (1 thread, all threads), batch throughput and recall@k of one search setting.

    The latency and throughput loops stop at ``latency_queries`` / all queries or at their time budget, whichever
    comes first; the numbers of queries behind each figure are reported with it. Recall is always over every query
    (the queries the throughput loop did not reach are searched untimed), so rows compare on the same questions.
    """
    k = cfg.k
    row: dict[str, Any] = {}
    for label, threads in (("1t", 1), ("all", all_threads)):
        ms: list[float] = []
        with _blas_threads(1 if threads == 1 else None):  # "1t": one OpenMP and one BLAS thread
            for i in range(3):
                search(queries[i : i + 1], k, threads)  # warm-up
            t_end = time.perf_counter() + cfg.latency_budget_s
            for i in range(min(cfg.latency_queries, len(queries))):
                t0 = time.perf_counter()
                search(queries[i : i + 1], k, threads)
                ms.append((time.perf_counter() - t0) * 1e3)
                if time.perf_counter() > t_end and len(ms) >= 10:
                    break
        row[f"p50_ms_{label}"] = _percentile(ms, 50)
        row[f"p99_ms_{label}"] = _percentile(ms, 99)
        row[f"latency_queries_{label}"] = len(ms)
    found, done, spent = [], 0, 0.0
    while done < len(queries) and (spent < cfg.batch_budget_s or done < 2 * cfg.batch_size):
        batch = queries[done : done + cfg.batch_size]
        t0 = time.perf_counter()
        found.append(search(batch, k, all_threads))
        spent += time.perf_counter() - t0
        done += len(batch)
    row["qps_batch"] = done / spent if spent > 0 else float("inf")
    row["qps_queries"] = done
    for start in range(done, len(queries), cfg.batch_size):  # untimed: recall over every query
        found.append(search(queries[start : start + cfg.batch_size], k, all_threads))
    ids = np.vstack(found)
    row["recall@k"] = recall_at_k(ids, truth, k)
    row["recall_queries"] = len(queries)
    half = len(queries) // 2  # settings are chosen on one half and checked on the other (the policy's held-out check)
    row["recall@k_halves"] = [recall_at_k(ids[:half], truth[:half], k), recall_at_k(ids[half:], truth[half:], k)]
    row["loadavg_1m"] = os.getloadavg()[0]  # the machine's load while this row ran (a shared machine is noisy)
    return row


def paired_latency(
    searches: Mapping[str, SearchFn], queries: np.ndarray, k: int, n_queries: int, warmup: int = 3, block: int = 1,
) -> dict[str, Any]:
    """Single-query latency (one thread) of several search settings timed side by side.

    The queries go in blocks of ``block``; each block runs on every setting in turn, always in the same cycle, so
    whatever the machine does meanwhile (another process, a clock change) falls on all settings alike; rows timed
    one after another do not share that. With ``block=1`` every search follows another setting's, whose memory
    traffic (an exact scan reads every vector) has evicted this one's data from the CPU caches, as the rest of a
    query path does between two questions (a cycle that rotated would put a setting after itself every other
    time); larger blocks run warm after their first query, as the benchmark's rows do. Returns each setting's
    p50 and its median per-query speedup over the first setting, the ratio to quote (absolute times drift
    between runs and machines).
    """
    labels = list(searches)
    if not labels:
        raise ValueError("paired_latency needs at least one search setting")
    if block < 1:
        raise ValueError("block must be >= 1")
    n = min(n_queries, len(queries))
    if n < 1:
        raise ValueError("paired_latency needs at least one query")
    ms: dict[str, list[float]] = {label: [] for label in labels}
    with _blas_threads(1):
        for label in labels:
            for i in range(min(warmup, len(queries))):
                searches[label](queries[i : i + 1], k, 1)
        for first in range(0, n, block):
            for label in labels:
                for i in range(first, min(first + block, n)):
                    t0 = time.perf_counter()
                    searches[label](queries[i : i + 1], k, 1)
                    ms[label].append((time.perf_counter() - t0) * 1e3)
    reference = np.asarray(ms[labels[0]])
    return {
        "queries": n, "block": block, "reference": labels[0],
        "p50_ms": {label: _percentile(v, 50) for label, v in ms.items()},
        "median_speedup": {label: float(np.median(reference / np.maximum(np.asarray(v), 1e-9)))
                           for label, v in ms.items()},
        "loadavg_1m": os.getloadavg()[0],
    }


def _faiss_search(index: DenseIndex) -> SearchFn:
    import faiss

    def search(q: np.ndarray, k: int, threads: int) -> np.ndarray:
        faiss.omp_set_num_threads(threads)
        return index.search(q, k)[1]

    return search


def _numpy_search(db: np.ndarray) -> SearchFn:
    """Brute force as a numpy user writes it: one matmul, argpartition, sort of the k best."""

    def search(q: np.ndarray, k: int, threads: int) -> np.ndarray:  # BLAS threads: set by measure_search
        sims = q @ db.T
        top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(sims, top, axis=1), axis=1, kind="stable")
        return np.take_along_axis(top, order, axis=1)

    return search


@contextmanager
def _blas_threads(threads: int | None) -> Iterator[None]:
    """Limit numpy's BLAS to ``threads`` (None: leave it) for a whole loop; a no-op without threadpoolctl."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - optional
        yield
        return
    if threads is None:
        yield
        return
    with threadpool_limits(limits=threads, user_api="blas"):
        yield
