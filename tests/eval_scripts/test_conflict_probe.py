"""The conflict probe's counting (eval/conflict_probe.py): a floor's count applies the engine's own test to the
flags recorded with no floor, so it must equal what the engine reports at that floor."""

from __future__ import annotations


import pytest

from retrieval.evaluation.datasets import EvalQuestion
from retrieval.types import Answer, AnswerValue, Citation


@pytest.fixture(scope="module")
def probe(load_eval_script):
    return load_eval_script("conflict_probe")


def _value(text: str, score: float, doc: str) -> AnswerValue:
    return AnswerValue(text, text.replace(",", ""), score, [Citation(doc, doc, 0, len(text), text, 0, text, 0, 9)])


class _FakeEngine:
    """Answers from a table: (answer, its score, [(other figure, its score)]); ``settings``: a reader's, whose
    prior shift the scores are shown with."""

    def __init__(self, table: dict[str, tuple[str, float, list[tuple[str, float]]]], settings=None) -> None:
        self.table = table
        self.settings = settings

    def fitted_scale(self):  # as Engine.fitted_scale: the reader's, when there is one
        return self.settings.fitted_confidence if self.settings is not None else None

    def ask(self, question: str) -> Answer:
        text, score, others = self.table[question]
        best = _value(text, score, "a")
        flags = [_value(t, s, "b") for t, s in others]
        return Answer(question, text, score, alternatives=[best, *flags], question_type="count", conflicts=flags)


def test_counts_at_each_floor_apply_the_engines_test_without_rounding(probe) -> None:
    # ratios 0.5, 0.1999 (just under 0.2: must not count at 0.2), none, and 0.12 on a wrong answer
    table = {"q1": ("10", 0.8, [("20", 0.4)]), "q2": ("30", 0.5, [("40", 0.09995)]), "q3": ("50", 0.6, []),
             "q4": ("60", 0.5, [("70", 0.06)])}
    golds = (("q1", "10"), ("q2", "30"), ("q3", "50"), ("q4", "1"))
    questions = [EvalQuestion(q, q, [ans], [], {}) for q, ans in golds]
    nat = probe.natural(_FakeEngine(table), questions)
    assert nat["answered_correctly"] == 3
    assert nat["flagged_when_correct"]["by_min_ratio"] == {"0.05": 2, "0.1": 2, "0.15": 2, "0.2": 1, "0.3": 1}
    assert nat["flagged_when_correct"]["now"] == nat["flagged_when_correct"]["by_min_ratio"][str(probe.SHIPPED_RATIO)]
    assert nat["flagged_when_answered"]["by_min_ratio"]["0.1"] == 3  # q4's 0.12 counts among all answers


def test_planted_catch_needs_the_twin_figure_flagged_above_the_floor(probe) -> None:
    table = {"p1": ("1,000", 0.5, [("3,001", 0.2)]), "p2": ("1,000", 0.5, [("3,001", 0.04)]),
             "p3": ("1,000", 0.5, [("99", 0.5)]), "p4": ("7", 0.5, [])}
    cases = [{"id": q, "question": q, "original": "1,000", "twin": "3,001"} for q in table]
    result = probe.planted(_FakeEngine(table), cases)
    assert result["answered_with_one_of_the_pair"] == 3  # p4 answers neither figure
    assert result["caught"]["by_min_ratio"] == {"0.05": 2, "0.1": 1, "0.15": 1, "0.2": 1, "0.3": 1}


def test_floors_apply_on_the_fitted_scale_when_scores_are_shown_shifted(probe) -> None:
    from retrieval.reader_answer import ReaderSettings
    from retrieval.values import shift_probability

    settings = ReaderSettings(prior_shift=1.0)
    # fitted 0.5 and 0.09 (ratio 0.18, under the shipped 0.2), shown shifted (0.73 and 0.21: ratio 0.29)
    table = {"q1": ("10", shift_probability(0.5, 1.0), [("20", shift_probability(0.09, 1.0))])}
    questions = [EvalQuestion("q1", "q1", ["10"], [], {})]
    shifted = probe.natural(_FakeEngine(table, settings), questions)
    assert shifted["flagged_when_correct"]["by_min_ratio"] == {"0.05": 1, "0.1": 1, "0.15": 1, "0.2": 0, "0.3": 0}
    unmapped = probe.natural(_FakeEngine(table), questions)  # read as fitted scores, 0.29 would pass 0.2
    assert unmapped["flagged_when_correct"]["by_min_ratio"]["0.2"] == 1
