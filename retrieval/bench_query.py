"""Query latency: a cold ``ask`` (new process) beside a cold sentence-transformers encode, and warm ``Engine.ask``.

The cold commands run interleaved in one session, so machine noise hits them alike; the ratio is the figure to
compare across machines. A cold ``ask --answerer heuristic`` runs beside them: the difference is what the trained
reader adds to a cold ask (its session load and its read).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from retrieval.machine import machine_info

__all__ = ["cold_and_warm", "encoder_agreement"]

_REFERENCE = (
    "import os; os.environ['HF_HUB_OFFLINE']='1'\n"
    "from sentence_transformers import SentenceTransformer\n"
    "from retrieval.encoders import bundled_model_dir\n"
    "m = SentenceTransformer(str(bundled_model_dir()), device='cpu')\n"
    "m.encode([{q!r}], normalize_embeddings=True)\n"
)


def _time_process(cmd: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    dt = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:3])} failed: {proc.stderr.strip().splitlines()[-1:]}")
    return dt


def cold_and_warm(
    index: Path, corpus: Path, question: str = "where were talks held?", runs: int = 7, warm_runs: int = 200
) -> dict[str, Any]:
    """Median wall time of ``runs`` cold ``ask`` processes and of cold reference encodes; warm p50/p90."""
    import compileall

    import retrieval
    from retrieval.engine import Engine

    # Python caches bytecode after a module's first import; where PYTHONDONTWRITEBYTECODE is set (as in some CI
    # images) it would recompile the package on every run, which no installed tool pays. Cache it once.
    compileall.compile_dir(str(Path(retrieval.__file__).parent), quiet=1)
    env = dict(os.environ)
    # a corpus that is gone is left out: ``ask --index`` alone uses the index as built
    named = ["--corpus", str(corpus)] if corpus.exists() else []
    ask_cmd = [sys.executable, "-m", "retrieval", question, "--quiet", *named, "--index", str(index)]
    heuristic_cmd = [*ask_cmd, "--answerer", "heuristic"]  # the same ask without the reader: its cold cost
    ref_cmd = [sys.executable, "-c", _REFERENCE.format(q=question)]
    _time_process(ask_cmd, env)  # builds if needed, warms the page cache for both
    _time_process(ref_cmd, env)
    ask_t, heuristic_t, ref_t = [], [], []
    for _ in range(runs):
        ask_t.append(_time_process(ask_cmd, env))
        heuristic_t.append(_time_process(heuristic_cmd, env))
        ref_t.append(_time_process(ref_cmd, env))
    engine = Engine.open(index)
    questions = [question, "how many peacekeepers?", "who won the 2022 World Cup?", "when did the ceasefire begin?"]
    for q in questions:
        engine.ask(q)
    warm, stages = [], {}
    for i in range(warm_runs):
        t0 = time.perf_counter()
        ans = engine.ask(questions[i % len(questions)])
        warm.append((time.perf_counter() - t0) * 1e3)
        for key, v in ans.timings.items():
            stages.setdefault(key, []).append(v)
    warm.sort()
    cold_ask, cold_ref = statistics.median(ask_t), statistics.median(ref_t)
    cold_heuristic = statistics.median(heuristic_t)
    return {
        "cold_ask_median_s": round(cold_ask, 3),
        "cold_ask_heuristic_median_s": round(cold_heuristic, 3),
        "reader_cold_cost_s": round(cold_ask - cold_heuristic, 3),
        "cold_reference_st_encode_median_s": round(cold_ref, 3),
        "ratio_reference_over_ask": round(cold_ref / cold_ask, 2),
        "cold_runs": runs,
        "warm_ask_p50_ms": round(warm[len(warm) // 2], 2),
        "warm_ask_p90_ms": round(warm[int(len(warm) * 0.9)], 2),
        "warm_stage_p50_ms": {k: round(statistics.median(v), 2) for k, v in stages.items()},
        "warm_runs": warm_runs,
        "machine": machine_info(),
    }


def encoder_agreement(index: Path, corpus_texts: list[str]) -> dict[str, Any]:
    """Cosine between the ONNX query encoder and sentence-transformers on the same texts (min, mean)."""
    import numpy as np

    from retrieval.encoders import OnnxEncoder, SentenceTransformerEncoder

    onnx = OnnxEncoder(index / "encoder.onnx", index / "tokenizer.json").encode(corpus_texts)
    st = SentenceTransformerEncoder().encode(corpus_texts)
    cos = (onnx * st).sum(1)
    return {"texts": len(corpus_texts), "min_cosine": float(cos.min()), "mean_cosine": float(np.mean(cos))}
