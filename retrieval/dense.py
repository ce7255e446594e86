"""Dense vector index over FAISS: normalised embeddings, inner product = cosine similarity.

Seven kinds, one interface (``add`` / ``search`` / ``save`` / ``load``):

=============  ===============================================  ==================  ================================
kind           structure                                        bytes per vector    search-time parameters
=============  ===============================================  ==================  ================================
``flat``       exact scan of float32 vectors                    4 d                 -
``flat-fp16``  exact scan of float16 vectors                    2 d                 -
``sq8``        scan of 8-bit scalar-quantised vectors           d                   -
``hnsw``       HNSW graph over float32 vectors                  4 d + ~8 M          ``ef_search``
``ivf-flat``   k-means lists of float32 vectors                 4 d + 16            ``nprobe``
``ivf-sq8``    k-means lists of 8-bit scalar-quantised          d + 16, plus the    ``nprobe``, ``rerank``
               residuals, then an exact re-rank of a shortlist  refine store
               (``rerank`` x k) from a refine store (as ivf-pq)
``ivf-pq``     k-means lists of 8-bit PQ codes, then an exact   m + 16, plus the    ``nprobe``, ``rerank``
               re-rank of a shortlist (``rerank`` x k) from a   refine store: 4 d
               refine store (``refine``: flat / fp16 / sq8 /    / 2 d / d / 0
               none)
=============  ===============================================  ==================  ================================

(IVF kinds: 8 bytes of list id and 8 of direct map per vector, so ``reconstruct`` works for every kind.)

Why several: the exact scan is memory-bandwidth bound (n * 4 d bytes per query), fine up to tens of thousands of
vectors; beyond that IVF-SQ8 scans a few percent of the vectors at a byte per dimension and re-ranks exactly, well
under a millisecond at 1M; HNSW and IVF-Flat are the familiar alternatives, and IVF-PQ keeps only compact codes.
:func:`choose_index_spec` picks one from corpus size and target recall.

Trained kinds train on the first ``add`` (a seeded sample of it), so add everything in one call. k-means and the
sample are seeded, so IVF and SQ builds repeat exactly on the same machine and thread count; HNSW inserts on
several threads, so its graph, and some of its approximate results, can differ from one build to the next.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["DEFAULT_SEARCH_PARAMS", "KINDS", "DenseIndex", "auto_nlist", "choose_index_spec"]

_PARAMS_FILE = "dense_params.json"
_INDEX_FILE = "dense.faiss"

KINDS = ("flat", "flat-fp16", "sq8", "hnsw", "ivf-flat", "ivf-sq8", "ivf-pq")

_BUILD_DEFAULTS: dict[str, dict[str, Any]] = {
    "flat": {},
    "flat-fp16": {},
    "sq8": {"train_size": 65536, "seed": 1234},
    "hnsw": {"M": 32, "ef_construction": 80},
    "ivf-flat": {"nlist": None, "train_size": None, "seed": 1234},
    "ivf-sq8": {"nlist": None, "refine": "flat", "train_size": None, "seed": 1234},
    "ivf-pq": {"nlist": None, "m": 48, "refine": "flat", "train_size": None, "seed": 1234},
}
DEFAULT_SEARCH_PARAMS: dict[str, dict[str, Any]] = {
    "hnsw": {"ef_search": 64},
    "ivf-flat": {"nprobe": 16},
    "ivf-sq8": {"nprobe": 32, "rerank": 2.0},
    "ivf-pq": {"nprobe": 16, "rerank": 4.0},
}
_REFINE_STORES = ("flat", "fp16", "sq8", "none")
_REFINED_KINDS = ("ivf-sq8", "ivf-pq")  # kinds whose approximate ranking is re-scored from a refine store
# k-means sample per list: faiss warns below 39; 32-64 keeps 1M-vector training to seconds on two cores.
_TRAIN_PER_LIST = 48

# Policy thresholds (see choose_index_spec); measured with retrieval.vector_bench.
_EXACT_MAX = 50_000
_IVF_NPROBE_BY_RECALL = ((0.90, 12), (0.95, 32), (0.98, 128), (0.99, 256))  # measured at 1M vectors, 2048 lists
_IVF_REF_N, _IVF_REF_NLIST = 1_000_000, 2048


def auto_nlist(n_vectors: int) -> int:
    """IVF list count: the power of two nearest 2 sqrt(n), at most n / 39 so k-means has enough points per list."""
    if n_vectors < 1:
        raise ValueError("n_vectors must be >= 1")
    nlist = 2 ** round(math.log2(max(2.0 * math.sqrt(n_vectors), 1.0)))
    return int(max(1, min(nlist, n_vectors // 39)))


def choose_index_spec(n_vectors: int, target_recall: float = 0.95) -> dict[str, Any]:
    """The index kind and parameters for ``n_vectors`` at ``target_recall`` (recall@10 against exact search).

    Policy, from ``ask-engine bench`` (retrieval/vector_bench/) on MiniLM embeddings of SQuAD + SciFact passages
    searched with real questions (2-core AMD EPYC, one thread per query):

    * ``n <= 50k`` or ``target_recall >= 0.999``: ``flat``. The exact scan is memory-bandwidth bound, ~1.5 KB per
      vector: 0.2 ms at 10k (in cache), ~3 ms at 50k, 5.3 ms at 100k, 54-65 ms at 1M. Up to 50k that is below
      the question encoder's own ~5 ms, so exactness costs nothing noticeable: recall 1.0, nothing to tune,
      bit-for-bit reproducible builds, no extra memory.
    * larger: ``ivf-sq8`` (nlist ~ 2 sqrt(n): 512 at 100k, 2048 at 1M) with an exact float32 re-rank of the
      best 2 k. nprobe comes from the 1M measurement: 12 / 32 / 128 / 256 for 0.90 / 0.95 / 0.98 / 0.99, the
      least that clears each target by at least 0.005; on fewer vectors it rises so a query scans as many
      vectors as it does at 1M (lists are shorter, so the same work probes a larger share: recall only rises),
      and on more it keeps the same share of the lists. Measured (``ask-engine bench``, 2-core AMD EPYC, one
      thread) on 1M vectors of which 170k real (SQuAD/SciFact texts and their sentences) and 830k synthetic,
      which flatters IVF (at 20k, IVF-Flat nprobe 4: 0.775 synthetic vs 0.712 real): nprobe 12 / 32 / 64 / 128 /
      256 gave recall 0.914 / 0.959 / 0.976 / 0.987 / 0.993 at 0.24 / 0.53 / 1.06 / 1.84 / 3.52 ms, against 54 ms
      exact (nprobe 24: 0.949; an earlier, 97% synthetic mix read 0.969 there, which the policy then used). On
      100k real vectors, nprobe 32 / 64 / 80 gave 0.953 / 0.977 / 0.983 at 0.21 / 0.40 / 0.50 ms against 5.3 ms
      exact (the policy picks 80 there for 0.95). Scanning one byte per dimension reads a quarter of IVF-Flat's
      bytes, and the re-rank restores what 8-bit codes lose (0.952 ->
      0.959 at nprobe 32). HNSW (M=32, efConstruction=80) is faster at 1M for equal recall (efSearch 96: 0.966
      at 0.28 ms) but builds 8x slower (128 s vs 16 s), is not bit-reproducible (multi-threaded insertion), and
      next to the ~2.7 ms question encoder the difference does not show. Memory: d + 16 bytes of codes and ids
      per vector plus the 4 d float32 re-rank store, 1.26x flat.
    * ``hnsw``, ``ivf-flat``, ``ivf-pq``, ``sq8``, ``flat-fp16`` are never chosen automatically: ivf-flat is slower
      at equal recall; hnsw is faster per query by 0.1-0.3 ms (100k, M=16, efSearch 32: 0.953 at 0.08 ms) but
      slower to build and not bit-reproducible; the compressed kinds are for memory-bound deployments. Pick any
      of them with ``index_type``.
    """
    if n_vectors < 0:
        raise ValueError("n_vectors must be >= 0")
    if not 0.0 < target_recall <= 1.0:
        raise ValueError("target_recall must be in (0, 1]")
    if n_vectors <= _EXACT_MAX or target_recall >= 0.999:
        return {"kind": "flat"}
    base = next((p for r, p in _IVF_NPROBE_BY_RECALL if target_recall <= r), _IVF_NPROBE_BY_RECALL[-1][1])
    nlist = auto_nlist(n_vectors)
    same_share = base * nlist / _IVF_REF_NLIST  # the measured share of the lists (more lists: more probes)
    same_work = base * (_IVF_REF_N / _IVF_REF_NLIST) / (n_vectors / nlist)  # as many vectors as measured at 1M
    nprobe = int(min(nlist, math.ceil(max(same_share, same_work))))
    return {"kind": "ivf-sq8", "nlist": nlist, "refine": "flat", "nprobe": nprobe, "rerank": 2.0}


def _check_positive_int(name: str, value: Any, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


def _validate(kind: str, dim: int, build: dict[str, Any], search: dict[str, Any]) -> None:
    for key in ("M", "ef_construction", "m", "ef_search", "nprobe"):
        if key in build or key in search:
            _check_positive_int(key, build.get(key, search.get(key)))
    for key in ("train_size", "nlist"):
        if key in build:
            _check_positive_int(key, build[key], allow_none=True)
    if "seed" in build and (isinstance(build["seed"], bool) or not isinstance(build["seed"], (int, np.integer))
                            or build["seed"] < 0):
        raise ValueError("seed must be a non-negative integer")
    if kind == "ivf-pq" and dim % build["m"]:
        raise ValueError(f"m={build['m']} must divide dim={dim}")
    if kind in _REFINED_KINDS and build["refine"] not in _REFINE_STORES:
        raise ValueError(f"refine must be one of {_REFINE_STORES}")
    if "rerank" in search and (isinstance(search["rerank"], bool) or not isinstance(search["rerank"], (int, float))
                               or not search["rerank"] >= 1):
        raise ValueError("rerank (shortlist size as a multiple of k) must be >= 1")


class DenseIndex:
    """Inner-product search over one of :data:`KINDS`; the same ``add``/``search``/``save``/``load`` shape as BM25.

    ``DenseIndex(dim)`` is the exact flat index. Build parameters (``M``, ``nlist``, ``m``...) go to the constructor;
    search parameters (``ef_search``, ``nprobe``, ``rerank``) too, or later through :meth:`set_search_params`.
    """

    def __init__(self, dim: int = 384, kind: str = "flat", **params: Any) -> None:
        if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
            raise TypeError(f"dim must be an int, got {type(dim).__name__}")
        if dim < 1:
            raise ValueError("dim must be >= 1")
        if kind not in KINDS:
            raise ValueError(f"unknown dense index kind {kind!r}; expected one of {', '.join(KINDS)}")
        allowed_build, allowed_search = _BUILD_DEFAULTS[kind], DEFAULT_SEARCH_PARAMS.get(kind, {})
        unknown = set(params) - set(allowed_build) - set(allowed_search)
        if unknown:
            raise ValueError(f"unknown parameter(s) for {kind}: {', '.join(sorted(unknown))}")
        self.dim = dim
        self.kind = kind
        self.build_params = {**allowed_build, **{k: v for k, v in params.items() if k in allowed_build}}
        self.search_params = {**allowed_search, **{k: v for k, v in params.items() if k in allowed_search}}
        _validate(kind, dim, self.build_params, self.search_params)
        self._index: Any = None
        self._ivf: Any = None
        if not kind.startswith("ivf") or self.build_params["nlist"] is not None:
            self._index = self._new_index(self.build_params.get("nlist"))

    # ---- construction -----------------------------------------------------------------------------------------

    def _new_index(self, nlist: int | None) -> Any:
        import faiss

        d, p, ip = self.dim, self.build_params, faiss.METRIC_INNER_PRODUCT
        if self.kind == "flat":
            return faiss.IndexFlatIP(d)
        if self.kind == "flat-fp16":
            return faiss.IndexScalarQuantizer(d, faiss.ScalarQuantizer.QT_fp16, ip)
        if self.kind == "sq8":
            return faiss.IndexScalarQuantizer(d, faiss.ScalarQuantizer.QT_8bit, ip)
        if self.kind == "hnsw":
            index = faiss.IndexHNSWFlat(d, int(p["M"]), ip)
            index.hnsw.efConstruction = int(p["ef_construction"])
            return index
        assert nlist is not None
        quantizer = faiss.IndexFlatIP(d)
        if self.kind == "ivf-flat":
            ivf = faiss.IndexIVFFlat(quantizer, d, int(nlist), ip)
        elif self.kind == "ivf-sq8":
            ivf = faiss.IndexIVFScalarQuantizer(quantizer, d, int(nlist), faiss.ScalarQuantizer.QT_8bit, ip)
        else:
            ivf = faiss.IndexIVFPQ(quantizer, d, int(nlist), int(p["m"]), 8, ip)  # 8-bit codes: m bytes
        ivf.own_fields = True
        quantizer.this.disown()  # the IVF index frees it
        ivf.cp.seed = int(p["seed"])
        if self.kind == "ivf-pq":
            ivf.pq.cp.seed = int(p["seed"])
            ivf.pq.cp.min_points_per_centroid = 1  # no per-subquantizer warning spam on small data
            ivf.pq.cp.max_points_per_centroid = 64  # 16k residuals per codebook: plenty, and seconds not minutes
        self._ivf = ivf
        if self.kind == "ivf-flat" or p["refine"] == "none":
            return ivf
        store = {
            "flat": lambda: faiss.IndexFlatIP(d),
            "fp16": lambda: faiss.IndexScalarQuantizer(d, faiss.ScalarQuantizer.QT_fp16, ip),
            "sq8": lambda: faiss.IndexScalarQuantizer(d, faiss.ScalarQuantizer.QT_8bit, ip),
        }[p["refine"]]()
        refine = faiss.IndexRefine(ivf, store)
        refine.own_fields = True
        refine.own_refine_index = True
        ivf.this.disown()
        store.this.disown()
        return refine

    def _train_sample(self, vectors: np.ndarray, size: int) -> np.ndarray:
        if len(vectors) <= size:
            return vectors
        rng = np.random.default_rng(int(self.build_params["seed"]))
        return vectors[np.sort(rng.choice(len(vectors), size, replace=False))]

    def _train(self, vectors: np.ndarray) -> None:
        p = self.build_params
        if self.kind == "sq8":
            self._index.train(self._train_sample(vectors, int(p["train_size"])))
            return
        nlist = int(self._ivf.nlist)
        if len(vectors) < nlist:
            raise ValueError(f"{self.kind} with nlist={nlist} needs at least {nlist} vectors to train, "
                             f"got {len(vectors)}")
        if self.kind == "ivf-pq" and len(vectors) < 256:
            raise ValueError("ivf-pq needs at least 256 vectors to train its 8-bit codebooks")
        size = int(p["train_size"] or max(nlist * _TRAIN_PER_LIST, 16384 if self.kind == "ivf-pq" else 0))
        sample = self._train_sample(vectors, size)
        self._ivf.cp.max_points_per_centroid = max(1, math.ceil(len(sample) / nlist))  # no second subsample
        self._index.train(sample)  # IndexRefine trains its base and its store

    # ---- the index interface ----------------------------------------------------------------------------------

    def __len__(self) -> int:
        return 0 if self._index is None else int(self._index.ntotal)

    @property
    def spec(self) -> dict[str, Any]:
        """Kind and every parameter (JSON-ready): what the manifest records and ``DenseIndex(dim, **spec)`` rebuilds."""
        return {"kind": self.kind, **self.build_params, **self.search_params}

    def add(self, vectors: np.ndarray) -> None:
        """Add unit vectors; the first call trains the trained kinds (sq8, ivf-*) on a seeded sample of it."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.dim:
            raise ValueError(f"expected vectors of shape (n, {self.dim}), got {vectors.shape}")
        if len(vectors) == 0:
            return
        if not _all_finite(vectors):
            raise ValueError("vectors contain NaN or infinite values")
        if self._index is None:  # ivf with nlist chosen from the first batch
            self.build_params["nlist"] = auto_nlist(len(vectors))
            self._index = self._new_index(self.build_params["nlist"])
        if not self._index.is_trained:
            self._train(vectors)
        self._apply_search_params()
        self._index.add(vectors)
        if self._ivf is not None:
            self._ivf.make_direct_map()  # reconstruct() by id, as for every other kind

    def set_search_params(self, **params: Any) -> None:
        """Change ``ef_search`` (hnsw), ``nprobe`` (ivf-*) or ``rerank`` (ivf-sq8/pq: shortlist = rerank * k)."""
        allowed = DEFAULT_SEARCH_PARAMS.get(self.kind, {})
        unknown = set(params) - set(allowed)
        if unknown:
            raise ValueError(f"{self.kind} has no search parameter(s) {', '.join(sorted(unknown))}")
        merged = {**self.search_params, **params}
        _validate(self.kind, self.dim, self.build_params, merged)
        self.search_params = merged
        self._apply_search_params()

    def _apply_search_params(self) -> None:
        if self._index is None:
            return
        sp = self.search_params
        if self.kind == "hnsw":
            self._index.hnsw.efSearch = int(sp["ef_search"])
        if self._ivf is not None:
            self._ivf.nprobe = int(min(sp["nprobe"], self._ivf.nlist))
        if self.kind in _REFINED_KINDS and self.build_params["refine"] != "none":
            self._index.k_factor = float(sp["rerank"])

    def search(self, queries: np.ndarray, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, ids) per query row, best first, equal scores by id; ``min(k, len(self))`` columns.

        An approximate kind can find fewer than k candidates for a query (few IVF lists probed); those rows are
        searched again exhaustively, so callers never see padding they did not ask for.
        """
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
            raise TypeError(f"k must be an int, got {type(k).__name__}")
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        if queries.ndim != 2 or queries.shape[1] != self.dim:
            raise ValueError(f"expected queries of dimension {self.dim}, got shape {queries.shape}")
        if not np.isfinite(queries).all():
            raise ValueError("queries contain NaN or infinite values")
        if k <= 0 or len(self) == 0 or queries.shape[0] == 0:
            empty = np.zeros((queries.shape[0], max(0, min(k, len(self)))))
            return empty.astype(np.float32), empty.astype(np.int64)
        k = min(k, len(self))
        if self.kind == "hnsw":
            self._index.hnsw.efSearch = int(max(self.search_params["ef_search"], k))
        scores, ids = self._search_threads(queries, k)
        if self.kind not in ("flat", "flat-fp16", "sq8"):
            missing = np.flatnonzero((ids < 0).any(axis=1))
            if len(missing):
                scores[missing], ids[missing] = self._exhaustive(queries[missing], k)
        return _ties_by_id(scores, ids)

    def _search_threads(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """One query runs on one thread: a flat scan is memory-bandwidth bound, and splitting a single query
        across OpenMP threads only adds synchronisation (measured 14 vs 35 ms at 100k on a loaded 2-core
        machine); batches keep every thread."""
        if queries.shape[0] > 1:
            return self._index.search(queries, k)
        if self.kind == "flat":
            return self._flat_scan(queries[0], k)
        import faiss

        before = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(1)
        try:
            return self._index.search(queries, k)
        finally:
            faiss.omp_set_num_threads(before)

    def _flat_scan(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Exact top-k of one query: a BLAS matrix-vector product over the stored float32 vectors, then a partial
        sort. faiss scores a lone query vector by vector (one inner-product call each), which measured ~3x
        slower than the memory-bandwidth bound at 1M; sgemv streams the matrix at close to it."""
        import faiss

        n = int(self._index.ntotal)
        stored = faiss.rev_swig_ptr(self._index.get_xb(), n * self.dim).reshape(n, self.dim)  # a view, no copy
        sims = stored @ query
        if k < n:  # every vector tied with the k-th best stays in, so the lowest ids win ties, as in faiss's heaps
            top = np.flatnonzero(sims >= sims[np.argpartition(-sims, k - 1)[k - 1]])
        else:
            top = np.arange(n)
        order = top[np.lexsort((top, -sims[top]))][:k]  # best first; equal scores by id
        return sims[order][None, :].astype(np.float32), order[None, :].astype(np.int64)

    def _exhaustive(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        if self._ivf is not None:
            self._ivf.nprobe = int(self._ivf.nlist)
            try:
                return self._index.search(queries, k)
            finally:
                self._apply_search_params()
        vectors = self.reconstruct(np.arange(len(self)))  # hnsw: a disconnected corner; rare and small
        sims = queries @ vectors.T
        top = np.argsort(-sims, axis=1, kind="stable")[:, :k]
        return np.take_along_axis(sims, top, axis=1), top.astype(np.int64)

    def reconstruct(self, ids: np.ndarray | list[int]) -> np.ndarray:
        """Stored vectors by id (decoded from fp16/sq8/PQ codes where that is all the index keeps)."""
        ids = np.asarray(ids, dtype=np.int64).ravel()
        if self._index is None or len(ids) == 0:
            return np.zeros((len(ids), self.dim), dtype=np.float32)
        bad = ids[(ids < 0) | (ids >= len(self))]
        if len(bad):  # faiss reads out of bounds (or crashes) on a negative id
            raise IndexError(f"vector id {int(bad[0])} is out of range for an index of {len(self)} vectors")
        return np.asarray(self._index.reconstruct_batch(ids), dtype=np.float32)

    def memory_bytes(self) -> int:
        """Bytes the index holds in memory (codes, graph links, ids, trained tables); ~ its serialized size."""
        parts = self.memory_breakdown()
        return parts["per_vector"] + parts["fixed"]

    def memory_breakdown(self) -> dict[str, int]:
        """``{"per_vector": bytes that grow with the vectors, "fixed": trained tables, centroids}``; ``refine``
        (ivf-sq8, ivf-pq) is the re-rank store's share of ``per_vector``."""
        if self._index is None:
            return {"per_vector": 0, "fixed": 0}
        per_vector, fixed = _faiss_bytes(self._index)
        out = {"per_vector": per_vector, "fixed": fixed}
        if self.kind in _REFINED_KINDS and self.build_params["refine"] != "none":
            out["refine"] = _faiss_bytes(self._index.refine_index)[0]
        return out

    # ---- persistence ------------------------------------------------------------------------------------------

    def save(self, directory: str | Path) -> list[str]:
        import faiss

        if self._index is None:
            raise ValueError(f"an empty {self.kind} index has nothing to save; add vectors first")
        directory = Path(directory)
        if not directory.is_dir():
            raise FileNotFoundError(f"not an existing directory: {directory}")
        faiss.write_index(self._index, str(directory / _INDEX_FILE))
        meta = {"dim": self.dim, "kind": self.kind, "ntotal": len(self), "build": self.build_params,
                "search": self.search_params}
        (directory / _PARAMS_FILE).write_text(json.dumps(meta))
        return [_INDEX_FILE, _PARAMS_FILE]

    @classmethod
    def load(cls, directory: str | Path, mmap: bool = False) -> DenseIndex:
        import faiss

        directory = Path(directory)
        params = json.loads((directory / _PARAMS_FILE).read_text())
        kind = str(params["kind"])
        if kind not in KINDS:
            raise ValueError(f"{_PARAMS_FILE} names an unknown kind {kind!r}")
        obj = cls.__new__(cls)
        obj.dim, obj.kind = int(params["dim"]), kind
        obj.build_params = {**_BUILD_DEFAULTS[kind], **params.get("build", {})}
        obj.search_params = {**DEFAULT_SEARCH_PARAMS.get(kind, {}), **params.get("search", {})}
        _validate(kind, obj.dim, obj.build_params, obj.search_params)
        flags = faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY if mmap else 0
        obj._index = faiss.read_index(str(directory / _INDEX_FILE), flags)
        obj._ivf = faiss.extract_index_ivf(obj._index) if kind.startswith("ivf") else None
        if obj._index.d != obj.dim or obj._index.ntotal != int(params["ntotal"]):
            raise ValueError(f"{_INDEX_FILE} does not match {_PARAMS_FILE}")
        obj._apply_search_params()
        return obj


def _all_finite(vectors: np.ndarray, rows: int = 65536) -> bool:
    """``np.isfinite(vectors).all()`` a block of rows at a time: a whole-array mask is 384 MB at 1M x 384."""
    return all(np.isfinite(vectors[i : i + rows]).all() for i in range(0, len(vectors), rows))


def _ties_by_id(scores: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row best first with equal scores in ascending id order. faiss's heaps keep the lowest ids among ties but
    return them in either order; a single query (``_flat_scan``) and a batch must agree, or ``ask`` and the batched
    evaluation would return different copies of a syndicated article."""
    order = np.lexsort((ids, -scores), axis=-1)
    return np.take_along_axis(scores, order, axis=1), np.take_along_axis(ids, order, axis=1)


def _faiss_bytes(index: Any) -> tuple[int, int]:
    """(bytes growing with ntotal, fixed bytes) of a faiss index: what write_index stores, to within a few KB."""
    import faiss

    index = faiss.downcast_index(index)
    if isinstance(index, faiss.IndexRefine):
        base, store = _faiss_bytes(index.base_index), _faiss_bytes(index.refine_index)
        return base[0] + store[0], base[1] + store[1]
    if isinstance(index, faiss.IndexHNSW):
        h = index.hnsw
        graph = h.neighbors.size() * 4 + h.offsets.size() * 8 + h.levels.size() * 4
        storage = _faiss_bytes(index.storage)
        return graph + storage[0], storage[1]
    if isinstance(index, faiss.IndexIVF):
        per_vector = int(index.ntotal) * (int(index.code_size) + 8)  # codes + int64 ids in the lists
        if index.direct_map.type == faiss.DirectMap.Array:
            per_vector += int(index.direct_map.array.size()) * 8
        fixed = sum(_faiss_bytes(index.quantizer))
        if isinstance(index, faiss.IndexIVFPQ):
            fixed += index.pq.centroids.size() * 4
            if getattr(index, "precomputed_table", None) is not None:
                fixed += index.precomputed_table.size() * 4
        if isinstance(index, faiss.IndexIVFScalarQuantizer):
            fixed += index.sq.trained.size() * 4
        return per_vector, fixed
    if isinstance(index, faiss.IndexScalarQuantizer):
        return int(index.codes.size()), int(index.sq.trained.size()) * 4
    if isinstance(index, faiss.IndexFlatCodes):
        return int(index.codes.size()), 0
    raise TypeError(f"no size rule for {type(index).__name__}")
