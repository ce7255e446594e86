"""The benchmark run: the sweep of build and search settings per index kind, the whole run over every size with
its peers, and the per-size summary and targets. Orchestration only; the parts live in the sibling modules.
"""

from __future__ import annotations

import json
import resource
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np

from retrieval.dense import DEFAULT_SEARCH_PARAMS, DenseIndex, auto_nlist, choose_index_spec
from retrieval.machine import machine_info
from retrieval.vector_bench.config import (
    APPROX_KINDS,
    DEFAULT_CACHE,
    DEFAULT_DATA,
    DEFAULT_OUT,
    BenchConfig,
    Log,
    Progress,
)
from retrieval.vector_bench.data import embed_cached, load_real_texts, scifact_chunks
from retrieval.vector_bench.encoder import encoder_throughput
from retrieval.vector_bench.hybrid import hybrid_latency
from retrieval.vector_bench.measure import (
    _faiss_search,
    _numpy_search,
    exact_topk,
    measure_search,
    memory_bandwidth,
    paired_latency,
)
from retrieval.vector_bench.report import write_json, write_markdown, write_png
from retrieval.vector_bench.synthetic import build_database, clustered_vectors, fit_cluster_model, synthetic_fidelity

__all__ = [
    "run_benchmark",
]

def _sweep_points(kind: str, cfg: BenchConfig, n: int) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """[(build params, [search params...])] for one kind at size n; includes what choose_index_spec would pick."""
    if kind in ("flat", "flat-fp16", "sq8", "numpy"):
        return [({}, [{}])]
    if kind in ("hnsw", "hnswlib"):
        ms = sorted(set(cfg.hnsw_m)) if n <= cfg.m_sweep_max else [max(cfg.hnsw_m)]
        return [({"M": m, "ef_construction": cfg.ef_construction}, [{"ef_search": e} for e in cfg.ef_search])
                for m in ms]
    nlist = auto_nlist(n)
    if kind == "ivf-flat":
        return [({"nlist": nlist}, [{"nprobe": p} for p in cfg.nprobe if p <= nlist])]
    if kind == "ivf-sq8":
        specs = [choose_index_spec(n, r) for r in (0.90, 0.95, 0.98, 0.99)]
        policy = {int(spec["nprobe"]) for spec in specs if spec["kind"] == kind}  # what the policy would pick
        probes = sorted(p for p in set(cfg.nprobe) | policy if p <= nlist)
        points = [{"nprobe": p, "rerank": 2.0} for p in probes] + [{"nprobe": min(nlist, DEFAULT_SEARCH_PARAMS["ivf-sq8"]["nprobe"]), "rerank": 1.0}]
        return [({"nlist": nlist, "refine": "flat"}, points)]
    points = [{"nprobe": p, "rerank": r} for r in sorted(set(cfg.rerank) | {1.0}) for p in cfg.pq_nprobe
              if p <= nlist]
    return [({"nlist": nlist, "m": cfg.pq_m}, points)]


def _bench_kind(
    kind: str, db: np.ndarray, queries: np.ndarray, truth: np.ndarray, cfg: BenchConfig, all_threads: int,
    log: Log,
) -> list[dict[str, Any]]:
    import faiss

    rows = []
    n, d = db.shape
    for build, points in _sweep_points(kind, cfg, n):
        faiss.omp_set_num_threads(all_threads)
        t0 = time.perf_counter()
        if kind == "numpy":
            search, index = _numpy_search(db), None
            mem = per_vector = db.nbytes
        elif kind == "hnswlib":
            import hnswlib

            index = hnswlib.Index(space="ip", dim=d)
            index.init_index(n, M=build["M"], ef_construction=build["ef_construction"], random_seed=cfg.seed + 1)
            index.add_items(db, num_threads=all_threads)
            # hnswlib's own layout: vector, level-0 links (2M), label, count; upper levels ~ 1/M of the nodes
            mem = per_vector = n * (4 * d + 4 + 2 * build["M"] * 4 + 8) + n // build["M"] * (build["M"] * 4 + 4)

            def search(q: np.ndarray, k: int, threads: int, _i: Any = index) -> np.ndarray:
                return _i.knn_query(q, k=k, num_threads=threads)[0].astype(np.int64)
        else:
            index = DenseIndex(d, kind, **build)
            index.add(db)
            search, parts = _faiss_search(index), index.memory_breakdown()
            mem, per_vector = parts["per_vector"] + parts["fixed"], parts["per_vector"]
            build = {k: v for k, v in index.build_params.items() if k not in ("seed", "train_size")}
        build_s = time.perf_counter() - t0
        label = kind + "".join(f" {k}={v}" for k, v in build.items() if k in ("M", "nlist", "m"))
        log(f"  {label}: built in {build_s:.1f} s, {mem / n:.0f} B/vector")
        for point in points:
            if kind == "hnswlib":
                index.set_ef(max(point["ef_search"], cfg.k))
            elif point:
                index.set_search_params(**point)
            shown = label + (f" rerank={point['rerank']:g}" if point.get("rerank", 1) > 1 else "")
            row = {"kind": kind, "label": shown, "build": build, "search": point, "build_s": build_s,
                   "memory_bytes": int(mem), "bytes_per_vector": mem / n, "marginal_bytes_per_vector": per_vector / n}
            row.update(measure_search(search, queries, truth, cfg, all_threads))
            rows.append(row)
            if kind in ("ivf-sq8", "ivf-pq") and point.get("rerank") == 1:
                # shortlist = k: the code ranking itself (re-scored), i.e. the IVF kind without a re-rank store
                codes = parts["per_vector"] - parts.get("refine", 0)
                row.update(label=label + " no-rerank", memory_bytes=int(mem - parts.get("refine", 0)),
                           bytes_per_vector=(mem - parts.get("refine", 0)) / n, marginal_bytes_per_vector=codes / n)
            log(f"    {json.dumps(point) if point else '-':34s} recall@{cfg.k} {row['recall@k']:.4f}  "
                f"p50 {row['p50_ms_1t']:.3f} ms (1t) {row['p50_ms_all']:.3f} ms (all)  {row['qps_batch']:.0f} q/s")
        del index, search
    return rows


def _paired_exact_vs_auto(db: np.ndarray, queries: np.ndarray, cfg: BenchConfig) -> dict[str, Any] | None:
    """The exact scan and the policy's choice at this size, built again and timed side by side (``paired_latency``):
    the speedup to quote, from one loop rather than from two rows timed minutes apart; alternating query by query
    (cold caches) and in blocks of ten (warm, as the rows are). None where the policy chooses the exact scan
    itself, or where the run does not measure both kinds."""
    spec = choose_index_spec(len(db), 0.95)
    if spec["kind"] == "flat" or not {"flat", spec["kind"]} <= set(cfg.kinds):
        return None
    exact = DenseIndex(db.shape[1], "flat")
    exact.add(db)
    auto = DenseIndex(db.shape[1], **spec)
    auto.add(db)
    label = f"auto {spec['kind']} nprobe={spec['nprobe']}"
    searches = {"flat": _faiss_search(exact), label: _faiss_search(auto)}
    return {"spec": spec, "label": label, "timings": [
        paired_latency(searches, queries, cfg.k, cfg.latency_queries, block=block) for block in (1, 10)
    ]}


def _summarise(size_report: dict[str, Any], cfg: BenchConfig, bandwidth: dict[str, float]) -> dict[str, Any]:
    """Per size: the exact scan against the bandwidth bound, the fastest index at recall >= 0.95, the auto choice."""
    n, rows = size_report["n"], size_report["rows"]
    bytes_scanned = n * size_report["dim"] * 4
    out: dict[str, Any] = {}
    flat = next((r for r in rows if r["kind"] == "flat"), None)
    if flat:
        bound_ms = bytes_scanned / (bandwidth["one_thread_gbps"] * 1e9) * 1e3
        out["exact"] = {"p50_ms_1t": flat["p50_ms_1t"], "bandwidth_bound_ms_1t": bound_ms,
                        "ratio_to_bound": flat["p50_ms_1t"] / bound_ms, "bytes_per_vector": flat["bytes_per_vector"]}
        numpy_row = next((r for r in rows if r["kind"] == "numpy"), None)
        if numpy_row:
            bound_all = bytes_scanned / (bandwidth["all_threads_gbps"] * 1e9) * 1e3
            out["numpy_exact"] = {"p50_ms_all": numpy_row["p50_ms_all"], "bandwidth_bound_ms_all": bound_all,
                                  "ratio_to_bound": numpy_row["p50_ms_all"] / bound_all}
    approx = [r for r in rows if r["kind"] in APPROX_KINDS and r["recall@k"] >= 0.95]
    if approx:
        best = min(approx, key=lambda r: r["p50_ms_1t"])
        out["fastest_at_recall_0.95"] = {
            "label": best["label"], "search": best["search"], "recall@k": best["recall@k"],
            "p50_ms_1t": best["p50_ms_1t"],
            "speedup_vs_exact": flat["p50_ms_1t"] / best["p50_ms_1t"] if flat else None,
        }
    spec = choose_index_spec(n, 0.95)
    kind = spec["kind"]
    match = [r for r in rows if r["kind"] == kind and all(r["build"].get(k) == v for k, v in spec.items()
                                                        if k in r["build"])
             and all(r["search"].get(k) == v for k, v in spec.items() if k in DEFAULT_SEARCH_PARAMS.get(kind, {}))]
    out["auto"] = {"spec": spec, "measured": bool(match)}
    if match:
        out["auto"].update({"recall@k": match[0]["recall@k"], "p50_ms_1t": match[0]["p50_ms_1t"]})
    if flat:
        out["bytes_per_vector_vs_flat"] = {
            r["label"]: r["marginal_bytes_per_vector"] / flat["marginal_bytes_per_vector"]
            for r in rows if r["kind"] not in ("flat", "numpy")
        }
    return out


def real_vectors_needed(available: int, cfg: BenchConfig) -> int:
    """How many real passages to embed: enough for the largest database (the rest of the corpus only matters when
    a size outgrows it and the synthetic model is fitted on all of it), at most ``max_real``."""
    limit = available if cfg.max_real is None else min(cfg.max_real, available)
    return min(limit, max(cfg.sizes))


def end_to_end_size(cfg: BenchConfig) -> int:
    """Passages for the end-to-end hybrid stage: ``e2e_passages``, but no more than the largest size asked for
    (``--sizes 2000`` is a quick run, not a 100,000-passage build)."""
    return min(cfg.e2e_passages, max(cfg.sizes)) if cfg.e2e_passages else 0


def run_benchmark(
    sizes: Sequence[int] | None = None,
    out_dir: str | Path = DEFAULT_OUT,
    config: BenchConfig | None = None,
    *,
    data_dir: str | Path = DEFAULT_DATA,
    cache_dir: str | Path = DEFAULT_CACHE,
    smoke: bool = False,
    progress: Progress | None = None,
    log: Log | None = None,
) -> dict[str, Any]:
    """Run the whole benchmark; write JSON, markdown and PNG into ``out_dir``; return the report.

    ``smoke`` uses :meth:`BenchConfig.smoke` and clustered synthetic vectors instead of embeddings (no model, no
    data files): every code path in seconds, for CI.
    """
    import faiss

    if config is None:
        sizes = tuple(sizes or (10_000, 100_000, 1_000_000))
        cfg = BenchConfig.smoke(sizes) if smoke else BenchConfig(sizes=sizes)
    else:  # the config's sizes unless others are named
        cfg = config if sizes is None or tuple(sizes) == config.sizes else replace(config, sizes=tuple(sizes))
    log = log or (lambda _m: None)
    progress = progress or (lambda _label, _total: (lambda _n: None))
    out_dir, cache_dir, data_dir = Path(out_dir), Path(cache_dir), Path(data_dir)
    all_threads = faiss.omp_get_max_threads()
    started = time.perf_counter()
    stages: dict[str, float] = {}

    @contextmanager
    def stage(name: str) -> Iterator[None]:
        log(f"[{time.perf_counter() - started:7.1f} s] {name} ...")
        t0 = time.perf_counter()
        try:
            yield
        finally:
            stages[name] = time.perf_counter() - t0
            log(f"[{time.perf_counter() - started:7.1f} s] {name}: {stages[name]:.1f} s")

    report: dict[str, Any] = {
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "config": asdict(cfg),
        "machine": {**machine_info(), "threads": all_threads, "faiss": faiss.__version__, "numpy": np.__version__},
        "smoke": smoke,
    }
    try:
        with stage("memory bandwidth"):
            report["bandwidth"] = {
                "one_thread_gbps": memory_bandwidth(cfg.bandwidth_bytes, cfg.bandwidth_repeats, 1),
                "all_threads_gbps": memory_bandwidth(cfg.bandwidth_bytes, cfg.bandwidth_repeats, all_threads),
                "bytes": cfg.bandwidth_bytes, "method": "best of numpy int64 sums",
            }
        with stage("real vectors"):
            if smoke:
                dim = 64
                real = clustered_vectors(min(max(cfg.sizes), 1500), dim, seed=cfg.seed)
                queries = clustered_vectors(cfg.n_queries, dim, seed=cfg.seed, spread=1.5)
                source = "clustered synthetic stand-in (smoke)"
            else:
                passages, questions = load_real_texts(data_dir, cfg.seed)
                limit = real_vectors_needed(len(passages), cfg)
                passages, questions = passages[:limit], questions[: cfg.n_queries]
                real = embed_cached(passages, cache_dir, progress=progress("Embedding passages", len(passages)))
                queries = embed_cached(questions, cache_dir, progress=progress("Embedding questions", len(questions)))
                source = ("all-MiniLM-L6-v2 (ONNX) of SQuAD v1.1 train+dev contexts and SciFact abstracts, then of "
                          "their sentences (at least 6 words)")
            report["data"] = {"real_vectors": len(real), "queries": len(queries), "dim": real.shape[1],
                              "source": source}
        model = None
        if max(cfg.sizes) > len(real):
            with stage("synthetic model"):
                model = fit_cluster_model(real, seed=cfg.seed, cluster_size=cfg.synthetic_cluster_size)
                report["data"]["synthetic"] = {
                    "method": f"k-means of the real vectors (~{cfg.synthetic_cluster_size} per cluster); per "
                              "cluster a Gaussian along all its principal axes with their variances; "
                              "renormalised to unit length",
                    "clusters": int(model.means.shape[0]), "components": int(model.axes.shape[1]),
                }
            with stage("synthetic fidelity"):
                report["data"]["fidelity"] = synthetic_fidelity(real, queries, cfg.fidelity_size, cfg.k, cfg.seed,
                                                                cfg.synthetic_cluster_size)
        report["sizes"] = []
        for n in cfg.sizes:
            with stage(f"n={n}: data + exact top-{cfg.k}"):
                db, n_real = build_database(real, model, n, cfg.seed)
                truth = exact_topk(db, queries, cfg.k)
            size_report: dict[str, Any] = {"n": n, "dim": int(db.shape[1]), "real": n_real, "synthetic": n - n_real,
                                           "rows": []}
            for kind in cfg.kinds:
                if kind == "hnswlib":
                    try:
                        import hnswlib  # noqa: F401
                    except ImportError:
                        log("  hnswlib not installed: skipped")
                        continue
                    if n > cfg.hnswlib_max:
                        log(f"  hnswlib skipped above hnswlib_max={cfg.hnswlib_max}")
                        continue
                with stage(f"n={n}: {kind}"):
                    size_report["rows"].extend(_bench_kind(kind, db, queries, truth, cfg, all_threads, log))
            size_report["summary"] = _summarise(size_report, cfg, report["bandwidth"])
            if choose_index_spec(n, 0.95)["kind"] != "flat":
                with stage(f"n={n}: exact vs auto, timed side by side"):
                    paired = _paired_exact_vs_auto(db, queries, cfg)
                if paired:
                    size_report["summary"]["paired_exact_vs_auto"] = paired
            report["sizes"].append(size_report)
            del db, truth
        report["peers"] = {}
        bm25_files = (data_dir / "scifact/corpus.jsonl", data_dir / "scifact/queries.jsonl")
        if cfg.bm25_queries and not smoke and all(p.is_file() for p in bm25_files):
            with stage("bm25 vs rank_bm25"):
                from retrieval.bench_bm25 import compare_with_rank_bm25

                try:
                    report["peers"]["bm25_scifact"] = compare_with_rank_bm25(*bm25_files, cfg.bm25_queries)
                except ImportError:
                    log("  rank_bm25 not installed: skipped")
        if cfg.encoder_sample and not smoke:
            with stage("encoder throughput"):
                sample = scifact_chunks(data_dir, cfg.encoder_sample, cfg.seed)
                report["peers"]["encoders"] = encoder_throughput(sample, cache_dir, repeats=cfg.encoder_repeats)
        e2e_passages = end_to_end_size(cfg)
        if e2e_passages and not smoke:
            with stage(f"end-to-end hybrid search at {e2e_passages:,}"):
                report["e2e_hybrid"] = hybrid_latency(e2e_passages, cfg.e2e_questions, data_dir=data_dir,
                                                      cache_dir=cache_dir, seed=cfg.seed, log=log)
    finally:
        faiss.omp_set_num_threads(all_threads)
    report["stages_s"] = stages
    report["wall_s"] = time.perf_counter() - started
    report["peak_rss_gib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    report["targets"] = _targets(report)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_json(report, out_dir / "vector_bench.json")
    write_markdown(report, out_dir / "vector_bench.md")
    write_png(report, out_dir / "vector_bench.png")
    log(f"wrote {out_dir}/vector_bench.{{json,md,png}} in {report['wall_s']:.0f} s, peak RSS "
        f"{report['peak_rss_gib']:.1f} GiB")
    return report


def _targets(report: dict[str, Any]) -> dict[str, Any]:
    """The issue's targets, evaluated on whatever sizes were run (informative; nothing asserts them)."""
    out: dict[str, Any] = {}
    for s in report.get("sizes", []):
        sm, n = s["summary"], s["n"]
        t: dict[str, Any] = {}
        fast = [r for r in s["rows"] if r["kind"] in APPROX_KINDS and r["recall@k"] >= 0.95
                and r["p50_ms_1t"] <= 0.5]
        flat = sm.get("exact", {}).get("p50_ms_1t")
        if flat:
            fast = [r for r in fast if flat / r["p50_ms_1t"] >= 10]
        t["index_recall95_p50_le_0.5ms_10x"] = [r["label"] + " " + json.dumps(r["search"]) for r in fast]
        if "exact" in sm:
            t["exact_within_1.3x_bandwidth"] = sm["exact"]["ratio_to_bound"] <= 1.3
        if sm.get("auto", {}).get("measured"):
            t["auto_recall"] = sm["auto"]["recall@k"]
        # the compressed options: 8-bit scalar codes and PQ codes without a float32 re-rank store (fp16 is half by
        # construction; the re-ranked kinds keep float32 vectors on purpose, so neither is a compressed option)
        t["compressed_le_quarter"] = {k: v <= 0.25 for k, v in sm.get("bytes_per_vector_vs_flat", {}).items()
                                      if k.startswith("sq8") or (k.startswith("ivf-pq") and "no-rerank" in k)}
        out[str(n)] = t
    enc = report.get("peers", {}).get("encoders")
    if enc:
        out["encoder_onnx_1.5x_equal_vectors"] = enc["speedup"] >= 1.5 and enc["min_cosine"] >= 0.9999
    if report.get("e2e_hybrid"):
        out["e2e_hybrid_p50_le_15ms"] = report["e2e_hybrid"]["target_p50_le_15ms"]
    return out
