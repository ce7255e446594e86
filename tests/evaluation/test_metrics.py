"""Hand-worked cases for the evaluation metrics (SQuAD, DPR, BEIR/pytrec_eval conventions)."""

from __future__ import annotations

import math

import pytest

from retrieval.evaluation.metrics import (
    abstention_summary,
    answer_scores_unanswerable,
    contains_answer,
    doc_recall_at_k,
    exact_match,
    expected_calibration_error,
    f1,
    first_relevant_rank,
    mrr_at_k,
    ndcg_at_k,
    normalize_answer,
    percentiles,
    recall_at_k,
    reliability_bins,
)

# --------------------------------------------------------------------------- SQuAD answers


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("The Eiffel Tower!", "eiffel tower"),
        ("  an  Apple, a day  ", "apple day"),
        ("theatre", "theatre"),  # articles only as whole words
        ("A.B.C.", "abc"),
        ("Denver Broncos", "denver broncos"),
        ("the", ""),
        ("", ""),
    ],
)
def test_normalize_answer(raw: str, expected: str) -> None:
    assert normalize_answer(raw) == expected


def test_normalize_articles_removed_after_punctuation() -> None:
    # official order: punctuation first, so "the-end" -> "theend" (kept) while "the, end" -> "end"
    assert normalize_answer("the-end") == "theend"
    assert normalize_answer("the, end") == "end"


def test_exact_match_punctuation_articles_and_multiple_golds() -> None:
    assert exact_match("the Denver Broncos.", ["Denver Broncos"]) == 1.0
    assert exact_match("Broncos", ["Denver Broncos", "broncos!"]) == 1.0
    assert exact_match("Denver", ["Denver Broncos"]) == 0.0
    assert exact_match("anything", []) == 0.0


def test_f1_hand_computed() -> None:
    # pred "denver broncos team" vs gold "denver broncos": overlap 2, P=2/3, R=1, F1=2*(2/3)/(5/3)=0.8
    assert f1("The Denver Broncos team", ["Denver Broncos"]) == pytest.approx(0.8)
    # max over golds: vs "Carolina Panthers" 0; vs "broncos" P=1/3 R=1 -> 0.5
    assert f1("Denver Broncos team", ["Carolina Panthers", "broncos"]) == pytest.approx(0.5)
    # repeated tokens are clipped by the counter intersection: pred "x y y", gold "y": 1 shared, P=1/3, R=1 -> 0.5
    assert f1("x y y", ["y"]) == pytest.approx(0.5)
    assert f1("nothing", []) == 0.0
    # v1.1 quirk kept: both sides normalise to nothing -> 0
    assert f1("the", ["a"]) == 0.0


def test_answer_scores_unanswerable_v2_convention() -> None:
    assert answer_scores_unanswerable(None, []) == (1.0, 1.0)
    assert answer_scores_unanswerable("", []) == (1.0, 1.0)
    assert answer_scores_unanswerable("the", []) == (1.0, 1.0)  # normalises to "" like the v2 script
    assert answer_scores_unanswerable("Paris", []) == (0.0, 0.0)
    assert answer_scores_unanswerable(None, ["Paris"]) == (0.0, 0.0)
    assert answer_scores_unanswerable("in Paris", ["Paris"]) == (0.0, pytest.approx(2 / 3))
    assert answer_scores_unanswerable("Paris.", ["Paris"]) == (1.0, 1.0)


# --------------------------------------------------------------------------- DPR containment


def test_contains_answer_token_boundaries() -> None:
    text = "In 2020, the Broncos won Super Bowl 50 in Santa Clara."
    assert contains_answer(text, ["Super Bowl 50"])
    assert contains_answer(text, ["santa clara"])
    assert contains_answer(text, ["2020"])
    assert not contains_answer(text, ["20"])  # not inside "2020"
    assert not contains_answer(text, ["Bowl 5"])
    assert not contains_answer(text, ["Clar"])
    assert contains_answer(text, ["nothing", "the Broncos"])  # any gold
    assert not contains_answer(text, [])
    assert not contains_answer(text, ["the", "", "."])  # golds that normalise to nothing never match


def test_contains_answer_is_dpr_has_answer() -> None:
    """Punctuation is a token of its own (it neither glues words together nor vanishes) and articles count."""
    assert contains_answer("a Denver-based team", ["Denver"])
    assert contains_answer("from 1990\u20132000", ["1990"])
    assert contains_answer("won 24-10 in 2016", ["24\u201310".replace("\u2013", "-")])
    assert not contains_answer("people who came", ["The Who"])  # "the" is part of the answer
    assert contains_answer("a song by The Who.", ["the who"])
    assert contains_answer("Caf\u00e9 Nero", ["cafe\u0301 nero"])  # NFD: composed and decomposed accents agree
    assert not contains_answer("the U.S. Army", ["US"])


# --------------------------------------------------------------------------- flags: recall / MRR


def test_first_relevant_rank() -> None:
    assert first_relevant_rank([False, True, True]) == 2
    assert first_relevant_rank([True]) == 1
    assert first_relevant_rank([False, False]) is None
    assert first_relevant_rank([]) is None


def test_recall_and_mrr_at_k() -> None:
    flags = [False, False, True, True]  # two relevant: only the first counts
    assert recall_at_k(flags, 2) == 0.0
    assert recall_at_k(flags, 3) == 1.0
    assert recall_at_k(flags, 100) == 1.0
    assert mrr_at_k(flags, 2) == 0.0
    assert mrr_at_k(flags, 3) == pytest.approx(1 / 3)
    assert mrr_at_k(flags, 10) == pytest.approx(1 / 3)
    assert mrr_at_k([True, True], 1) == 1.0
    assert recall_at_k([], 5) == 0.0
    assert mrr_at_k([], 5) == 0.0
    assert recall_at_k([True], 0) == 0.0


# --------------------------------------------------------------------------- graded qrels


def test_ndcg_hand_computed() -> None:
    # ranked [d3, d1, d2], qrels {d1: 2, d2: 1, d4: 1}
    # DCG  = 0/log2(2) + 2/log2(3) + 1/log2(4) = 0 + 1.26186 + 0.5      = 1.76186
    # IDCG = 2/log2(2) + 1/log2(3) + 1/log2(4) = 2 + 0.63093 + 0.5      = 3.13093
    # nDCG@10 = 1.76186 / 3.13093 = 0.56273
    qrels = {"d1": 2, "d2": 1, "d4": 1}
    dcg = 2 / math.log2(3) + 1 / math.log2(4)
    idcg = 2 + 1 / math.log2(3) + 1 / math.log2(4)
    assert ndcg_at_k(["d3", "d1", "d2"], qrels, k=10) == pytest.approx(dcg / idcg)
    assert ndcg_at_k(["d3", "d1", "d2"], qrels, k=10) == pytest.approx(0.56273, abs=1e-5)
    # @2: DCG = 2/log2(3) = 1.26186; IDCG = 2 + 1/log2(3) = 2.63093 -> 0.47962
    assert ndcg_at_k(["d3", "d1", "d2"], qrels, k=2) == pytest.approx(0.47962, abs=1e-5)
    assert ndcg_at_k(["d1", "d2", "d4"], qrels) == pytest.approx(1.0)
    assert ndcg_at_k(["d1", "d4", "d2"], qrels) == pytest.approx(1.0)  # ties in grade: any order is ideal


def test_ndcg_edge_cases() -> None:
    assert ndcg_at_k(["d1"], {}) == 0.0  # no judged docs
    assert ndcg_at_k(["d1"], {"d1": 0, "d2": 0}) == 0.0  # judged but none relevant
    assert ndcg_at_k([], {"d1": 1}) == 0.0
    assert ndcg_at_k(["d1"], {"d1": 1}, k=0) == 0.0
    # duplicates count once: [d1, d1, d2] behaves as [d1, d2]
    assert ndcg_at_k(["d1", "d1", "d2"], {"d1": 1, "d2": 1}, k=2) == pytest.approx(1.0)
    assert ndcg_at_k(["d1", "d1"], {"d1": 1, "d2": 1}, k=2) == pytest.approx(1 / (1 + 1 / math.log2(3)))
    # negative grades give no gain and are not ideal
    assert ndcg_at_k(["dx", "d1"], {"dx": -1, "d1": 1}) == pytest.approx(1 / math.log2(3))


def test_doc_recall_at_k() -> None:
    qrels = {"d1": 2, "d2": 1, "d4": 1, "d5": 0}
    assert doc_recall_at_k(["d3", "d1", "d2"], qrels, k=100) == pytest.approx(2 / 3)
    assert doc_recall_at_k(["d3", "d1", "d2"], qrels, k=2) == pytest.approx(1 / 3)
    assert doc_recall_at_k(["d1", "d1", "d4"], qrels, k=2) == pytest.approx(2 / 3)  # duplicate dropped
    assert doc_recall_at_k(["d5"], qrels) == 0.0
    assert doc_recall_at_k(["d1"], {}) == 0.0


# --------------------------------------------------------------------------- latency


def test_percentiles() -> None:
    out = percentiles([10.0, 20.0, 30.0, 40.0, 50.0])
    assert set(out) == {"p50", "p90", "p99", "mean"}
    assert out["p50"] == pytest.approx(30.0)
    assert out["p90"] == pytest.approx(46.0)  # linear: 40 + 0.6 * 10
    assert out["p99"] == pytest.approx(49.6)
    assert out["mean"] == pytest.approx(30.0)
    assert percentiles([]) == {"p50": 0.0, "p90": 0.0, "p99": 0.0, "mean": 0.0}
    assert set(percentiles([1.0], qs=(95, 99.9))) == {"p95", "p99.9", "mean"}


# --------------------------------------------------------------------------- calibration


CONF = [0.95, 0.85, 0.15, 0.45, 1.0]
CORRECT = [True, False, False, True, True]


def test_ece_hand_computed() -> None:
    # 10 bins: 0.15 -> bin 1 (acc 0, gap .15); 0.45 -> bin 4 (acc 1, gap .55); 0.85 -> bin 8 (acc 0, gap .85);
    # 0.95 and 1.0 -> bin 9 (acc 1, mean conf .975, gap .025, two items).
    # ECE = (1*.15 + 1*.55 + 1*.85 + 2*.025) / 5 = 1.6 / 5 = 0.32
    assert expected_calibration_error(CONF, CORRECT, n_bins=10) == pytest.approx(0.32)
    # 2 bins: [0,.5): {.15 F, .45 T} conf .3 acc .5 gap .2; [.5,1]: {.85 F, .95 T, 1.0 T} conf .9333 acc .6667
    # ECE = 2/5 * .2 + 3/5 * .26667 = .08 + .16 = 0.24
    assert expected_calibration_error(CONF, CORRECT, n_bins=2) == pytest.approx(0.24)
    assert expected_calibration_error([], []) == 0.0
    assert expected_calibration_error([1.0, 1.0], [True, True]) == 0.0


def test_reliability_bins() -> None:
    bins = reliability_bins(CONF, CORRECT, n_bins=10)
    assert len(bins) == 10
    assert [b["count"] for b in bins] == [0, 1, 0, 0, 1, 0, 0, 0, 1, 2]
    last = bins[-1]
    assert (last["lower"], last["upper"]) == pytest.approx((0.9, 1.0))
    assert last["mean_confidence"] == pytest.approx(0.975)  # 1.0 lands in the last bin
    assert last["accuracy"] == 1.0
    assert bins[0]["mean_confidence"] is None and bins[0]["accuracy"] is None
    assert reliability_bins([0.0], [False], n_bins=4)[0]["count"] == 1


def test_calibration_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        expected_calibration_error([0.5], [True, False])
    with pytest.raises(ValueError):
        expected_calibration_error([1.2], [True])
    with pytest.raises(ValueError):
        reliability_bins([0.5], [True], n_bins=0)


# --------------------------------------------------------------------------- abstention


def test_abstention_summary() -> None:
    predictions = [None, "Paris", "", None, "Rome", "the"]
    golds = [[], [], [], ["Paris"], ["Rome"], ["x"]]
    # unanswerable: q0 (abstained), q1 (answered), q2 (abstained) -> 2/3
    # answerable: q3 (abstained: wrong), q4 (answered), q5 ("the" normalises to "": abstained, wrong) -> 2/3
    out = abstention_summary(predictions, golds)
    assert out == {
        "unanswerable": 3,
        "abstained_on_unanswerable": 2,
        "abstained_on_unanswerable_rate": pytest.approx(2 / 3),
        "answerable": 3,
        "wrongly_abstained_on_answerable": 2,
        "wrongly_abstained_on_answerable_rate": pytest.approx(2 / 3),
    }
    empty = abstention_summary([], [])
    assert empty["abstained_on_unanswerable_rate"] == 0.0 and empty["wrongly_abstained_on_answerable_rate"] == 0.0
    with pytest.raises(ValueError):
        abstention_summary([None], [])
