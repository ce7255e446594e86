"""Writers of a benchmark report: JSON (non-finite floats as null), markdown tables and the recall/latency PNG.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np

from retrieval.machine import describe_machine
from retrieval.vector_bench.config import PEERS

__all__ = [
    "write_json",
    "write_markdown",
    "write_png",
]

def write_json(report: dict[str, Any], path: Path) -> None:
    def clean(x: Any) -> Any:
        if isinstance(x, float) and not math.isfinite(x):
            return None
        if isinstance(x, (np.floating, np.integer)):
            return clean(x.item())
        if isinstance(x, dict):
            return {str(k): clean(v) for k, v in x.items()}
        if isinstance(x, (list, tuple)):
            return [clean(v) for v in x]
        return x

    Path(path).write_text(json.dumps(clean(report), indent=1) + "\n")


def _fmt(x: Any, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "-"
    if isinstance(x, float):
        return f"{x:.{digits}f}" if abs(x) < 1000 else f"{x:,.0f}"
    return str(x)


def _e2e_lines(e: dict[str, Any]) -> list[str]:
    d, b, ld = e["dense"], e["bm25"], e["load"]
    lines = [
        "", f"## End-to-end hybrid search ({e['n_passages']:,} passages)", "",
        (f"`Engine.search(question, k={e['k']})` one question at a time: ONNX query encoder, BM25 top-{e['depth']}, "
         f"dense top-{e['depth']} ({d['spec']['kind']}, chosen by choose_index_spec), {e['search_config']['fusion']} "
         f"fusion. {e['questions']['n']} SQuAD dev questions after {e['questions']['warmup']} warm-up, every "
         "setting on every question in rotating order."), "",
        (f"BM25: {e['n_passages']:,} real passages ({', '.join(f'{k} {v:,}' for k, v in b['sources'].items())}), "
         f"{b['vocabulary']:,} terms, {b['postings']:,} postings. Dense: {d['real_vectors']:,} real + "
         f"{d['synthetic_vectors']:,} synthetic vectors; {d['pairing']}."), "",
        (f"Machine: {e['cpus']} CPUs, load average {ld['loadavg_1min_mean']:.1f} (max {ld['loadavg_1min_max']:.1f}) "
         f"during the run; this process (nice {ld['niceness']}) got {ld['cpu_share']:.2f} CPUs. On a loaded machine "
         "the figures include waits for a CPU; compare settings within the table."), "",
        ("| threads (ORT / faiss) | encode p50 / p90 | BM25 p50 / p90 | dense p50 / p90 | fusion p50 / p90 | "
         "total p50 | total p90 | total p99 | p50 1st / 2nd half |"),
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in e["rows"]:
        cells = [f"{_fmt(r[f'{s}_p50_ms'], 2)} / {_fmt(r[f'{s}_p90_ms'], 2)}" for s in ("encode", "bm25", "dense",
                                                                                       "fusion")]
        halves = " / ".join(_fmt(x, 2) for x in r["total_p50_halves_ms"])
        lines.append(f"| {r['label']} | {' | '.join(cells)} | **{_fmt(r['total_p50_ms'], 2)}** | "
                     f"{_fmt(r['total_p90_ms'], 2)} | {_fmt(r['total_p99_ms'], 2)} | {halves} |")
    lines += ["", (f"Times in ms. Best setting: {e['best']}; target p50 <= 15 ms: "
                   f"{json.dumps(e['target_p50_le_15ms'])}.")]
    return lines


def write_markdown(report: dict[str, Any], path: Path) -> None:
    """One table per size (every index and setting), then bandwidth, data, peers, targets and stage timings."""
    bw, data = report["bandwidth"], report["data"]
    k = report["config"]["k"]
    lines = [
        "# Vector search benchmark", "",
        (f"{report['created']} - {describe_machine(report['machine'])}, faiss {report['machine']['faiss']}, "
         f"wall {report['wall_s']:.0f} s, peak RSS {report['peak_rss_gib']:.2f} GiB"
         + (" - SMOKE RUN (synthetic stand-in data)" if report.get("smoke") else "")), "",
        (f"Memory read bandwidth: {bw['one_thread_gbps']:.1f} GB/s (1 thread), {bw['all_threads_gbps']:.1f} GB/s "
         f"(all threads), {bw['method']} over {bw['bytes'] / 2**30:.2f} GiB."), "",
        (f"Data: {data['real_vectors']} real vectors ({data['source']}), {data['queries']} query vectors, "
         f"dim {data['dim']}."),
    ]
    if "synthetic" in data:
        syn = data["synthetic"]
        lines += ["", f"Synthetic vectors: {syn['method']} ({syn['clusters']} clusters, {syn['components']} axes)."]
        fid = data.get("fidelity")
        if fid:
            fitted = "a model fitted on the other real vectors" if fid.get("held_apart") else "the same model"
            lines += ["", (f"Fidelity at {fid['size']} vectors (a random real sample / synthetic ones from {fitted}; "
                           "a higher recall on the synthetic side means the synthetic rows flatter that index):"), ""]
            lines += ["| measure | real | synthetic |", "|---|---|---|"]
            lines += [f"| {m} | {_fmt(fid['real'][m])} | {_fmt(fid['synthetic'][m])} |" for m in fid["real"]]
    for s in report["sizes"]:
        lines += ["", f"## {s['n']:,} vectors ({s['real']:,} real, {s['synthetic']:,} synthetic)", "",
                  ("| index | search | build s | B/vector | p50 ms 1t | p99 ms 1t | p50 ms all* | p99 ms all* | "
                   f"q/s batch {report['config']['batch_size']} | recall@{k} |"),
                  "|---|---|---|---|---|---|---|---|---|---|"]
        for r in s["rows"]:
            search = " ".join(f"{a}={b}" for a, b in r["search"].items()) or "-"
            lines.append(
                f"| {r['label']} | {search} | {_fmt(r['build_s'], 1)} | {_fmt(r['bytes_per_vector'], 0)} | "
                f"{_fmt(r['p50_ms_1t'])} | {_fmt(r['p99_ms_1t'])} | {_fmt(r['p50_ms_all'])} | "
                f"{_fmt(r['p99_ms_all'])} | {_fmt(r['qps_batch'], 0)} | {_fmt(r['recall@k'], 4)} |"
            )
        sm = s["summary"]
        lines += ["", ("\\* all threads allowed: one query runs on one thread in every index but flat (BLAS), so "
                       "these columns differ from 1t only for flat and numpy.")]
        lines.append("")
        if "exact" in sm:
            e = sm["exact"]
            lines.append(f"- exact flat scan: p50 {e['p50_ms_1t']:.2f} ms vs bandwidth bound "
                         f"{e['bandwidth_bound_ms_1t']:.2f} ms (1 thread) = {e['ratio_to_bound']:.2f}x")
        if "numpy_exact" in sm:
            e = sm["numpy_exact"]
            lines.append(f"- numpy brute force (all threads): p50 {e['p50_ms_all']:.2f} ms vs bound "
                         f"{e['bandwidth_bound_ms_all']:.2f} ms = {e['ratio_to_bound']:.2f}x")
        if "fastest_at_recall_0.95" in sm:
            f = sm["fastest_at_recall_0.95"]
            lines.append(f"- fastest at recall@{k} >= 0.95: {f['label']} {json.dumps(f['search'])}: "
                         f"{f['p50_ms_1t']:.3f} ms, recall {f['recall@k']:.4f}, "
                         f"{_fmt(f['speedup_vs_exact'], 1)}x faster than exact")
        a = sm["auto"]
        lines.append(f"- auto choice (choose_index_spec(n, 0.95)): {json.dumps(a['spec'])}"
                     + (f": recall {a['recall@k']:.4f}, p50 {a['p50_ms_1t']:.3f} ms" if a["measured"] else ""))
        paired = sm.get("paired_exact_vs_auto") or {}
        for t in paired.get("timings", ()):
            label = paired["label"]
            how = ("query by query, caches cold" if t["block"] == 1
                   else f"in blocks of {t['block']} queries, caches warm")
            lines.append(f"- exact vs auto choice timed side by side ({t['queries']} queries, one thread, {how}): "
                         f"flat p50 {t['p50_ms'][t['reference']]:.3f} ms, {label} p50 {t['p50_ms'][label]:.3f} ms, "
                         f"median per-query speedup {t['median_speedup'][label]:.1f}x")
        if sm.get("bytes_per_vector_vs_flat"):
            lines.append("- bytes per vector vs flat: " + ", ".join(
                f"{lbl} {v:.3f}" for lbl, v in sm["bytes_per_vector_vs_flat"].items()))
    peers = report.get("peers", {})
    if "bm25_scifact" in peers:
        b = peers["bm25_scifact"]
        lines += ["", "## BM25 on SciFact (this engine vs rank_bm25)", "",
                  (f"{b['num_docs']} docs, {b['num_queries']} queries: {b['ours_query_ms']:.3f} ms vs "
                   f"{b['rank_bm25_query_ms']:.3f} ms per query ({b['speedup']:.1f}x), top-10 agreement "
                   f"{b['top10_agreement']:.3f}, build {b['ours_build_s']:.2f} s vs {b['rank_bm25_build_s']:.2f} s")]
    if "encoders" in peers:
        e = peers["encoders"]
        r = e["passages_per_s"]
        lines += ["", "## Passage embedding throughput", "",
                  (f"{e['texts']} SciFact passages (<= 100 words, mean {e['mean_words']:.0f} words), every encoder on "
                   f"every slice of {e['slice_size']} in rotating order, {e['repeats']} rounds; threads: torch "
                   f"{e['threads']['torch']}, ONNX Runtime {e['threads']['onnxruntime']}."), "",
                  "| encoder | passages/s | setup s |", "|---|---|---|",
                  (f"| sentence-transformers, batch 32 (its default; sorts by length) | "
                   f"{_fmt(r['sentence_transformers'], 1)} | - |"),
                  (f"| sentence-transformers, batches of 64 by length (previous Engine.build) | "
                   f"{_fmt(r['sentence_transformers_engine'], 1)} | "
                   f"{_fmt(e['setup_s']['sentence_transformers_engine'], 1)} |"),
                  (f"| ONNX query model, batches of 64 by length | {_fmt(r['onnx_query'], 1)} | "
                   f"{_fmt(e['setup_s']['onnx_query'], 1)} |"),
                  (f"| ONNX build encoder: fused graph, ORT_ENABLE_ALL, {e['onnx_build']['token_budget']}-token "
                   f"batches (Engine.build) | {_fmt(r['onnx_build'], 1)} | {_fmt(e['setup_s']['onnx_build'], 1)} |"),
                  "",
                  (f"Build encoder over the faster sentence-transformers setting: **{e['speedup']:.2f}x** "
                   f"({e['speedup_vs_st_default']:.2f}x over batch 32); cosine to sentence-transformers min "
                   f"{e['min_cosine']:.7f}, mean {e['mean_cosine']:.7f} (query model: {e['speedup_query_graph']:.2f}x, "
                   f"min {e['min_cosine_query_graph']:.7f}). Fused: {json.dumps(e['onnx_build']['fused_ops'])}.")]
    if report.get("e2e_hybrid"):
        lines += _e2e_lines(report["e2e_hybrid"])
    lines += ["", "## Targets", "", "```json", json.dumps(report.get("targets", {}), indent=1), "```",
              "", "## Stage timings (s)", ""]
    lines += [f"- {name}: {sec:.1f}" for name, sec in report.get("stages_s", {}).items()]
    Path(path).write_text("\n".join(lines) + "\n")


def _curve_key(label: str) -> str:
    """A row's label without its size-dependent list count, so one setting keeps its colour across sizes."""
    return re.sub(r" nlist=\d+", "", label)


def write_png(report: dict[str, Any], path: Path) -> None:
    """Recall@k against single-query p50 latency (one thread, log scale): one panel per size, a curve per index."""
    from matplotlib import colormaps
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    sizes = report["sizes"]
    fig = Figure(figsize=(6 * max(len(sizes), 1), 4.8))
    FigureCanvasAgg(fig)
    k = report["config"]["k"]
    colours = colormaps["tab20"]
    # one colour per index setting in every panel: "ivf-sq8 nlist=512 rerank=2" and "... nlist=2048 ..." are the same
    # curve at two sizes
    kinds = list(dict.fromkeys(_curve_key(r["label"]) for s in sizes for r in s["rows"]))
    for i, s in enumerate(sizes):
        ax = fig.add_subplot(1, len(sizes), i + 1)
        curves: dict[str, list[tuple[float, float]]] = {}
        for r in s["rows"]:
            if math.isfinite(r["p50_ms_1t"]):
                curves.setdefault(r["label"], []).append((r["p50_ms_1t"], r["recall@k"]))
        for label, pts in curves.items():
            pts.sort()
            peer = label.startswith(PEERS)
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="s" if peer else "o", markersize=3,
                    linestyle="--" if peer else "-", color=colours(kinds.index(_curve_key(label)) % 20), label=label)
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("single-query p50 latency, 1 thread (ms)")
        ax.set_ylabel(f"recall@{k}")
        ax.set_title(f"{s['n']:,} vectors ({s['synthetic']:,} synthetic)")
        ax.axhline(0.95, color="grey", linewidth=0.6, linestyle=":")
        ax.grid(True, which="both", linewidth=0.3)
        ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(str(path), dpi=110)
