from __future__ import annotations

import io
import json
import warnings
from pathlib import Path

import pytest
from rich.console import Console

from retrieval.evaluation import report as report_module
from retrieval.evaluation.report import print_report, save_json, save_png

RETRIEVAL_ONLY = {
    "dataset": "tiny-beir", "questions": 3, "wall_seconds": 1.0, "answers": [],
    "retrieval": {"bm25": {"ndcg@10": 0.9051234, "recall@100": 0.875,
                           "latency_ms": {"bm25": {"p50": 0.12}}}},
}
WITH_ANSWERS = {
    **RETRIEVAL_ONLY,
    "answerer": "reader",
    "answers": [{
        "mode": "open", "questions": 104, "em": 71.428571, "f1": 74.0921, "forced_em": 73.8095, "forced_f1": 79.1329,
        "overall_em": 70.0, "overall_f1": 72.237, "ece": 0.0843,
        "abstention": {"abstained_on_unanswerable": 10, "unanswerable": 16, "wrongly_abstained_on_answerable": 10,
                       "answerable": 84},
        "latency_ms": {"answer_total": {"p50": 74.3}},
        "reliability": [{"count": 5, "mean_confidence": 0.6, "accuracy": 0.8}],
    }],
}


def test_tables_written_to_a_file_keep_every_figure_whole() -> None:
    """Piped into a CI log (80 columns, not a terminal) the tables used to read "71.…" and "que…"."""
    out = io.StringIO()
    print_report(WITH_ANSWERS, Console(file=out, width=80, force_terminal=False))
    text = out.getvalue()
    assert "…" not in text
    for figure in ("71.429", "79.133", "10/16", "10/84", "0.084", "0.905", "questions", "forced F1"):
        assert figure in text


def test_a_retrieval_only_chart_has_one_panel_and_no_legend_warning(tmp_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "No artists with labels found to put in legend"
        save_png(RETRIEVAL_ONLY, tmp_path / "beir.png")
        save_png(WITH_ANSWERS, tmp_path / "both.png")
    assert (tmp_path / "beir.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["beir.png", "both.png"]  # no temporary left


def test_a_failed_report_write_leaves_nothing_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "report.json"
    target.write_text('{"old": true}', encoding="utf-8")

    def refuse(*_args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(report_module.os, "replace", refuse)
    with pytest.raises(OSError, match="disk full"):
        save_json(WITH_ANSWERS, target)
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]
    assert json.loads(target.read_text(encoding="utf-8")) == {"old": True}  # the old report is intact
