"""What a benchmark run measures (:class:`BenchConfig`) and the shared defaults: paths, peer and approximate kinds,
the log and progress callback types. Every other module of the package imports from here; it imports none of them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from retrieval.dense import KINDS

__all__ = [
    "APPROX_KINDS",
    "DEFAULT_CACHE",
    "DEFAULT_DATA",
    "DEFAULT_OUT",
    "PEERS",
    "REPO_ROOT",
    "BenchConfig",
    "Log",
    "Progress",
]

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_OUT = REPO_ROOT / "bench" / "results"
DEFAULT_CACHE = REPO_ROOT / ".cache" / "vectors"
DEFAULT_DATA = REPO_ROOT.parent / "shared" / "bench-data"
PEERS = ("numpy", "hnswlib")
APPROX_KINDS = ("hnsw", "ivf-flat", "ivf-sq8", "ivf-pq")  # the sub-linear kinds the speed targets are about

Progress = Callable[[str, int], Callable[[int], None]]
Log = Callable[[str], None]


@dataclass(frozen=True)
class BenchConfig:
    """What one benchmark run measures; defaults sized for 10k/100k/1M in under 15 minutes on two cores."""

    sizes: tuple[int, ...] = (10_000, 100_000, 1_000_000)
    n_queries: int = 1000
    k: int = 10
    max_real: int | None = None
    kinds: tuple[str, ...] = KINDS + PEERS
    hnsw_m: tuple[int, ...] = (16, 32)
    m_sweep_max: int = 200_000  # above: HNSW graphs only at the policy's M (a 1M-vector graph takes minutes)
    hnswlib_max: int = 200_000  # above: no hnswlib graph (~3 min at 1M on two cores; faiss HNSW is measured)
    ef_construction: int = 80
    ef_search: tuple[int, ...] = (16, 32, 64, 96, 128, 192, 256, 384)
    nprobe: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64, 128)
    pq_m: int = 48
    pq_nprobe: tuple[int, ...] = (8, 16, 32, 64, 128)
    rerank: tuple[float, ...] = (4.0, 16.0)
    latency_queries: int = 200
    latency_budget_s: float = 3.0
    batch_size: int = 64
    batch_budget_s: float = 8.0
    bandwidth_bytes: int = 1 << 30
    bandwidth_repeats: int = 5
    encoder_sample: int = 400  # SciFact passages (<= 100 words) for the encoder throughput comparison (~90 s)
    encoder_repeats: int = 2
    e2e_passages: int = 100_000  # end-to-end hybrid search size (0: skip)
    e2e_questions: int = 300
    bm25_queries: int = 300
    synthetic_cluster_size: int = 50
    fidelity_size: int = 20_000
    seed: int = 0

    def __post_init__(self) -> None:
        if not self.sizes or any(n < 2 * self.k for n in self.sizes):
            raise ValueError(f"sizes must be non-empty and each >= {2 * self.k}")
        unknown = set(self.kinds) - set(KINDS) - set(PEERS)
        if unknown:
            raise ValueError(f"unknown kind(s) {', '.join(sorted(unknown))}; expected {', '.join(KINDS + PEERS)}")
        for name in ("n_queries", "k", "latency_queries", "batch_size", "bandwidth_repeats", "pq_m",
                     "ef_construction", "synthetic_cluster_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1")
        if self.max_real is not None and self.max_real < 100:
            raise ValueError("max_real must be >= 100 (the synthetic model needs clusters of real vectors)")
        if min(self.hnsw_m + self.ef_search + self.nprobe + self.pq_nprobe, default=1) < 1:
            raise ValueError("hnsw_m, ef_search and nprobe values must be >= 1")
        if min(self.rerank, default=1) < 1:
            raise ValueError("rerank factors must be >= 1")
        if self.latency_budget_s <= 0 or self.batch_budget_s <= 0 or self.bandwidth_bytes < 1 << 20:
            raise ValueError("time budgets must be > 0 and bandwidth_bytes >= 1 MiB")

    @classmethod
    def smoke(cls, sizes: Sequence[int] = (2000,)) -> BenchConfig:
        """A seconds-long run on synthetic vectors: every code path, no model, no data files."""
        return cls(
            sizes=tuple(sizes), n_queries=50, hnsw_m=(16,), ef_construction=40, ef_search=(16, 64), nprobe=(1, 8),
            pq_m=16, pq_nprobe=(8,), rerank=(4.0,), latency_queries=20, latency_budget_s=0.5, batch_budget_s=1.0,
            bandwidth_bytes=16 << 20, bandwidth_repeats=2, encoder_sample=0, bm25_queries=0, fidelity_size=1000,
            e2e_passages=0,
        )
