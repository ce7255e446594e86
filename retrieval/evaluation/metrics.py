"""Answer, retrieval, latency and calibration metrics.

Answer scoring reproduces the official SQuAD scripts (evaluate-v1.1 / v2.0) so numbers are comparable with
published results; retrieval scoring follows BEIR / pytrec_eval (nDCG@k with linear gain, recall@k) and DPR's ``has_answer`` (a
passage "contains" an answer when the answer's tokens, uncased, occur as a run of the passage's tokens; a
punctuation mark is a token of its own, so "Denver" is in "Denver-based" and "the Who" is not in "who came").
"""

from __future__ import annotations

import math
import re
import string
import unicodedata
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = [
    "normalize_answer",
    "exact_match",
    "f1",
    "answer_scores_unanswerable",
    "contains_answer",
    "real_golds",
    "first_relevant_rank",
    "recall_at_k",
    "mrr_at_k",
    "ndcg_at_k",
    "doc_recall_at_k",
    "percentiles",
    "expected_calibration_error",
    "reliability_bins",
    "abstention_summary",
]

_PUNCT = frozenset(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b")


# --------------------------------------------------------------------------- answers (SQuAD official)


def normalize_answer(s: str) -> str:
    """Lowercase, drop ASCII punctuation, drop the articles a/an/the, collapse whitespace (evaluate-v1.1)."""
    text = s.lower()
    text = "".join(ch for ch in text if ch not in _PUNCT)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def _f1_single(prediction: str, gold: str) -> float:
    """Token-overlap F1 of one pair, exactly as evaluate-v1.1 (0 when nothing overlaps, even if both empty)."""
    pred_tokens = normalize_answer(prediction).split()
    gold_tokens = normalize_answer(gold).split()
    common = Counter(pred_tokens) & Counter(gold_tokens)
    num_same = sum(common.values())
    if num_same == 0:
        return 0.0
    precision = num_same / len(pred_tokens)
    recall = num_same / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def exact_match(prediction: str, golds: Sequence[str]) -> float:
    """1.0 when the normalised prediction equals any normalised gold; 0.0 for no golds (nothing to match)."""
    pred = normalize_answer(prediction)
    return max((float(pred == normalize_answer(g)) for g in golds), default=0.0)


def f1(prediction: str, golds: Sequence[str]) -> float:
    """Best token F1 over the golds (SQuAD v1.1); 0.0 for no golds - use answer_scores_unanswerable for v2."""
    return max((_f1_single(prediction, g) for g in golds), default=0.0)


def _is_abstention(prediction: str | None) -> bool:
    """None, or a string that normalises to nothing (as the v2.0 script compares against the gold '')."""
    return prediction is None or normalize_answer(prediction) == ""


def real_golds(golds: Sequence[str]) -> list[str]:
    """Golds that survive normalisation; the v2.0 script drops the rest, so all-empty means unanswerable."""
    return [g for g in golds if normalize_answer(g)]


def answer_scores_unanswerable(prediction: str | None, golds: Sequence[str]) -> tuple[float, float]:
    """(EM, F1) with the SQuAD v2.0 no-answer convention.

    No (non-empty) golds: the question is unanswerable and abstaining (None, or a prediction that normalises to
    "") scores 1/1, any answer 0/0. With golds: abstaining scores 0/0, otherwise the v1.1 EM/F1.
    """
    real = real_golds(golds)
    abstained = _is_abstention(prediction)
    if not real:
        return (1.0, 1.0) if abstained else (0.0, 0.0)
    if abstained:
        return 0.0, 0.0
    assert prediction is not None
    return exact_match(prediction, real), f1(prediction, real)


_DPR_TOKEN = re.compile(r"[^\W_]+|[^\w\s]", re.UNICODE)


def _dpr_tokens(text: str) -> str:
    """DPR's SimpleTokenizer, uncased (NFD): runs of letters and digits, and each other non-space mark on its own."""
    return " ".join(_DPR_TOKEN.findall(unicodedata.normalize("NFD", text).lower()))


def contains_answer(text: str, golds: Sequence[str]) -> bool:
    """DPR's ``has_answer``: some gold's tokens are a run of the text's tokens ("20" is not in "2020", "Denver" is
    in "Denver-based"); golds without a letter or digit never match."""
    haystack = f" {_dpr_tokens(text)} "
    for gold in golds:
        if not normalize_answer(gold):
            continue
        needle = _dpr_tokens(gold)
        if needle and f" {needle} " in haystack:
            return True
    return False


# --------------------------------------------------------------------------- ranked flags (answer-bearing passages)


def first_relevant_rank(flags: Sequence[bool]) -> int | None:
    """1-based rank of the first true flag, None when there is none."""
    for i, flag in enumerate(flags):
        if flag:
            return i + 1
    return None


def recall_at_k(flags: Sequence[bool], k: int) -> float:
    """1.0 when any of the first k results is relevant (the DPR "top-k accuracy")."""
    rank = first_relevant_rank(flags)
    return 1.0 if rank is not None and rank <= k else 0.0


def mrr_at_k(flags: Sequence[bool], k: int) -> float:
    """Reciprocal rank of the first relevant result, 0.0 when it is below k or absent."""
    rank = first_relevant_rank(flags)
    return 1.0 / rank if rank is not None and rank <= k else 0.0


# --------------------------------------------------------------------------- graded qrels (BEIR)


def _unique(ids: Sequence[str]) -> list[str]:
    """Keep first occurrences: a run is a doc->score map in pytrec_eval, so a doc can rank only once."""
    seen: set[str] = set()
    out: list[str] = []
    for doc in ids:
        if doc not in seen:
            seen.add(doc)
            out.append(doc)
    return out


def ndcg_at_k(ranked_ids: Sequence[str], qrels: Mapping[str, int | float], k: int = 10) -> float:
    """nDCG@k with linear gain rel / log2(rank + 1), as pytrec_eval's ndcg_cut used by BEIR.

    Duplicates are dropped before the cut (later copies neither score nor take a slot); non-positive grades
    give no gain; no relevant documents gives 0.0.
    """
    if k <= 0:
        return 0.0
    ideal = sorted((float(r) for r in qrels.values() if r > 0), reverse=True)[:k]
    if not ideal:
        return 0.0
    idcg = sum(rel / math.log2(i + 2) for i, rel in enumerate(ideal))
    dcg = 0.0
    for i, doc in enumerate(_unique(ranked_ids)[:k]):
        rel = float(qrels.get(doc, 0))
        if rel > 0:
            dcg += rel / math.log2(i + 2)
    return dcg / idcg


def doc_recall_at_k(ranked_ids: Sequence[str], qrels: Mapping[str, int | float], k: int = 100) -> float:
    """Fraction of the relevant (rel > 0) documents found in the top k (BEIR recall@k); 0.0 when none exist."""
    relevant = {doc for doc, rel in qrels.items() if rel > 0}
    if not relevant or k <= 0:
        return 0.0
    found = relevant.intersection(_unique(ranked_ids)[:k])
    return len(found) / len(relevant)


# --------------------------------------------------------------------------- latency


def percentiles(values_ms: Sequence[float], qs: Sequence[float] = (50, 90, 99)) -> dict[str, float]:
    """Latency summary keyed "p50", "p90", ... plus "mean" (numpy linear interpolation); all 0.0 when empty."""
    keys = [f"p{q:g}" for q in qs]
    if len(values_ms) == 0:
        return {**{key: 0.0 for key in keys}, "mean": 0.0}
    arr = np.asarray(values_ms, dtype=np.float64)
    out = {key: float(v) for key, v in zip(keys, np.percentile(arr, list(qs)))}
    out["mean"] = float(arr.mean())
    return out


# --------------------------------------------------------------------------- calibration


def _bin_arrays(
    confidences: Sequence[float], correct: Sequence[bool], n_bins: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validated arrays plus each item's bin: [i/n, (i+1)/n), with 1.0 put in the last bin."""
    if n_bins <= 0:
        raise ValueError("n_bins must be positive")
    conf = np.asarray(confidences, dtype=np.float64).reshape(-1)
    corr = np.asarray(correct, dtype=np.float64).reshape(-1)
    if conf.shape != corr.shape:
        raise ValueError(f"confidences ({conf.size}) and correct ({corr.size}) differ in length")
    if conf.size and (np.isnan(conf).any() or conf.min() < 0.0 or conf.max() > 1.0):
        raise ValueError("confidences must lie in [0, 1]")
    idx = np.minimum(np.floor(conf * n_bins).astype(np.int64), n_bins - 1)
    return conf, corr, idx


def reliability_bins(
    confidences: Sequence[float], correct: Sequence[bool], n_bins: int = 10
) -> list[dict[str, Any]]:
    """Per equal-width bin: lower, upper, count, mean_confidence, accuracy (the last two None when empty)."""
    conf, corr, idx = _bin_arrays(confidences, correct, n_bins)
    bins: list[dict[str, Any]] = []
    for b in range(n_bins):
        mask = idx == b
        count = int(mask.sum())
        bins.append(
            {
                "lower": b / n_bins,
                "upper": (b + 1) / n_bins,
                "count": count,
                "mean_confidence": float(conf[mask].mean()) if count else None,
                "accuracy": float(corr[mask].mean()) if count else None,
            }
        )
    return bins


def expected_calibration_error(
    confidences: Sequence[float], correct: Sequence[bool], n_bins: int = 10
) -> float:
    """Sum over bins of (bin share) * |accuracy - mean confidence|; 0.0 for no items."""
    conf, _, _ = _bin_arrays(confidences, correct, n_bins)
    total = conf.size
    if total == 0:
        return 0.0
    ece = 0.0
    for b in reliability_bins(confidences, correct, n_bins):
        if b["count"]:
            ece += b["count"] / total * abs(b["accuracy"] - b["mean_confidence"])
    return float(ece)


# --------------------------------------------------------------------------- abstention


def abstention_summary(
    predictions: Sequence[str | None], golds: Sequence[Sequence[str]]
) -> dict[str, float | int]:
    """How often the system abstains where it should (no gold) and where it should not (has gold).

    Abstaining and unanswerable use the same rules as answer_scores_unanswerable; rates are 0.0 when their
    denominator is 0.
    """
    if len(predictions) != len(golds):
        raise ValueError(f"predictions ({len(predictions)}) and golds ({len(golds)}) differ in length")
    unanswerable = abstained_ok = answerable = abstained_wrong = 0
    for pred, gold in zip(predictions, golds):
        abstained = _is_abstention(pred)
        if real_golds(gold):
            answerable += 1
            abstained_wrong += int(abstained)
        else:
            unanswerable += 1
            abstained_ok += int(abstained)
    return {
        "unanswerable": unanswerable,
        "abstained_on_unanswerable": abstained_ok,
        "abstained_on_unanswerable_rate": abstained_ok / unanswerable if unanswerable else 0.0,
        "answerable": answerable,
        "wrongly_abstained_on_answerable": abstained_wrong,
        "wrongly_abstained_on_answerable_rate": abstained_wrong / answerable if answerable else 0.0,
    }
