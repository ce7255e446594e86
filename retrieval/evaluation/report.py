"""Evaluation output: rich tables, a JSON report and a PNG chart of the main figures."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable

__all__ = ["print_report", "save_json", "save_png"]


def _fmt(x: Any, pct: bool = False) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{100 * x:.1f}" if pct else f"{x:.3f}"
    return str(x)


def print_report(report: dict[str, Any], console: Any) -> None:
    """The tables; a value too wide for its column wraps rather than being cut ("75.…"), and output that goes to
    a file or a pipe (a CI log) is laid out 200 columns wide rather than 80."""
    from rich.table import Table

    if not console.is_terminal:
        console.width = max(console.width, 200)

    ret = report.get("retrieval", {})
    if ret:
        cols = [c for c in ("answer_recall@1", "answer_recall@5", "answer_recall@20", "mrr@10", "doc_hit@5", "doc_recall@5",
                            "ndcg@10", "recall@100")
                if any(c in m for m in ret.values())]
        t = Table(title=f"Retrieval: {report['dataset']} ({report['questions']} questions)")
        t.add_column("method", overflow="fold")
        for c in cols:
            t.add_column(c, justify="right", overflow="fold")
        t.add_column("ms a question (stages, batches of 64)", justify="right", overflow="fold")
        for method, m in ret.items():
            lat = " + ".join(f"{s} {v['p50']:.2f}" for s, v in m["latency_ms"].items())
            t.add_row(method, *[_fmt(m.get(c)) for c in cols], lat)
        console.print(t)
    for ans in report.get("answers", []):
        t = Table(title=f"Answers, {report.get('answerer', '')} ({ans['mode']} {'corpus' if ans['mode'] == 'open' else 'passage'})")
        for c in ("questions", "EM", "F1", "forced EM", "forced F1", "overall EM", "overall F1", "abstain unanswerable",
                  "wrongly abstained", "ECE", "p50 ms (one question)"):
            t.add_column(c, justify="right", overflow="fold")
        ab = ans["abstention"]
        t.add_row(
            str(ans["questions"]), _fmt(ans.get("em")), _fmt(ans.get("f1")), _fmt(ans.get("forced_em")),
            _fmt(ans.get("forced_f1")), _fmt(ans["overall_em"]), _fmt(ans["overall_f1"]),
            f"{ab['abstained_on_unanswerable']}/{ab['unanswerable']}",
            f"{ab['wrongly_abstained_on_answerable']}/{ab['answerable']}",
            _fmt(ans["ece"]), f"{ans['latency_ms']['answer_total']['p50']:.1f}",
        )
        console.print(t)
    console.print(f"wall time {report['wall_seconds']:.1f} s")


def save_json(report: dict[str, Any], path: Path) -> None:
    _write_whole(path, lambda tmp: tmp.write_text(json.dumps(report, indent=1)))


def _write_whole(path: Path, write: Callable[[Path], Any]) -> None:
    """``write`` into a temporary file beside ``path``, then rename it there: the file is written whole or not at
    all, and the temporary is removed when the write fails."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _legend(ax: Any, **kwargs: Any) -> None:
    if ax.get_legend_handles_labels()[0]:  # matplotlib warns about a legend with nothing in it
        ax.legend(**kwargs)


def save_png(report: dict[str, Any], path: Path) -> None:
    """Recall@k per method, answer EM/F1, and the reliability diagram of the confidence."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    answers = report.get("answers", [])
    # retrieval only (BEIR, --answers none): one panel, not two empty ones beside it
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2)) if answers else plt.subplots(1, 1, figsize=(6, 4.2), squeeze=False)
    axes = axes.ravel()
    ax = axes[0]
    for method, m in report.get("retrieval", {}).items():
        ks = sorted(int(c.split("@")[1]) for c in m if c.startswith("answer_recall@"))
        if ks:
            ax.plot(ks, [m[f"answer_recall@{k}"] for k in ks], marker="o", label=method)
        elif "ndcg@10" in m:
            ax.bar(method, m["ndcg@10"], label=method)
    ax.set_title("Answer recall@k (or nDCG@10)")
    ax.set_xscale("log") if any("answer_recall@1" in m for m in report.get("retrieval", {}).values()) else None
    ax.set_ylim(0, 1)
    _legend(ax, fontsize=8)
    if not answers:
        _save_figure(fig, plt, report, path)
        return
    ax = axes[1]
    labels, ems, f1s = [], [], []
    for a in answers:
        labels.append(a["mode"])
        ems.append(a.get("forced_em") or 0.0)
        f1s.append(a.get("forced_f1") or 0.0)
    if labels:
        xs = range(len(labels))
        ax.bar([x - 0.2 for x in xs], ems, width=0.4, label="EM")
        ax.bar([x + 0.2 for x in xs], f1s, width=0.4, label="F1")
        ax.set_xticks(list(xs), labels)
        _legend(ax)
    ax.set_title("Answers (best span, %)")
    ax.set_ylim(0, 100)
    ax = axes[2]
    ax.plot([0, 1], [0, 1], "k--", lw=1)
    for a in answers:
        bins = [b for b in a.get("reliability", []) if b["count"]]
        if bins:
            ax.plot([b["mean_confidence"] for b in bins], [b["accuracy"] for b in bins], marker="o",
                    label=f"{a['mode']} (ECE {a['ece']:.3f})")
    ax.set_title("Reliability: confidence vs accuracy")
    ax.set_xlabel("confidence")
    ax.set_ylabel("fraction correct")
    _legend(ax, fontsize=8)
    _save_figure(fig, plt, report, path)


def _save_figure(fig: Any, plt: Any, report: dict[str, Any], path: Path) -> None:
    fig.suptitle(f"ask-engine eval: {report['dataset']}")
    fig.tight_layout()
    try:
        _write_whole(path, lambda tmp: fig.savefig(tmp, dpi=110, format="png"))
    finally:
        plt.close(fig)
