from __future__ import annotations

import math

import pytest

from retrieval.answer import AnswerModel, FEATURE_NAMES, select_answer
from retrieval.types import Citation


def _cit(doc: str, start: int) -> Citation:
    return Citation(doc, "t", start, start + 5, "x", 0, "s", 0, 10)


def test_pooling_is_noisy_or_over_documents() -> None:
    model = AnswerModel(tuple([0.0] * len(FEATURE_NAMES)), 0.0, (1.0, 0.0, 0.0), 0.5)  # every candidate p = 0.5
    feats = [0.0] * len(FEATURE_NAMES)
    rows = [
        (feats, "2,000", _cit("a", 0), 1.0),
        (feats, "about 2,000", _cit("b", 0), 1.0),
        (feats, "2000", _cit("b", 50), 1.0),  # same document again: not extra evidence
        (feats, "5,000", _cit("a", 90), 0.5),
    ]
    values = select_answer(rows, model)
    assert values[0].key == "2000"
    assert values[0].prob == pytest.approx(1 - 0.5 * 0.5)
    assert {m.doc_id for m in values[0].mentions} == {"a", "b"}
    assert values[1].prob == pytest.approx(0.5)


def test_select_answer_empty() -> None:
    assert select_answer([], AnswerModel.default()) == []


def test_shipped_model_is_fitted_and_consistent() -> None:
    model = AnswerModel.default()
    assert len(model.weights) == len(FEATURE_NAMES)
    assert 0.0 <= model.threshold <= 1.0
    assert 0.0 <= model.confidence(0.9, 1.0) <= 1.0
    assert model.confidence(0.9, 1.0) > model.confidence(0.1, 1.0)


def test_conflicting_figures_are_reported_with_their_sources() -> None:
    from retrieval.engine import conflicting_values
    from retrieval.types import AnswerValue

    best = AnswerValue("about 5,000", "5000", 0.6, [_cit("a", 0)])
    other = AnswerValue("more than 10,000", "10000", 0.4, [_cit("b", 0)])
    same_doc = AnswerValue("3,100", "3100", 0.5, [_cit("a", 40)])
    weak = AnswerValue("200", "200", 0.1, [_cit("c", 0)])
    found = conflicting_values(best, [other, same_doc, weak], "count")
    assert [v.text for v in found] == ["more than 10,000"]
    assert conflicting_values(best, [other], "who") == []
    # only an article that gives 10,000 as its own answer, and does not state the answer, makes it a conflict
    assert conflicting_values(best, [other], "count", asserted={("5000", "a")}) == []
    assert conflicting_values(best, [other], "count", asserted={("10000", "a")}) == []
    assert [v.text for v in conflicting_values(best, [other], "count", asserted={("10000", "b")})] == ["more than 10,000"]
    # the likelihood floor: "200" is a sixth as likely as the answer
    assert [v.text for v in conflicting_values(best, [weak], "count", min_ratio=0.15)] == ["200"]
    assert conflicting_values(best, [weak], "count", min_ratio=0.2) == []
    # the floor applies on the scale it was chosen on: with the shown confidence shifted up (the answer's 0.6 shown
    # as 0.8), "200" would pass it (0.23 >= 0.2 * 0.8) unless mapped back first (0.1 < 0.2 * 0.6)
    from retrieval.reader_answer import ReaderSettings

    shift = ReaderSettings(prior_shift=math.log(0.8 / 0.2) - math.log(0.6 / 0.4))
    weak_logit = math.log(0.1 / 0.9) + shift.prior_shift
    best_shown = AnswerValue(best.text, best.normalized, 0.8, best.citations)
    weak_shown = AnswerValue("200", "200", 1 / (1 + math.exp(-weak_logit)), weak.citations)
    assert [v.text for v in conflicting_values(best_shown, [weak_shown], "count")] == ["200"]
    assert conflicting_values(best_shown, [weak_shown], "count", fitted_scale=shift.fitted_confidence) == []


def test_a_figure_whose_sentence_lacks_what_the_question_asks_about_is_another_fact() -> None:
    """"30,000 people dead" in the 1990s war is not another source's count of those who died in the 2020 war: its
    sentence lacks the question's rarest words where the answer's holds them."""
    from retrieval.engine import conflicting_values
    from retrieval.types import AnswerValue

    best = AnswerValue("6,700", "6700", 0.6, [_cit("a", 0)])
    other = AnswerValue("30,000", "30000", 0.4, [_cit("b", 0)])
    assert [v.text for v in conflicting_values(best, [other], "count", missing={"6700": 0.0, "30000": 0.4})] == ["30,000"]
    assert conflicting_values(best, [other], "count", missing={"6700": 0.0, "30000": 1.0}) == []
    assert [v.text for v in conflicting_values(best, [other], "count", missing={"6700": 0.6, "30000": 1.0})] == ["30,000"]


def test_sentence_missing_weighs_the_rarest_absent_content_word() -> None:
    from retrieval.question import analyze_question
    from retrieval.reader_answer import sentence_missing
    from retrieval.tokenize import tokenize
    from retrieval.values import Mention, ScoredValue

    question = "How many people died in the 2020 war?"
    assert "many" in analyze_question(question).keywords  # the confidence curve was fitted with it
    keywords = analyze_question(question).content_keywords
    assert "many" not in keywords and {tokenize("died")[0], "2020", "war"} <= set(keywords)
    assert "many" in analyze_question("How many of the many boats sank?").content_keywords
    idf = {tokenize(w)[0]: v for w, v in {"people": 1.0, "died": 3.0, "2020": 2.0, "war": 1.5, "many": 4.0}.items()}

    def value(key: str, sentence: str) -> ScoredValue:
        cit = Citation("d", "t", 0, 1, key, 0, sentence, 0, len(sentence))
        return ScoredValue(key, key, 0.5, [Mention(key, cit, 0.5, "d", 0.0)])

    found = sentence_missing([value("6700", "More than 6,700 people died in the 2020 war."),
                              value("30000", "That sparked a war that left 30,000 people dead.")], keywords, idf)
    assert found["6700"] == 0.0 and found["30000"] == pytest.approx(1.0)  # "died" is the rarest content word


@pytest.mark.parametrize("bad", [-0.1, 1.5])
def test_conflict_floor_is_validated(bad: float) -> None:
    from retrieval.engine import SearchConfig

    with pytest.raises(ValueError, match="conflict_min_ratio"):
        SearchConfig(conflict_min_ratio=bad)


@pytest.mark.parametrize(
    ("a", "b", "agree"),
    [("3,100", "3,100 civilians", True), ("2023", "Sept 21, 2023", True), ("1991", "the early 1990s", True),
     ("$40 million", "25 percent", True), ("17", "1:55", True), ("20,000", "$20,000", True),
     ("more than 10,000", "3,100 civilians", False), ("200", "2", False), ("1991", "1994", False),
     ("1,000,000", "1 million", True),
     ("$40 million", "$25 million", False), ("2,000", "2,500 troops", False), ("1980s", "1991", False),
     ("$5 million", "$5 billion", False), ("10", "10 million", False), ("Sept 21", "Oct 21", False),
     ("1500 people", "3,000 people", False), ("10,000 separatists", "3,100", False), ("1234567", "1234568", False),
     # one length or duration in two units: converted, within a conversion's rounding (lengths) or exactly
     ("20 miles", "32 km", True), ("about 5 kilometres", "3 miles", True), ("48 hours", "2 days", True),
     ("500 metres", "1,640 feet", True), ("1.5 million years", "15,000 centuries", True), ("2 weeks", "14 days", True),
     ("the 48-hour truce", "2 days", True), ("30 days", "1 month", True),
     ("20 miles", "50 km", False), ("10 km", "10 miles", False), ("1 hour", "90 minutes", False),
     ("11 months", "1 year", False), ("55 minutes", "1 hour", False),
     # spellings of one unit are one unit: the figures must match
     ("10 km", "11 kilometres", False), ("1,000 ft", "1,080 feet", False), ("1 mile", "1.05 miles", False),
     # rates, areas, ranges and compound values are not converted (compared figure by figure)
     ("2 km per day", "48 km per hour", False), ("1,000 sq ft", "305 square metres", False),
     ("10-15 km", "8 miles", False), ("1 hour 30 minutes", "90 minutes", False),
     # money abbreviates its scale; a bare four-digit count is a count beside another count, a year beside a date
     ("$40m", "$40 million", True), ("£1.2bn", "£1.2 billion", True), ("£12m", "£13 million", False),
     ("1800", "2,600", False), ("1800", "1,800", True)],
)
def test_values_agree_when_one_refines_the_other_or_they_measure_different_things(a: str, b: str, agree: bool) -> None:
    from retrieval.engine import values_agree

    assert values_agree(a, b) is agree
    assert values_agree(b, a) is agree


@pytest.mark.parametrize(
    ("text", "kind"),
    [("25 percent", "percent"), ("12%", "percent"), ("$5 million", "money"), ("4:51", "clock"),
     ("February 7, 2016", "date"), ("1994", "date"), ("the early 1990s", "date"), ("three days", "duration"),
     ("15 kilometres", "length"), ("2,000", "count"), ("10,000 people", "count"), ("10,000 separatists", "count"),
     ("200 junior officers", "count"), ("1500 people", "count"), ("3 decades", "duration"), ("1200 years", "duration"),
     ("in 2020", "date"), ("Sept 21, 2023", "date"), ("10km", "length"), ("the 48-hour truce", "duration"),
     ("aircraft 12", "count")],
)
def test_measure_kind(text: str, kind: str) -> None:
    from retrieval.engine import measure_kind

    assert measure_kind(text) == kind
