"""The fitting script's own arithmetic (eval/fit_answerer.py): the weighted logistic fit, the prior weights and the
prior shift."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="module")
def fit_answerer(load_eval_script):
    return load_eval_script("fit_answerer")


def test_prior_weights_give_unanswerable_questions_the_stated_share(fit_answerer) -> None:
    answerable = np.array([True] * 6 + [False] * 4)
    w = fit_answerer.prior_weights(answerable, 0.2)
    assert w[~answerable].sum() / w.sum() == pytest.approx(0.2)
    assert np.all(w[answerable] == 1.0)
    assert fit_answerer.prior_weights(answerable, None) is None
    with pytest.raises(ValueError):
        fit_answerer.prior_weights(answerable, 1.0)


def test_weighted_fit_equals_the_fit_on_repeated_rows(fit_answerer) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 2))
    y = (x[:, 0] + rng.normal(size=200) > 0).astype(float)
    w = np.where(y > 0, 3.0, 1.0)
    weighted = fit_answerer.fit_logistic(x, y, l2=0.0, sample_weight=w)
    reps = np.repeat(np.arange(200), w.astype(int))
    repeated = fit_answerer.fit_logistic(x[reps], y[reps], l2=0.0)
    np.testing.assert_allclose(weighted[0], repeated[0], atol=1e-6)
    assert weighted[1] == pytest.approx(repeated[1], abs=1e-6)
    # a heavier positive class moves the curve up: the prior shift this weighting exists for
    assert weighted[1] > fit_answerer.fit_logistic(x, y, l2=0.0)[1]


def test_minimax_prior_shift_balances_the_two_calibration_errors(fit_answerer) -> None:
    from retrieval.evaluation.metrics import expected_calibration_error

    rng = np.random.default_rng(1)
    answerable = rng.random(4000) < 0.5
    # fitted on the mix: answerable questions are right 70% of the time, unanswerable ones never
    conf = np.clip(rng.normal(0.35, 0.1, 4000), 0.01, 0.99)
    correct = np.where(answerable, rng.random(4000) < 0.7, False).astype(float)
    shift, meta = fit_answerer.minimax_prior_shift(conf, correct, answerable)
    assert 0.0 < shift < 3.0
    worst = max(meta["ece_mix"], meta["ece_answerable"])
    assert worst < max(meta["unshifted"].values())
    # no grid point does better on the worse of the two
    for other in fit_answerer.PRIOR_SHIFT_GRID:
        shown = 1 / (1 + np.exp(-(np.log(conf / (1 - conf)) + other)))
        mix = expected_calibration_error(shown.tolist(), correct.tolist())
        ans = expected_calibration_error(shown[answerable].tolist(), correct[answerable].tolist())
        assert max(mix, ans) >= worst - 1e-4
    # already calibrated where every question has an answer: no shift; overconfident: a shift down
    assert abs(fit_answerer.minimax_prior_shift(conf, (rng.random(4000) < conf).astype(float), np.ones(4000, bool))[0]) <= 0.1
    assert fit_answerer.minimax_prior_shift(conf, (rng.random(4000) < conf / 2).astype(float), np.ones(4000, bool))[0] < 0


def test_prior_shift_option_takes_minimax_or_a_finite_number(fit_answerer) -> None:
    import argparse

    assert fit_answerer._prior_shift_arg("minimax") == "minimax"
    assert fit_answerer._prior_shift_arg("0.7") == 0.7
    for bad in ("nan", "inf", "abc"):
        with pytest.raises(argparse.ArgumentTypeError):
            fit_answerer._prior_shift_arg(bad)


def test_gate_levels_keep_99_percent_by_cosine_and_let_through_at_most_1_percent_by_keywords(fit_answerer) -> None:
    rng = np.random.default_rng(0)
    on_topic = np.column_stack([rng.uniform(0.3, 0.9, 1000), rng.uniform(0.4, 1.0, 1000)])
    off_topic = np.column_stack([rng.uniform(0.0, 0.5, 1000), rng.uniform(0.0, 0.8, 1000)])
    levels = fit_answerer.gate_levels(on_topic, off_topic)
    gate, coverage = levels["min_question_cosine"], levels["min_question_coverage"]
    assert (on_topic[:, 0] < gate).mean() == pytest.approx(0.01, abs=0.002)
    below = off_topic[off_topic[:, 0] < gate]
    assert 0 < (below[:, 1] > coverage).mean() <= 0.011  # the exception's share of what the cosine stops
    assert levels["answerable_kept"] >= levels["answerable_kept_by_cosine"]
    assert levels["off_topic_stopped"] <= levels["off_topic_stopped_by_cosine"]
    # nothing off topic below the gate: no exception
    assert fit_answerer.gate_levels(on_topic, off_topic[off_topic[:, 0] > 0.45])["min_question_coverage"] == 1.0


@pytest.mark.parametrize("stage", ["gate", "heuristic", "all"])
def test_keep_selection_goes_with_the_reader_stage_only(fit_answerer, monkeypatch, capsys, stage: str) -> None:
    """``--keep-selection`` refits the reader's confidence over the shipped answer selection; with another stage it
    would silently do nothing, so it is refused before any data is read."""
    monkeypatch.setattr("sys.argv", ["fit_answerer.py", "--stage", stage, "--keep-selection"])
    with pytest.raises(SystemExit) as exc:
        fit_answerer.main()
    assert exc.value.code == 2 and "--keep-selection goes with --stage reader" in capsys.readouterr().err
