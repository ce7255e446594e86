"""Reader time by passages read: the shipped int8 reader over the top fused passages of the seeds questions.

    python eval/reader_timing.py [--index index/<seeds index>]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main() -> None:
    from retrieval import Engine
    from retrieval.reader import SpanReader, bundled_reader_paths

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index", type=Path, default=None, help="a built seeds index (default: build one in .cache)")
    args = ap.parse_args()
    engine = Engine.open(args.index) if args.index else Engine.build(REPO / "seeds", REPO / ".cache" / "timing-seeds")
    reader = SpanReader(*bundled_reader_paths())
    gold = (REPO / "eval" / "seeds_gold.jsonl").read_text(encoding="utf-8").splitlines()
    questions = [json.loads(line)["question"] for line in gold if line.strip()]
    hits = {q: engine.search(q, k=10) for q in questions}
    for q in questions[:5]:  # warm-up
        reader.read(q, [h.passage.text for h in hits[q][:6]])
    for depth in (3, 4, 5, 6, 8):
        ms = []
        for q in questions:
            t0 = time.perf_counter()
            reader.read(q, [h.passage.text for h in hits[q][:depth]], top_n=20)
            ms.append(1e3 * (time.perf_counter() - t0))
        print(f"{depth} passages: p50 {np.median(ms):.1f} ms, p90 {np.percentile(ms, 90):.1f} ms")


if __name__ == "__main__":
    main()
