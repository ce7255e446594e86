"""Average the weights of reader checkpoints that share an ancestor (a "model soup"), export it and measure it.

Checkpoints fine-tuned from one starting point often sit in one basin of the loss, where their average reads as well
as the best of them or better, at no cost at query time (same architecture, same size). The soup is exported the
way ``train_reader.py`` exports (fp32 ONNX, then int8 per-channel dynamic quantisation) and scored the same way
(gold paragraph, 1,500 questions of the held-out half of visible SQuAD v1.1 dev). Usage::

    python eval/soup_reader.py .cache/reader-v4 .cache/reader-v6 --out .cache/reader-soup

Writes ``checkpoint.safetensors``, ``reader-fp32.onnx``, ``reader-int8.onnx``, ``tokenizer.json`` and
``soup_log.json`` (inputs with their SHA-256, weights, results) under ``--out``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "eval"))


def _weights_problem(weights: list[float]) -> str | None:
    """What is wrong with averaging weights, if anything (shared by the function and the command line)."""
    return "weights must be >= 0 and not all 0" if any(w < 0 for w in weights) or sum(weights) <= 0 else None


def average_state_dicts(states: list[dict], weights: list[float]) -> dict:
    """The weighted mean of each tensor (weights normalised to sum to 1). All states must have the same keys, shapes
    and dtypes; a tensor that is not floating point (an index buffer) must be equal in all of them and is kept."""
    if not states or len(states) != len(weights):
        raise ValueError("one weight per checkpoint, at least one checkpoint")
    if problem := _weights_problem(weights):
        raise ValueError(problem)
    keys = set(states[0])
    for s in states[1:]:
        if set(s) != keys:
            raise ValueError("checkpoints have different parameters")
    total = float(sum(weights))
    out = {}
    for k in states[0]:
        first = states[0][k]
        if any(s[k].shape != first.shape or s[k].dtype != first.dtype for s in states[1:]):
            raise ValueError(f"checkpoints disagree on the shape or dtype of {k}")
        if not first.is_floating_point():
            if any(not s[k].equal(first) for s in states[1:]):
                raise ValueError(f"checkpoints disagree on the integer tensor {k}")
            out[k] = first.clone()
            continue
        acc = sum(s[k].double() * (w / total) for s, w in zip(states, weights))
        out[k] = acc.to(first.dtype).contiguous()
    return out


def _checked_inputs(runs: list[Path], weights: list[float], out: Path) -> list[Path]:
    """The runs' checkpoint files, or a one-line exit saying what is wrong with the command."""
    if len(weights) != len(runs):
        raise SystemExit("--weights needs one number per run")
    if problem := _weights_problem(weights):
        raise SystemExit(f"--{problem}")
    paths = [run / "checkpoint.safetensors" for run in runs]
    missing = [str(p) for p in paths + [run / "tokenizer.json" for run in runs[:1]] if not p.is_file()]
    if missing:
        raise SystemExit(f"not found: {', '.join(missing)}")
    if any(out.resolve() == run.resolve() for run in runs):
        raise SystemExit("--out must not be one of the input runs (it would be overwritten)")
    return paths


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", type=Path, nargs="+", help="training output folders holding checkpoint.safetensors")
    ap.add_argument("--weights", type=float, nargs="+", default=None, help="one per run (default: equal)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--bench-data", type=Path, default=REPO.parent / "shared" / "bench-data")
    ap.add_argument("--eval-limit", type=int, default=1500)
    args = ap.parse_args()
    weights = args.weights or [1.0] * len(args.runs)
    paths = _checked_inputs(args.runs, weights, args.out)

    import torch
    from safetensors.torch import load_file, save_file
    from transformers import AutoModelForQuestionAnswering

    from retrieval.encoders import bundled_model_dir, file_sha256
    from train_reader import evaluate_onnx, export

    t0 = time.time()
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    soup = average_state_dicts([load_file(str(p)) for p in paths], weights)
    model_dir = bundled_model_dir()
    model = AutoModelForQuestionAnswering.from_pretrained(str(model_dir))
    model.load_state_dict(soup)
    save_file(soup, str(args.out / "checkpoint.safetensors"))
    fp32, int8 = export(model, args.out)
    shutil.copyfile(args.runs[0] / "tokenizer.json", args.out / "tokenizer.json")  # as training saved it
    results = {
        "fp32": evaluate_onnx(fp32, args.out / "tokenizer.json", args.bench_data, args.eval_limit),
        "int8": evaluate_onnx(int8, args.out / "tokenizer.json", args.bench_data, args.eval_limit),
        "int8_bytes": int8.stat().st_size,
    }
    log = {"inputs": [{"checkpoint": str(p), "sha256": file_sha256(p), "weight": w} for p, w in zip(paths, weights)],
           "results": results, "seconds": round(time.time() - t0)}
    (args.out / "soup_log.json").write_text(json.dumps(log, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(log, indent=1))


if __name__ == "__main__":
    main()
