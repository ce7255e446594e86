"""Every dense index kind against exact search; persistence, the index-choice policy, the benchmark smoke run."""

from __future__ import annotations

import dataclasses
import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from retrieval.dense import KINDS, DenseIndex, auto_nlist, choose_index_spec
from retrieval.vector_bench import clustered_vectors, recall_at_k

DIM = 64
K = 10

# kind, parameters, recall@10 floor on 5k clustered vectors (measured 0.97-1.0; the floors leave room for BLAS and
# thread-count differences between machines, not for a broken index)
APPROX = [
    ("flat-fp16", {}, 0.99),
    ("sq8", {}, 0.90),
    ("hnsw", {"M": 16, "ef_construction": 40, "ef_search": 64}, 0.95),
    ("ivf-flat", {"nprobe": 8}, 0.90),
    ("ivf-sq8", {"nprobe": 8, "rerank": 2.0}, 0.90),
    ("ivf-sq8", {"nprobe": 8, "refine": "none"}, 0.85),
    ("ivf-pq", {"m": 16, "train_size": 2000, "nprobe": 8, "rerank": 4.0}, 0.90),
    ("ivf-pq", {"m": 16, "train_size": 2000, "nprobe": 8, "refine": "sq8"}, 0.85),
]


@pytest.fixture(autouse=True)
def _one_faiss_thread():
    """Single-threaded faiss: results independent of the machine, and no OpenMP spinning on busy CI cores."""
    import faiss

    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    yield
    faiss.omp_set_num_threads(before)


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    db = clustered_vectors(5000, DIM, n_clusters=40, seed=0)
    queries = clustered_vectors(200, DIM, n_clusters=40, seed=0, spread=1.5)  # same centres, wider: held apart
    truth = np.argsort(-(queries @ db.T), axis=1, kind="stable")[:, :K]
    return db, queries, truth


def _built(kind: str, params: dict, db: np.ndarray) -> DenseIndex:
    index = DenseIndex(DIM, kind, **params)
    index.add(db)
    return index


@pytest.mark.parametrize(("kind", "params", "floor"), APPROX, ids=[f"{k}-{i}" for i, (k, _, _) in enumerate(APPROX)])
def test_approximate_kinds_against_exact(data, kind: str, params: dict, floor: float) -> None:
    db, queries, truth = data
    index = _built(kind, params, db)
    scores, ids = index.search(queries, K)
    assert ids.shape == (len(queries), K) and (ids >= 0).all()
    assert recall_at_k(ids, truth, K) >= floor
    assert (np.diff(scores, axis=1) <= 1e-6).all()  # best first
    if kind in ("ivf-sq8", "ivf-pq") and params.get("refine", "flat") == "flat":  # re-ranked: exact inner products
        assert np.allclose(scores, np.einsum("qd,qkd->qk", queries, db[ids]), atol=1e-5)


def test_flat_is_exact(data) -> None:
    db, queries, truth = data
    index = _built("flat", {}, db)
    batch_scores, batch_ids = index.search(queries, K)
    assert np.array_equal(batch_ids, truth)
    for i in range(20):  # the single-query path (BLAS matrix-vector product) gives the same ranking and scores
        scores, ids = index.search(queries[i], K)
        assert np.array_equal(ids[0], truth[i]) and np.allclose(scores[0], batch_scores[i], atol=1e-5)
    assert np.array_equal(index.search(queries[0], len(db) + 5)[1][0], np.argsort(-(db @ queries[0]), kind="stable"))


@pytest.mark.parametrize("kind", KINDS)
def test_save_load_round_trip(data, tmp_path: Path, kind: str) -> None:
    db, queries, _ = data
    params = {"m": 16, "train_size": 2000} if kind == "ivf-pq" else {}
    index = _built(kind, params, db)
    if kind in ("hnsw", "ivf-flat", "ivf-sq8", "ivf-pq"):
        index.set_search_params(**{"hnsw": {"ef_search": 40}, "ivf-flat": {"nprobe": 5},
                                   "ivf-sq8": {"nprobe": 5, "rerank": 3.0},
                                   "ivf-pq": {"nprobe": 5, "rerank": 3.0}}[kind])
    before = index.search(queries, K)
    assert sorted(index.save(tmp_path)) == ["dense.faiss", "dense_params.json"]
    loaded = DenseIndex.load(tmp_path)
    after = loaded.search(queries, K)
    assert loaded.spec == index.spec and len(loaded) == len(db)
    assert np.array_equal(after[1], before[1]) and np.array_equal(after[0], before[0])
    mapped = DenseIndex.load(tmp_path, mmap=True)
    for i in (0, 1):  # single queries too (flat takes its own BLAS path over the mapped vectors)
        assert np.array_equal(mapped.search(queries[i], K)[1][0], before[1][i])


@pytest.mark.parametrize("kind", KINDS)
def test_memory_and_reconstruct(data, tmp_path: Path, kind: str) -> None:
    db, _, _ = data
    index = _built(kind, {"m": 16, "train_size": 2000} if kind == "ivf-pq" else {}, db)
    index.save(tmp_path)
    on_disk = (tmp_path / "dense.faiss").stat().st_size
    assert abs(index.memory_bytes() - on_disk) <= 0.01 * on_disk + 16384
    parts = index.memory_breakdown()
    assert parts["per_vector"] + parts["fixed"] == index.memory_bytes()
    rec = index.reconstruct([0, 17, 4999])
    tolerance = {"flat": 0, "flat-fp16": 1e-3, "sq8": 2e-2}.get(kind, 1e-6)
    assert rec.shape == (3, DIM) and np.abs(rec - db[[0, 17, 4999]]).max() <= tolerance


def test_compressed_sizes(data) -> None:
    db, _, _ = data
    flat = _built("flat", {}, db).memory_breakdown()["per_vector"]
    assert _built("flat-fp16", {}, db).memory_breakdown()["per_vector"] == flat // 2
    assert _built("sq8", {}, db).memory_breakdown()["per_vector"] == flat // 4
    codes = _built("ivf-pq", {"m": 16, "train_size": 2000, "refine": "none"}, db).memory_breakdown()["per_vector"]
    assert codes == len(db) * (16 + 8 + 8)  # PQ code, list id, direct-map entry
    sq8_codes = _built("ivf-sq8", {"refine": "none"}, db).memory_breakdown()["per_vector"]
    assert sq8_codes == len(db) * (DIM + 8 + 8)  # one byte per dimension, list id, direct-map entry


@pytest.mark.parametrize("kind", ["sq8", "ivf-flat", "ivf-sq8", "ivf-pq"])
def test_trained_kinds_are_deterministic(data, kind: str) -> None:
    db, queries, _ = data
    params = {"m": 16, "train_size": 2000} if kind == "ivf-pq" else {}
    a, b = _built(kind, params, db).search(queries, K), _built(kind, params, db).search(queries, K)
    assert np.array_equal(a[1], b[1]) and np.array_equal(a[0], b[0])


def test_search_params_trade_recall(data) -> None:
    db, queries, truth = data
    index = _built("ivf-flat", {}, db)
    recalls = []
    for nprobe in (1, 4, index.build_params["nlist"]):
        index.set_search_params(nprobe=nprobe)
        recalls.append(recall_at_k(index.search(queries, K)[1], truth, K))
    assert recalls == sorted(recalls) and recalls[-1] == 1.0
    with pytest.raises(ValueError):
        index.set_search_params(ef_search=10)
    with pytest.raises(ValueError):
        index.set_search_params(nprobe=0)


def test_never_pads_when_enough_vectors(data) -> None:
    db, queries, _ = data
    index = _built("ivf-flat", {"nlist": 64, "nprobe": 1}, db)  # ~80 vectors per list
    _, ids = index.search(queries[:20], 300)
    assert ids.shape == (20, 300) and (ids >= 0).all()
    assert all(len(set(row)) == 300 for row in ids.tolist())


def test_hnsw_ef_search_covers_k(data) -> None:
    db, queries, _ = data
    index = _built("hnsw", {"M": 8, "ef_construction": 20, "ef_search": 4}, db)
    _, ids = index.search(queries, 100)
    assert (ids >= 0).all() and index.spec["ef_search"] == 4


def test_constructor_validation(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown dense index kind"):
        DenseIndex(8, kind="lsh")
    with pytest.raises(ValueError, match="unknown parameter"):
        DenseIndex(8, kind="flat", nprobe=4)
    with pytest.raises(ValueError):
        DenseIndex(64, kind="hnsw", M=0)
    with pytest.raises(ValueError, match="divide"):
        DenseIndex(64, kind="ivf-pq", m=48)
    with pytest.raises(ValueError):
        DenseIndex(64, kind="ivf-pq", m=16, refine="pq")
    with pytest.raises(ValueError):
        DenseIndex(64, kind="ivf-pq", m=16, rerank=0.5)
    with pytest.raises(ValueError, match="at least"):
        DenseIndex(64, kind="ivf-pq", m=16).add(clustered_vectors(100, 64))
    with pytest.raises(ValueError):
        DenseIndex(64, kind="ivf-sq8", refine="pq")
    with pytest.raises(ValueError, match="unknown parameter"):
        DenseIndex(64, kind="ivf-sq8", m=16)
    with pytest.raises(ValueError, match="nothing to save"):
        DenseIndex(64, kind="ivf-flat").save(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_empty_and_default_index() -> None:
    index = DenseIndex(8)
    assert index.kind == "flat" and index.spec == {"kind": "flat"}
    assert index.search(np.zeros(8, dtype=np.float32), 5)[1].shape == (1, 0)
    ivf = DenseIndex(8, "ivf-flat")
    assert len(ivf) == 0 and ivf.search(np.zeros((2, 8), dtype=np.float32), 5)[1].shape == (2, 0)


def test_loads_indexes_written_before_kinds(tmp_path: Path, data) -> None:
    """Indexes from before this change have only dim/kind/ntotal in dense_params.json."""
    import faiss

    db, queries, truth = data
    raw = faiss.IndexFlatIP(DIM)
    raw.add(db)
    faiss.write_index(raw, str(tmp_path / "dense.faiss"))
    (tmp_path / "dense_params.json").write_text(json.dumps({"dim": DIM, "kind": "flat", "ntotal": len(db)}))
    assert np.array_equal(DenseIndex.load(tmp_path).search(queries, K)[1], truth)


# ---- policy -------------------------------------------------------------------------------------------------------


def test_policy_choices() -> None:
    assert choose_index_spec(0) == {"kind": "flat"}
    assert choose_index_spec(10_000) == {"kind": "flat"}
    assert choose_index_spec(50_000) == {"kind": "flat"}
    mid = choose_index_spec(100_000)
    assert mid["kind"] == "ivf-sq8" and mid["nlist"] == 512
    assert mid["nprobe"] * 100_000 / 512 >= 32 * 1_000_000 / 2048  # scans at least what nprobe 32 does at 1M
    big = choose_index_spec(1_000_000)
    assert big["kind"] == "ivf-sq8" and big["nlist"] == 2048 and big["refine"] == "flat"
    probes = [choose_index_spec(1_000_000, r)["nprobe"] for r in (0.5, 0.9, 0.95, 0.98, 0.99, 0.995)]
    assert probes == sorted(probes) and probes[2] == big["nprobe"] == 32
    assert probes[1:5] == [12, 32, 128, 256]  # measured at 1M to clear 0.90 / 0.95 / 0.98 / 0.99
    assert choose_index_spec(16_000_000)["nprobe"] > big["nprobe"]  # more lists: more of them probed
    assert choose_index_spec(10_000_000, target_recall=1.0) == {"kind": "flat"}
    spec = choose_index_spec(1_000_000, 0.99)
    built = DenseIndex(16, **spec).spec  # every spec builds as it is
    assert {k: built[k] for k in spec} == spec
    with pytest.raises(ValueError):
        choose_index_spec(-1)
    with pytest.raises(ValueError):
        choose_index_spec(10, target_recall=0.0)


def test_auto_nlist() -> None:
    assert auto_nlist(1_000_000) == 2048 and auto_nlist(100_000) == 512
    assert auto_nlist(10_000) == 256 and auto_nlist(1000) == 25 and auto_nlist(10) == 1


def test_build_config_index_type() -> None:
    from retrieval.engine import BuildConfig

    cfg = BuildConfig(index_type="hnsw", target_recall=0.9)
    assert cfg.to_json()["index_type"] == "hnsw" and cfg.to_json()["target_recall"] == 0.9
    with pytest.raises(ValueError):
        BuildConfig(index_type="annoy")
    with pytest.raises(ValueError):
        BuildConfig(target_recall=1.5)


# ---- benchmark ----------------------------------------------------------------------------------------------------


def test_recall_at_k_counts_each_true_neighbour_once() -> None:
    from retrieval.vector_bench.measure import recall_at_k

    truth = np.array([[5, 6, 7], [1, 2, 3]])
    assert recall_at_k(np.array([[5, 6, 7], [3, 2, 1]]), truth, 3) == 1.0  # order within the top k is free
    assert recall_at_k(np.array([[5, -1, -1], [1, 2, 3]]), truth, 3) == pytest.approx((1 / 3 + 1) / 2)  # padding
    assert recall_at_k(np.array([[5, 5, 5], [9, 9, 9]]), truth, 3) == pytest.approx((1 / 3 + 0) / 2)  # repeats
    assert recall_at_k(np.array([[7, 9, 5, 6]]), np.array([[5, 6, 7, 8]]), 2) == 0.0  # only each top k counts


def test_exact_topk_is_numpy_argsort() -> None:
    """The benchmark's ground truth against an independent brute force (not faiss's own flat index)."""
    from retrieval.vector_bench.measure import exact_topk

    rng = np.random.default_rng(3)
    db = rng.standard_normal((500, 32)).astype(np.float32)
    queries = rng.standard_normal((40, 32)).astype(np.float32)
    expected = np.argsort(-(queries.astype(np.float64) @ db.T.astype(np.float64)), axis=1, kind="stable")[:, :10]
    assert np.array_equal(exact_topk(db, queries, 10), expected)


def test_recall_is_over_every_query_even_when_the_time_budget_ends_the_throughput_loop() -> None:
    from retrieval.vector_bench.config import BenchConfig
    from retrieval.vector_bench.measure import measure_search

    cfg = dataclasses.replace(BenchConfig.smoke((1000,)), batch_size=4, batch_budget_s=1e-9, latency_queries=3)
    queries = np.zeros((30, 4), np.float32)
    queries[:, 0] = np.arange(30)  # the query's number, so the search below can answer per query
    truth = np.tile(np.arange(cfg.k), (30, 1))

    def search(q: np.ndarray, k: int, threads: int) -> np.ndarray:
        right = (q[:, 0] < 8) | (q[:, 0] % 3 == 0)  # the first 8 (the timed batches) all right, then 7 of 22
        return np.where(right[:, None], np.arange(k)[None, :], -1)

    row = measure_search(search, queries, truth, cfg, all_threads=1)
    assert row["qps_queries"] == 8 and row["recall_queries"] == 30  # two timed batches, the rest untimed
    assert row["recall@k"] == pytest.approx(15 / 30)  # over the timed batches alone it would read 1.0
    # halves: queries 0-14 (8 + 14 % 3 multiples 9, 12: 10 right), 15-29 (15, 18, 21, 24, 27: 5 right)
    assert row["recall@k_halves"] == pytest.approx([10 / 15, 5 / 15])


def test_run_benchmark_takes_the_sizes_of_its_config(tmp_path: Path) -> None:
    from retrieval.vector_bench import run_benchmark
    from retrieval.vector_bench.config import BenchConfig

    cfg = dataclasses.replace(BenchConfig.smoke((300,)), kinds=("flat",), e2e_passages=0)
    report = run_benchmark(config=cfg, out_dir=tmp_path, smoke=True)
    assert [s["n"] for s in report["sizes"]] == [300]


def test_benchmark_smoke(tmp_path: Path) -> None:
    from retrieval.vector_bench import run_benchmark

    report = run_benchmark((2000,), tmp_path, smoke=True)
    assert {p.name for p in tmp_path.iterdir()} == {"vector_bench.json", "vector_bench.md", "vector_bench.png"}
    saved = json.loads((tmp_path / "vector_bench.json").read_text())
    (size,) = saved["sizes"]
    assert size["n"] == 2000 and size["synthetic"] > 0
    kinds = {r["kind"] for r in size["rows"]}
    assert set(KINDS) | {"numpy"} <= kinds
    for row in size["rows"]:
        assert 0.0 <= row["recall@k"] <= 1.0 and row["bytes_per_vector"] > 0 and row["p50_ms_1t"] > 0
    assert next(r for r in size["rows"] if r["kind"] == "flat")["recall@k"] == 1.0
    assert size["summary"]["auto"]["measured"] and report["bandwidth"]["one_thread_gbps"] > 0
    assert "| flat |" in (tmp_path / "vector_bench.md").read_text()
    assert (tmp_path / "vector_bench.png").read_bytes()[:4] == b"\x89PNG"
    # a size where the policy is not the exact scan also reports the two timed side by side
    from retrieval.vector_bench.report import write_markdown

    timing = {"queries": 3, "reference": "flat", "p50_ms": {"flat": 5.0, "auto x": 0.5},
              "median_speedup": {"flat": 1.0, "auto x": 9.5}}
    size["summary"]["paired_exact_vs_auto"] = {"label": "auto x", "timings": [{**timing, "block": 1},
                                                                             {**timing, "block": 10}]}
    write_markdown(saved, tmp_path / "paired.md")
    text = (tmp_path / "paired.md").read_text()
    assert "query by query, caches cold): flat p50 5.000 ms, auto x p50 0.500 ms, median per-query speedup 9.5x" in text
    assert "in blocks of 10 queries, caches warm" in text


def test_bench_command_smoke(tmp_path: Path) -> None:
    import typer
    from typer.testing import CliRunner

    from retrieval.cli_bench import parse_sizes, register

    assert parse_sizes("10000, 100k,1M") == (10_000, 100_000, 1_000_000)
    with pytest.raises(ValueError):
        parse_sizes("10k,lots")
    app = typer.Typer()
    register(app)
    app.command("noop")(lambda: None)  # two commands: typer then dispatches by name
    result = CliRunner().invoke(app, ["bench", "--smoke", "--sizes", "1500", "--kinds", "flat,hnsw",
                                      "--out", str(tmp_path), "--quiet"])
    assert result.exit_code == 0, result.output
    rows = json.loads((tmp_path / "vector_bench.json").read_text())["sizes"][0]["rows"]
    assert {r["kind"] for r in rows} == {"flat", "hnsw"}
    bad = CliRunner().invoke(app, ["bench", "--smoke", "--sizes", "abc", "--out", str(tmp_path)])
    assert bad.exit_code == 2


def test_paired_latency_times_settings_side_by_side(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    from retrieval.vector_bench.measure import SearchFn, paired_latency

    clock = [0.0]
    monkeypatch.setattr(time, "perf_counter", lambda: clock[0])  # a fake clock: each search takes its own time
    calls: list[str] = []

    def timed(label: str, ms: float) -> SearchFn:
        def search(q: np.ndarray, k: int, threads: int) -> np.ndarray:
            assert threads == 1 and len(q) == 1  # single-query latency on one thread
            calls.append(label)
            clock[0] += ms / 1e3
            return np.zeros((1, k), np.int64)

        return search

    queries = np.zeros((8, 4), np.float32)
    out = paired_latency({"slow": timed("slow", 4.0), "fast": timed("fast", 1.0)}, queries, 5, 6, warmup=1)
    timed_calls = calls[2:]  # after one warm-up call each
    assert timed_calls == ["slow", "fast"] * 6  # every query on both, each search after the other setting's
    assert all(a != b for a, b in itertools.pairwise(timed_calls))
    assert out["queries"] == 6 and out["reference"] == "slow" and out["block"] == 1
    assert out["median_speedup"] == pytest.approx({"slow": 1.0, "fast": 4.0})
    assert out["p50_ms"] == pytest.approx({"slow": 4.0, "fast": 1.0})
    with pytest.raises(ValueError):
        paired_latency({}, queries, 5, 6)
    calls.clear()
    blocks = paired_latency({"slow": timed("slow", 4.0), "fast": timed("fast", 1.0)}, queries, 5, 5, warmup=0,
                            block=2)
    assert calls == ["slow"] * 2 + ["fast"] * 2 + ["slow"] * 2 + ["fast"] * 2 + ["slow", "fast"]  # last block short
    assert blocks["block"] == 2 and blocks["queries"] == 5
    with pytest.raises(ValueError):
        paired_latency({"fast": timed("fast", 1.0)}, queries, 5, 5, block=0)


def test_paired_exact_vs_auto_rebuilds_the_policy_choice() -> None:
    from retrieval.dense import choose_index_spec
    from retrieval.vector_bench.config import BenchConfig
    from retrieval.vector_bench.run import _paired_exact_vs_auto

    rng = np.random.default_rng(5)
    db = rng.standard_normal((60_000, 8)).astype(np.float32)
    db /= np.linalg.norm(db, axis=1, keepdims=True)
    queries = db[:20] + 0.01
    cfg = dataclasses.replace(BenchConfig.smoke((60_000,)), kinds=("flat", "ivf-sq8"), latency_queries=10)
    spec = choose_index_spec(60_000, 0.95)
    assert spec["kind"] == "ivf-sq8"
    out = _paired_exact_vs_auto(db, queries, cfg)
    assert out is not None and out["spec"] == spec and [t["block"] for t in out["timings"]] == [1, 10]
    for timed in out["timings"]:
        assert timed["queries"] == 10 and set(timed["p50_ms"]) == {"flat", out["label"]}
    assert out["label"] == f"auto ivf-sq8 nprobe={spec['nprobe']}"
    assert _paired_exact_vs_auto(db, queries, dataclasses.replace(cfg, kinds=("flat",))) is None
    assert _paired_exact_vs_auto(db[:1000], queries, cfg) is None  # the policy's choice there is flat itself


def test_small_sizes_embed_and_build_only_what_they_use() -> None:
    """``bench --sizes 2000`` embeds 2,000 real passages, not the whole corpus, and its end-to-end stage builds
    2,000 passages, not 100,000; sizes beyond the corpus still take all of it (the synthetic model needs it)."""
    from retrieval.vector_bench.config import BenchConfig
    from retrieval.vector_bench.run import end_to_end_size, real_vectors_needed

    assert real_vectors_needed(500_000, BenchConfig(sizes=(2000,))) == 2000
    assert real_vectors_needed(500_000, BenchConfig(sizes=(2000, 1_000_000))) == 500_000
    assert real_vectors_needed(500_000, BenchConfig(sizes=(100_000,), max_real=50_000)) == 50_000
    assert end_to_end_size(BenchConfig(sizes=(2000,))) == 2000
    assert end_to_end_size(BenchConfig(sizes=(10_000, 1_000_000))) == BenchConfig().e2e_passages
    assert end_to_end_size(BenchConfig(sizes=(2000,), e2e_passages=0)) == 0
