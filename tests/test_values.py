"""Answer values (retrieval/values.py): which spellings pool as one value, and the probability helpers."""

from __future__ import annotations

import math

import pytest

from retrieval.values import logit, normalize_value, shift_probability, sigmoid


@pytest.mark.parametrize(
    ("a", "b"),
    [("2,000", "2000"), ("about 2,000", "2000"), ("more than 10,000", "10,000"), ("The Kremlin", "Kremlin"),
     ("“Azerbaijan’s internal affair”", "azerbaijan’s internal affair".replace("’", "")), ("six", "6"),
     ("Sept. 19", "September 19"), ("Sep 19, 2023", "September 19th, 2023"), ("5%", "5 per cent"),
     ("about 5 percent", "5%"), ("two thousand", "2,000"), ("three hundred", "300"),
     ("six weeks", "six-week"), ("24 hours", "a 24-hour"), ("two centuries", "2-century"), ("3.5 miles", "3.5-mile"),
     ("one hundred thousand", "100,000"), ("twelve thousand", "12,000"), ("10:30 a.m.", "10:30 am"),
     # found by a black-box review: compound number words, scales, money abbreviations, day-month order
     ("Twenty-five", "25"), ("two hundred and twelve", "212"), ("twenty-five thousand", "25,000"),
     ("1.2 million", "1,200,000"), ("$40m", "$40 million"), ("£1.2bn", "£1.2 billion"),
     ("40 million dollars", "$40 million"), ("14 September", "Sept. 14"), ("5 May 2023", "May 5, 2023")],
)
def test_values_that_mean_the_same_pool_together(a: str, b: str) -> None:
    assert normalize_value(a) == normalize_value(b)


def test_different_values_stay_apart() -> None:
    assert normalize_value("2,000") != normalize_value("20,000")
    assert normalize_value("3.5") != normalize_value("35")
    assert normalize_value("5%") != normalize_value("5")  # a share is not a count
    assert normalize_value("May 4") != normalize_value("March 4")
    assert normalize_value("1,000 hundred") != normalize_value("100,000")  # only a plain number times hundred
    assert normalize_value("6 weeks") != normalize_value("6 days")
    assert normalize_value("10:30 a.m.") != normalize_value("10:30 p.m.")
    assert normalize_value("weeks") == "weeks"  # a word is singularised only as a number's unit
    assert normalize_value("3 glass") == "3 glass" and normalize_value("2 campus") == "2 campus"
    assert normalize_value("$40 million") != normalize_value("€40 million")  # another currency, another value
    assert normalize_value("40m") != normalize_value("40 million")  # without a currency "m" may be metres
    assert normalize_value("200 12") != normalize_value("212")  # digits side by side do not add up
    assert normalize_value("between 300 and 400") != normalize_value("700")


def test_shift_probability_is_exact_and_leaves_the_ends_and_no_shift_alone() -> None:
    assert shift_probability(0.265, 0.7) == pytest.approx(1 / (1 + math.exp(-(math.log(0.265 / 0.735) + 0.7))))
    for p in (0.0, 1.0, 1e-9, 0.3):
        assert shift_probability(p, 0.0) == p
    assert shift_probability(0.0, 2.0) == 0.0 and shift_probability(1.0, -2.0) == 1.0
    for p in (1e-12, 2e-6, 0.3, 1 - 1e-9):  # there and back, even below logit's clipping
        assert shift_probability(shift_probability(p, 0.7), -0.7) == pytest.approx(p, rel=1e-9)


def test_sigmoid_and_logit_invert_each_other_and_stay_finite_at_the_ends() -> None:
    for x in (-8.0, -0.5, 0.0, 0.7, 8.0):
        assert logit(sigmoid(x)) == pytest.approx(x, abs=1e-9)
    assert 0.0 < sigmoid(-1e6) < sigmoid(1e6) < 1.0 + 1e-12  # clipped, no overflow
    assert math.isfinite(logit(0.0)) and math.isfinite(logit(1.0)) and logit(0.0) < 0 < logit(1.0)
