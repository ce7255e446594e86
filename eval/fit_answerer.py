"""Fit the answerer's weights, its confidence curve and its abstention threshold on visible data.

1. Candidate scorer: logistic regression over ``retrieval.answer.FEATURE_NAMES``. Data: open-corpus retrieval over
   a deterministic subset of SQuAD v1.1 TRAIN articles (every ``--stride``-th article); a candidate is positive when
   its normalised text equals a gold answer.
2. Confidence: a logistic curve over (logit of the pooled answer probability, keyword coverage of its sentence),
   fitted so that the shown confidence is the probability that the answer is right (F1 >= 0.5).
3. Threshold: the confidence below which the engine abstains: the highest one that keeps ``--keep-f1`` (90%) of
   the answerable questions' F1 (``threshold_for``), so that abstaining costs answerable questions little.
   Steps 2-3 use the 'calibration' half of the visible SQuAD v2.0 articles (see ``article_half``); the other half is
   kept apart for reporting.

The reader stage (``--stage reader``) fits its own curve and threshold the same way on the 'calibration' part, then
the prior shift (``minimax_prior_shift``): the shown confidence is the fitted one moved on the logit scale, and the
threshold with it (``threshold`` in the reader settings is on the shown scale; the meta's ``fitted_*`` thresholds are
before the shift).

Writes ``retrieval/data/answerer.json``. Usage::

    python eval/fit_answerer.py [--bench-data ../shared/bench-data] [--stride 10] [--max-questions 4000]
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import random
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from retrieval.answer import FEATURE_NAMES, AnswerModel, collect_candidates, select_answer  # noqa: E402
from retrieval.engine import Engine  # noqa: E402
from retrieval.evaluation.datasets import (  # noqa: E402
    EvalDataset,
    article_half,
    load_dataset,
    subset_by_articles,
)
from retrieval.evaluation.metrics import expected_calibration_error, f1, normalize_answer  # noqa: E402
from retrieval.evaluation.runner import index_for_dataset  # noqa: E402
from retrieval.question import analyze_question  # noqa: E402
from retrieval.reader_answer import ReaderSettings, best_dense_cosine, best_keyword_coverage  # noqa: E402
from retrieval.values import shift_probability  # noqa: E402

SEED = 13


def fit_logistic(
    x: np.ndarray, y: np.ndarray, l2: float = 1e-2, iters: int = 50, sample_weight: np.ndarray | None = None
) -> tuple[np.ndarray, float]:
    """L2-regularised logistic regression by Newton's method (IRLS), optionally weighted; returns (weights, bias)."""
    xb = np.hstack([x, np.ones((len(x), 1))])
    sw = np.ones(len(x)) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    w = np.zeros(xb.shape[1])
    reg = l2 * np.eye(xb.shape[1])
    reg[-1, -1] = 0.0
    for _ in range(iters):
        p = 1.0 / (1.0 + np.exp(-np.clip(xb @ w, -50, 50)))
        grad = xb.T @ (sw * (p - y)) + reg @ w
        hess = (xb * (sw * p * (1 - p))[:, None]).T @ xb + reg
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w[:-1], float(w[-1])


def _engine_for(ds: EvalDataset, source: Path) -> Engine:
    from rich.progress import Progress

    with Progress() as bar:
        def factory(label: str, total: int):  # noqa: ANN202
            task = bar.add_task(label, total=max(total, 1))
            return lambda n: bar.advance(task, n)

        return index_for_dataset(ds, source, progress=factory)


def candidate_rows(engine: Engine, ds: EvalDataset, max_questions: int, k: int) -> tuple[np.ndarray, np.ndarray, dict]:
    rng = random.Random(SEED)
    questions = [q for q in ds.questions if q.answerable]
    rng.shuffle(questions)
    questions = questions[:max_questions]
    xs, ys = [], []
    found = 0
    vectors = engine.encode([q.question for q in questions])
    for q, qv in zip(questions, vectors):
        hits = engine.search_batch([q.question], k, query_vectors=qv[None, :])[0]
        _analysis, rows = collect_candidates(q.question, hits, engine.sentence_cosines(qv, hits), engine.idf, engine.tokenizer, engine.idf_scale)
        golds = {normalize_answer(a) for a in q.answers}
        labels = [1.0 if normalize_answer(r[1]) in golds else 0.0 for r in rows]
        found += any(labels)
        xs.extend(r[0] for r in rows)
        ys.extend(labels)
    stats = {"questions": len(questions), "with_gold_candidate": found, "rows": len(ys), "positives": int(sum(ys))}
    return np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64), stats


def calibration_rows(engine: Engine, ds: EvalDataset, k: int) -> list[tuple[float, float, float, bool]]:
    """(pooled prob, coverage, F1 of the best answer, answerable) per question."""
    out = []
    vectors = engine.encode([q.question for q in ds.questions])
    for q, qv in zip(ds.questions, vectors):
        hits = engine.search_batch([q.question], k, query_vectors=qv[None, :])[0]
        _a, rows = collect_candidates(q.question, hits, engine.sentence_cosines(qv, hits), engine.idf, engine.tokenizer, engine.idf_scale)
        values = select_answer(rows, engine.answer_model)
        if not values:
            out.append((1e-6, 0.0, 0.0, q.answerable))
            continue
        best = values[0]
        out.append((best.prob, best.coverage, f1(best.text, q.answers) if q.answerable else 0.0, q.answerable))
    return out


def threshold_for(conf: np.ndarray, f1s: np.ndarray, answerable: np.ndarray, keep_f1: float) -> dict:
    """Highest threshold keeping ``keep_f1`` of the answerable F1, and the F1-maximising one beside it."""
    answerable_f1 = max(float(f1s[answerable].sum()), 1e-9)
    best_t, best_score, f1max_t, f1max_score = 0.0, -1.0, 0.0, -1.0
    for t in np.linspace(0.0, 1.0, 201):
        answer_it = conf >= t
        score = float(np.where(answerable, np.where(answer_it, f1s, 0.0), np.where(answer_it, 0.0, 1.0)).mean())
        if score > f1max_score + 1e-12:
            f1max_t, f1max_score = float(t), score
        if np.where(answerable & answer_it, f1s, 0.0).sum() / answerable_f1 >= keep_f1:
            best_t, best_score = float(t), score
    answer_it = conf >= best_t
    return {
        "threshold": best_t, "v2_overall_f1": round(100 * best_score, 2),
        "abstain_unanswerable": round(float((~answer_it & ~answerable).sum() / max((~answerable).sum(), 1)), 4),
        "kept_answerable_f1": round(float(np.where(answerable & answer_it, f1s, 0.0).sum() / answerable_f1), 4),
        "f1_maximising_threshold": f1max_t, "f1_maximising_v2_overall_f1": round(100 * f1max_score, 2),
    }


def prior_weights(answerable: np.ndarray, unanswerable_share: float | None) -> np.ndarray | None:
    """Sample weights that make unanswerable questions ``unanswerable_share`` of the calibration data.

    Half of SQuAD v2.0's questions have no answer in their paragraph, and they were written to look answerable; a
    confidence fitted at that rate says "0.4" where the answer is right far more often than that in a collection
    people actually ask (the seeds gold set: 16% unanswerable; SQuAD v1.1: none). The share is a stated assumption
    about the questions asked, not fitted; None keeps the data's own rate.
    """
    if unanswerable_share is None:
        return None
    n_ans, n_un = int(answerable.sum()), int((~answerable).sum())
    if not 0.0 < unanswerable_share < 1.0 or n_ans == 0 or n_un == 0:
        raise ValueError("unanswerable share must be in (0, 1), with both kinds of question present")
    w_un = unanswerable_share / (1.0 - unanswerable_share) * n_ans / n_un
    return np.where(answerable, 1.0, w_un)


PRIOR_SHIFT_GRID = np.round(np.arange(-3.0, 3.0001, 0.05), 2)


def minimax_prior_shift(
    conf: np.ndarray, correct: np.ndarray, answerable: np.ndarray, grid: np.ndarray | None = None,
) -> tuple[float, dict]:
    """The logit shift that makes the confidence as well calibrated where no question lacks an answer as on the
    calibration mix (about half do): argmin over ``grid`` of the larger of the two expected calibration errors.

    Monotone, so it changes no decision once the threshold moves with it. Nobody knows how often a user's corpus
    does not say; the two ends bound the shares between them (ECE moves with the share about linearly).
    """
    grid = PRIOR_SHIFT_GRID if grid is None else grid
    logits = np.log(np.clip(conf, 1e-6, 1 - 1e-6) / np.clip(1 - conf, 1e-6, 1.0))

    def eces(shift: float) -> tuple[float, float]:  # (over all questions, over the answerable ones)
        shown = 1.0 / (1.0 + np.exp(-(logits + shift)))
        return (expected_calibration_error(shown.tolist(), correct.tolist()),
                expected_calibration_error(shown[answerable].tolist(), correct[answerable].tolist()))

    by_shift = {float(shift): eces(shift) for shift in grid.tolist()}
    best = min(by_shift, key=lambda shift: max(by_shift[shift]))  # the first of equals, in grid order
    if best in (float(grid.min()), float(grid.max())):
        print(f"  warning: the prior shift {best} is at the edge of its grid")
    mix, ans = by_shift[best]
    at_zero = by_shift.get(0.0) or eces(0.0)
    return best, {"prior_shift": best, "ece_mix": round(mix, 4), "ece_answerable": round(ans, 4),
                  "unshifted": {"ece_mix": round(at_zero[0], 4), "ece_answerable": round(at_zero[1], 4)}}


def _reader_calibration(args: argparse.Namespace) -> tuple[EvalDataset, Engine]:
    """The 'calibration' articles of visible SQuAD v2.0 (never trained on by the reader) and their engine."""
    from retrieval.evaluation.datasets import article_part

    v2_path = args.bench_data / "squad" / "dev-v2.0.visible.json"
    calib = subset_by_articles(load_dataset(v2_path), lambda t: article_part(t) == "calibration", "squad-v2-calibration-part")
    return calib, _engine_for(calib, v2_path)


def reader_stage(args: argparse.Namespace, kept: ReaderSettings | None = None) -> dict:
    """Fit ReaderSettings on the 'calibration' articles of visible SQuAD v2.0 (never trained on by the reader).
    ``kept``: ReaderSettings whose answer selection stays (``--keep-selection``); only the confidence is refitted."""
    from retrieval.reader import SpanReader
    from retrieval.reader_answer import (
        READER_CONFIDENCE_FEATURES, ReaderSettings, confidence_features, reader_rows, select_reader_answer,
    )
    from retrieval.subject import asked_subject
    from retrieval.values import ScoredValue

    calib, engine = _reader_calibration(args)
    reader = SpanReader(args.reader_dir / "reader-int8.onnx", args.reader_dir / "tokenizer.json")
    questions = calib.questions
    print(f"reader calibration: {len(questions)} questions over {len(calib.documents or [])} paragraphs")
    vectors = engine.encode([q.question for q in questions])
    depths = sorted({3, 4, 5, 6, args.reader_passages})
    best_cos: list[float] = []  # the confidence's best_cosine, over all k hits as in Engine.answer_from_hits
    read_once = []  # every question read once over the deepest passage list; shallower lists are its prefixes
    t0 = time.time()
    for q, qv in zip(questions, vectors):
        all_hits = engine.search_batch([q.question], args.k, query_vectors=qv[None, :])[0]
        hits = all_hits[: max(depths)]
        best_cos.append(best_dense_cosine(all_hits))
        # as Engine._reader_values: "who is <name>?" is read with the name's fullest form, spans naming no one
        subject = asked_subject(q.question, hits[: args.reader_passages])
        read_question = subject.question if subject is not None else q.question
        read_once.append((hits, reader.read(read_question, [h.passage.text for h in hits], top_n=200),
                          engine.sentence_cosines(qv, hits), read_question, subject))
    print(f"  read {len(questions)} questions over {max(depths)} passages in {time.time() - t0:.0f}s")
    answerable = np.asarray([q.answerable for q in questions])

    def rows_at(depth: int) -> list:
        return [reader_rows(read_question, hits[:depth], [sp for sp in spans if sp.context_index < depth][:20],
                            engine.idf, engine.tokenizer, cosines[:depth], subject=subject)
                for hits, spans, cosines, read_question, subject in read_once]

    for depth in depths:  # information: forced F1 by passages read (reader time grows with it)
        rows = rows_at(depth)
        f1s_at = [f1(v[0].text, q.answers) if (v := select_reader_answer(r, ReaderSettings(depth, 2.0, 2.0))) else 0.0
                  for q, r in zip(questions, rows) if q.answerable]
        print(f"  passages {depth}: forced F1 {100 * float(np.mean(f1s_at)):.1f} (T 2, w 2)")
    per_q = rows_at(args.reader_passages)

    def score(settings: ReaderSettings) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        probs, feats, f1s = [], [], []
        for q, rows, cos in zip(questions, per_q, best_cos):
            values = select_reader_answer(rows, settings)
            best = values[0] if values else ScoredValue("", "", 1e-6)
            probs.append(best.prob)
            feats.append(confidence_features(best, cos))
            f1s.append(f1(best.text, q.answers) if (values and q.answerable) else 0.0)
        return np.asarray(probs), np.stack(feats), np.asarray(f1s)

    best = None
    by_pool: dict[tuple[bool, float], tuple[float, float]] = {}
    by_sentence: dict[float, tuple[float, float]] = {}
    grid = [(t, w, pool, typed, sw)
            for t, w, pool, sw in itertools.product((0.5, 1.0, 2.0, 4.0), (0.0, 1.0, 2.0, 4.0, 8.0), (False, True),
                                                   (0.0, 2.0, 4.0, 8.0, 16.0, 32.0))
            for typed in ((1.0, 0.5, 0.25, 0.1) if pool else (1.0,))]
    if kept is not None:  # refit the confidence alone, over the answers the kept settings choose
        grid = [(kept.temperature, kept.retrieval_weight, kept.pool_overlapping, kept.untyped_reading_weight,
                 kept.sentence_weight)]
    for temperature, weight, pool, typed, sentence_weight in grid:
        settings = ReaderSettings(args.reader_passages, temperature, weight, pool_overlapping=pool,
                                  untyped_reading_weight=typed, sentence_weight=sentence_weight)
        probs, feats, f1s = score(settings)
        forced = float(f1s[answerable].mean())
        # prefer the setting whose pooled probability also separates answerable from unanswerable
        order = np.argsort(-probs)
        ranked = answerable[order].astype(float)
        auc_like = float(np.mean(np.cumsum(ranked) / np.arange(1, len(ranked) + 1)))
        key = forced + 0.25 * auc_like
        by_pool[pool, typed] = max(by_pool.get((pool, typed), (0.0, 0.0)), (forced, auc_like))
        by_sentence[sentence_weight] = max(by_sentence.get(sentence_weight, (0.0, 0.0)), (forced, auc_like))
        if best is None or key > best[0]:
            best = (key, settings, feats, f1s, forced, auc_like)
    _key, settings, feats, f1s, forced, auc_like = best
    for (pool, typed), (f, a) in by_pool.items():
        print(f"  pool overlapping spans {pool}, untyped reading weight {typed}: best forced F1 {100 * f:.2f} "
              f"(precision-at-rank {a:.3f})")
    for sentence_weight, (f, a) in by_sentence.items():
        print(f"  sentence weight {sentence_weight}: best forced F1 {100 * f:.2f} (precision-at-rank {a:.3f})")
    print(f"  temperature {settings.temperature}, retrieval weight {settings.retrieval_weight}, "
          f"pool overlapping spans {settings.pool_overlapping}, sentence weight {settings.sentence_weight}, "
          f"untyped reading weight {settings.untyped_reading_weight}: "
          f"forced F1 {100 * forced:.1f}, answerable precision-at-rank {auc_like:.3f}")
    correct = (f1s >= 0.5).astype(np.float64)
    weights = prior_weights(answerable, args.unanswerable_share)
    for k in range(1, feats.shape[1] + 1):  # information: what each added feature is worth
        cw, cb = fit_logistic(feats[:, :k], correct, l2=1e-3, sample_weight=weights)
        conf = 1.0 / (1.0 + np.exp(-(feats[:, :k] @ cw + cb)))
        print(f"  confidence on {READER_CONFIDENCE_FEATURES[:k]}: "
              f"abstains on {threshold_for(conf, f1s, answerable, args.keep_f1)['abstain_unanswerable']:.3f}")
    op = threshold_for(conf, f1s, answerable, args.keep_f1)
    print(f"  confidence {cw.tolist()} + {cb:.3f}; {op}")
    if args.prior_shift == "minimax":
        shift, shift_meta = minimax_prior_shift(conf, correct, answerable)
    else:
        shift, shift_meta = args.prior_shift, {"prior_shift": args.prior_shift}
    shown_threshold = shift_probability(op["threshold"], shift)
    print(f"  prior shift: {shift_meta}; threshold {op['threshold']} -> {shown_threshold:.4f} shown")
    gate = offtopic_gate(engine, questions, args)
    fitted = ReaderSettings(args.reader_passages, settings.temperature, settings.retrieval_weight,
                            (*(float(c) for c in cw), float(cb)), shown_threshold, settings.pool_overlapping,
                            settings.untyped_reading_weight, settings.sentence_weight, gate["min_question_cosine"],
                            shift, gate["min_question_coverage"])
    return {"settings": fitted,
            "meta": {"questions": len(questions), "forced_f1": round(100 * forced, 2),
                     **{(f"fitted_{k}" if "threshold" in k else k): v for k, v in op.items()},
                     "shown_threshold": shown_threshold, "unanswerable_share": args.unanswerable_share,
                     "offtopic_gate": gate, "calibration": shift_meta}}


def gate_levels(on_topic: np.ndarray, off_topic: np.ndarray) -> dict:
    """The off-topic gate's two levels from (best dense cosine, ``best_keyword_coverage``) rows: the cosine below
    which 1% of the on-topic questions fall, and the coverage above which at most 1% of the off-topic questions that
    the cosine stops get through (the exception); with what each keeps and stops."""
    gate = float(np.quantile(on_topic[:, 0], 0.01))
    below = off_topic[off_topic[:, 0] < gate, 1]
    # the lowest observed level that at most 1% exceed, rounded up so that the stored value lets no more through
    coverage = min(math.ceil(float(np.quantile(below, 0.99, method="higher")) * 1e4) / 1e4, 1.0) if len(below) else 1.0

    def stopped(x: np.ndarray) -> np.ndarray:
        return (x[:, 0] < gate) & (x[:, 1] <= coverage)

    return {"min_question_cosine": round(gate, 4), "min_question_coverage": coverage,
            "answerable_kept": round(float(1 - stopped(on_topic).mean()), 4),
            "answerable_kept_by_cosine": round(float((on_topic[:, 0] >= gate).mean()), 4),
            "off_topic_stopped": round(float(stopped(off_topic).mean()), 4),
            "off_topic_stopped_by_cosine": round(float((off_topic[:, 0] < gate).mean()), 4),
            "off_topic_questions": len(off_topic)}


def offtopic_gate(engine: Engine, questions: list, args: argparse.Namespace) -> dict:
    """``gate_levels`` over the answerable calibration questions and questions about other subjects (SQuAD v1.1
    train questions, asked of the calibration articles). Neither kind of question is one the engine is evaluated
    on."""
    def features(texts: list[str]) -> np.ndarray:
        out = []
        for text, qv in zip(texts, engine.encode(texts)):
            hits = engine.search_batch([text], args.k, query_vectors=qv[None, :])[0]
            keywords = analyze_question(text, engine.tokenizer).keywords
            out.append((best_dense_cosine(hits), best_keyword_coverage(keywords, hits, engine.idf, engine.tokenizer,
                                                                      engine.idf_scale)))
        return np.asarray(out).reshape(-1, 2)

    train = json.loads((args.bench_data / "squad" / "train-v1.1.json").read_text(encoding="utf-8"))
    rng = random.Random(SEED)
    other = [qa["question"] for art in train["data"] for p in art["paragraphs"] for qa in p["qas"]]
    out = gate_levels(features([q.question for q in questions if q.answerable]), features(rng.sample(other, 1000)))
    print(f"  off-topic gate: {out}")
    return out


SHIPPED_ANSWERER = REPO / "retrieval" / "data" / "answerer.json"


def _prior_shift_arg(text: str) -> str | float:
    """``--prior-shift``: 'minimax' or a finite number."""
    if text == "minimax":
        return text
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError("must be 'minimax' or a finite number")
    return value


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bench-data", type=Path, default=REPO.parent / "shared" / "bench-data")
    ap.add_argument("--stride", type=int, default=10, help="use every N-th SQuAD train article")
    ap.add_argument("--max-questions", type=int, default=4000)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--keep-f1", type=float, default=0.9, help="share of answerable F1 the threshold must keep")
    ap.add_argument("--out", type=Path, default=SHIPPED_ANSWERER)
    ap.add_argument("--stage", choices=("heuristic", "reader", "gate", "all"), default="all",
                    help="gate: only refit the reader's off-topic gate (part of the reader stage)")
    ap.add_argument("--reader-dir", type=Path, default=REPO / ".cache" / "reader")
    ap.add_argument("--reader-passages", type=int, default=5)
    ap.add_argument("--keep-selection", action="store_true",
                    help="--stage reader: keep the current answer-selection settings (temperature, weights, pooling) "
                         "and refit only the confidence curve, its threshold, the prior shift and the gate")
    ap.add_argument("--unanswerable-share", type=float, default=None,
                    help="fit the reader's confidence as if this share of questions had no answer (default: the "
                         "calibration data's own, about half)")
    ap.add_argument("--prior-shift", default="minimax", type=_prior_shift_arg,
                    help="logit shift of the shown confidence: 'minimax' (fitted, see minimax_prior_shift) or a "
                         "number (0: calibrated at the calibration data's own share)")
    args = ap.parse_args()
    if args.unanswerable_share is not None and args.prior_shift == "minimax":
        ap.error("--unanswerable-share already sets the prior the curve is fitted for: give --prior-shift 0 with it")
    if args.keep_selection and args.stage != "reader":
        ap.error("--keep-selection goes with --stage reader")
    t_start = time.time()
    if args.stage in ("gate", "reader"):  # replace only the reader part of the fitted answerer
        from dataclasses import replace

        # a partial refit keeps the rest of ``--out``; a new file starts from the shipped one
        start_from = args.out if args.out.is_file() else SHIPPED_ANSWERER
        print(f"refitting the reader part of {start_from} (the rest is kept) into {args.out}")
        current = AnswerModel.load(start_from)
        if args.keep_selection and current.reader is None:
            ap.error(f"--keep-selection: {start_from} has no reader settings to keep")
        if args.stage == "gate":
            calib, engine = _reader_calibration(args)
            gate = offtopic_gate(engine, calib.questions, args)
            reader = replace(current.reader, min_question_cosine=gate["min_question_cosine"],
                             min_question_coverage=gate["min_question_coverage"])
            reader_meta = dict(current.meta.get("reader", {}), offtopic_gate=gate)
        else:
            fit = reader_stage(args, current.reader if args.keep_selection else None)
            reader, reader_meta = fit["settings"], fit["meta"]
        updated = replace(current, meta=dict(current.meta, reader=reader_meta), reader=reader)
        args.out.write_text(json.dumps(updated.to_json(), indent=1) + "\n")
        print(f"wrote {args.out} in {time.time() - t_start:.0f}s")
        return

    train_path = args.bench_data / "squad" / "train-v1.1.json"
    train = load_dataset(train_path)
    titles = list(dict.fromkeys(d.title for d in train.documents or []))
    chosen = set(titles[:: args.stride])
    subset = subset_by_articles(train, lambda t: t in chosen, f"squad-train-every{args.stride}")
    print(f"scorer data: {len(chosen)} train articles, {len(subset.documents or [])} paragraphs, {len(subset.questions)} questions")
    engine = _engine_for(subset, train_path)
    x, y, stats = candidate_rows(engine, subset, args.max_questions, args.k)
    print(f"candidate rows: {stats}")
    mean, std = x.mean(0), x.std(0) + 1e-9
    w_std, b_std = fit_logistic((x - mean) / std, y)
    weights = w_std / std
    bias = b_std - float((w_std * mean / std).sum())
    for name, w in zip(FEATURE_NAMES, weights):
        print(f"  {name:18s} {w:+.3f}")
    print(f"  {'bias':18s} {bias:+.3f}")

    model = AnswerModel(tuple(weights.tolist()), bias, (1.0, 0.0, 0.0), 0.0)
    v2_path = args.bench_data / "squad" / "dev-v2.0.visible.json"
    v2 = load_dataset(v2_path)
    calib = subset_by_articles(v2, lambda t: article_half(t) == "calibration", "squad-v2-calibration")
    print(f"calibration: {len(calib.questions)} questions over {len(calib.documents or [])} paragraphs")
    engine_c = _engine_for(calib, v2_path)
    engine_c.answer_model = model
    rows = calibration_rows(engine_c, calib, args.k)
    p = np.clip(np.asarray([r[0] for r in rows]), 1e-6, 1 - 1e-6)
    cov = np.asarray([r[1] for r in rows])
    f1s = np.asarray([r[2] for r in rows])
    answerable = np.asarray([r[3] for r in rows])
    correct = (f1s >= 0.5).astype(np.float64)
    feats = np.stack([np.log(p / (1 - p)), cov], axis=1)
    cw, cb = fit_logistic(feats, correct, l2=1e-3)
    conf = 1.0 / (1.0 + np.exp(-(feats @ cw + cb)))
    op = threshold_for(conf, f1s, answerable, args.keep_f1)
    print(f"confidence curve: {cw.tolist()} + {cb:.3f}; {op}")

    fitted = AnswerModel(
        tuple(float(w) for w in weights), bias, (float(cw[0]), float(cw[1]), float(cb)), op["threshold"],
        meta={
            "fitted": True,
            "script": "eval/fit_answerer.py",
            "seed": SEED,
            "scorer_data": {"file": "squad/train-v1.1.json", "stride": args.stride, "articles": len(chosen), **stats},
            "calibration_data": {"file": "squad/dev-v2.0.visible.json", "half": "calibration", "questions": len(rows)},
            **op,
            "keep_f1_target": args.keep_f1,
            "k": args.k,
            "seconds": round(time.time() - t_start, 1),
        },
        reader=AnswerModel.load(args.out).reader if args.out.exists() else None,
    )
    if args.stage == "all":
        fit = reader_stage(args)
        fitted = AnswerModel(fitted.weights, fitted.bias, fitted.confidence_coef, fitted.threshold,
                             dict(fitted.meta, reader=fit["meta"]), fit["settings"])
    args.out.write_text(json.dumps(fitted.to_json(), indent=1) + "\n")
    print(f"wrote {args.out} in {time.time() - t_start:.0f}s")
    if not math.isfinite(bias):
        raise SystemExit("fit diverged")


if __name__ == "__main__":
    main()
