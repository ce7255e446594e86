"""Synthetic vectors: clustered stand-ins, the per-cluster PCA-Gaussian model fitted to real vectors, databases
that mix real and sampled vectors, and the check of how closely the samples follow the real set.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from retrieval.dense import DenseIndex
from retrieval.vector_bench.measure import exact_topk, recall_at_k

__all__ = [
    "ClusterModel",
    "build_database",
    "clustered_vectors",
    "fit_cluster_model",
    "sample_cluster_model",
    "synthetic_fidelity",
]

def _normalise(x: np.ndarray) -> np.ndarray:
    x /= np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    return x


def clustered_vectors(n: int, dim: int, n_clusters: int = 32, seed: int = 0, spread: float = 1.0) -> np.ndarray:
    """Unit vectors around random centres with a power-law spectrum per cluster (embedding-like, not uniform noise).

    Stands in for real embeddings where there are none (the smoke test); ``spread`` > 1 makes query-like outliers.
    """
    rng = np.random.default_rng(seed)
    centres = _normalise(rng.standard_normal((n_clusters, dim)).astype(np.float32))
    scales = (0.35 * spread / np.sqrt(dim)) * np.arange(1, dim + 1, dtype=np.float32) ** -0.5 * np.sqrt(dim / 4)
    labels = rng.integers(0, n_clusters, n)
    out = np.empty((n, dim), dtype=np.float32)
    for c in range(n_clusters):
        idx = np.flatnonzero(labels == c)
        if len(idx) == 0:
            continue
        basis = np.linalg.qr(rng.standard_normal((dim, dim)))[0].astype(np.float32)
        out[idx] = centres[c] + (rng.standard_normal((len(idx), dim), dtype=np.float32) * scales) @ basis.T
    return _normalise(out)


@dataclass(frozen=True)
class ClusterModel:
    """A Gaussian per k-means cluster: mean, principal axes with their standard deviations, residual deviation."""

    means: np.ndarray  # (k, d)
    axes: np.ndarray  # (k, r, d), rows orthonormal
    stds: np.ndarray  # (k, r)
    residual_std: np.ndarray  # (k,)
    weights: np.ndarray  # (k,)


def fit_cluster_model(
    real: np.ndarray, n_clusters: int | None = None, components: int | None = None, seed: int = 0,
    cluster_size: int = 50,
) -> ClusterModel:
    """k-means the real vectors (~``cluster_size`` per cluster), then PCA each cluster.

    Small clusters with all their principal axes (``components=None``) follow the data's curved, low-dimensional
    layout piece by piece; variance beyond ``components`` axes goes to an isotropic residual. Measured on 6k real
    vectors at equal size (see synthetic_fidelity): 50 per cluster, all axes gives HNSW(M=16, ef=16) recall 0.89
    (real 0.92), nearest-real cosine 0.58 (real to real 0.59); 200 per cluster with 64 axes plus isotropic
    residual gave 0.86 and 0.47, a harder, noisier set than the real one.
    """
    import faiss

    n, d = real.shape
    k = int(n_clusters or min(4096, max(1, n // cluster_size)))
    km = faiss.Kmeans(d, k, niter=20, seed=seed, spherical=True, max_points_per_centroid=max(256, n // k + 1))
    km.train(np.ascontiguousarray(real, dtype=np.float32))
    _, labels = km.index.search(np.ascontiguousarray(real, dtype=np.float32), 1)
    labels = labels.ravel()
    r = min(components or d, d)
    means = np.zeros((k, d), np.float32)
    axes = np.zeros((k, r, d), np.float32)
    stds = np.zeros((k, r), np.float32)
    residual = np.zeros(k, np.float32)
    counts = np.bincount(labels, minlength=k).astype(np.float64)
    global_residual = float(np.sqrt(np.var(real - real.mean(0), axis=0).sum() / d)) * 0.5
    for c in range(k):
        members = real[labels == c].astype(np.float64)
        if len(members) == 0:
            continue
        means[c] = members.mean(0)
        if len(members) < 3:
            residual[c] = global_residual
            continue
        centred = members - members.mean(0)
        _, s, vt = np.linalg.svd(centred, full_matrices=False)
        var = s**2 / (len(members) - 1)
        keep = min(r, len(var) - 1)
        axes[c, :keep] = vt[:keep]
        stds[c, :keep] = np.sqrt(var[:keep])
        residual[c] = np.sqrt(max(var[keep:].sum(), 0.0) / max(d - keep, 1))
    return ClusterModel(means, axes, stds, residual, (counts / counts.sum()).astype(np.float64))


def sample_cluster_model(model: ClusterModel, n: int, seed: int = 0) -> np.ndarray:
    """``n`` unit vectors from ``model``: clusters in proportion to their size, Gaussian along their axes."""
    rng = np.random.default_rng(seed)
    _, r, d = model.axes.shape
    counts = rng.multinomial(n, model.weights)
    out = np.empty((n, d), dtype=np.float32)
    pos = 0
    for c in np.flatnonzero(counts):
        m, axes = int(counts[c]), model.axes[c]
        z = rng.standard_normal((m, r), dtype=np.float32) * model.stds[c]
        noise = rng.standard_normal((m, d), dtype=np.float32)
        noise -= (noise @ axes.T) @ axes  # the residual lives outside the principal axes
        out[pos : pos + m] = model.means[c] + z @ axes + model.residual_std[c] * noise
        pos += m
    return _normalise(out[rng.permutation(n)])


def build_database(real: np.ndarray, model: ClusterModel | None, n: int, seed: int = 0) -> tuple[np.ndarray, int]:
    """(n unit vectors, how many are real): the real vectors first as far as they go, synthetic beyond, shuffled."""
    n_real = min(n, len(real))
    if n_real == n:
        return np.ascontiguousarray(real[:n], dtype=np.float32), n
    if model is None:
        raise ValueError(f"{n} vectors requested, {len(real)} real and no synthetic model")
    db = np.empty((n, real.shape[1]), dtype=np.float32)
    order = np.random.default_rng(seed + n).permutation(n)
    db[order[:n_real]] = real[:n_real]
    db[order[n_real:]] = sample_cluster_model(model, n - n_real, seed=seed + n)
    return db, n_real


def synthetic_fidelity(
    real: np.ndarray, queries: np.ndarray, n: int, k: int = 10, seed: int = 0, cluster_size: int = 50
) -> dict[str, Any]:
    """Real against synthetic at equal size: queries' top-1/top-k similarity and the recall of two ANN indexes.

    The real side is a random sample of ``n`` real vectors; the synthetic side is drawn from a model fitted on the
    other real vectors (``held_apart``) when there are at least ``n`` of them, so that the model is not judged on
    the vectors it copies. Larger recall on the synthetic side means the synthetic rows flatter that index.
    """
    n = min(n, len(real))
    order = np.random.default_rng(seed + 11).permutation(len(real))
    held_apart = len(real) - n >= n
    fit_on = real[order[n:]] if held_apart else real
    model = fit_cluster_model(np.ascontiguousarray(fit_on), seed=seed, cluster_size=cluster_size)
    sets = {"real": np.ascontiguousarray(real[order[:n]]), "synthetic": sample_cluster_model(model, n, seed=seed + 7)}
    out: dict[str, Any] = {"size": n, "held_apart": held_apart}
    for name, db in sets.items():
        sims = queries @ db.T
        top = -np.sort(-np.partition(sims, sims.shape[1] - k, axis=1)[:, -k:], axis=1)
        truth = exact_topk(db, queries, k)
        ivf = DenseIndex(db.shape[1], "ivf-flat", nprobe=4)
        ivf.add(db)
        hnsw = DenseIndex(db.shape[1], "hnsw", M=16, ef_construction=40, ef_search=16)
        hnsw.add(db)
        out[name] = {
            "top1_cosine": float(top[:, 0].mean()),
            f"top{k}_cosine": float(top[:, -1].mean()),
            "mean_cosine": float(sims.mean()),
            "ivf_flat_nprobe4_recall": recall_at_k(ivf.search(queries, k)[1], truth, k),
            "hnsw_m16_ef16_recall": recall_at_k(hnsw.search(queries, k)[1], truth, k),
        }
    return out
