"""Answer selection over the trained reader's spans: evidence, pooling and the confidence curve (no model needed)."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest

from retrieval.answer import AnswerModel
from retrieval.reader import ReaderSpan
from retrieval.reader_answer import (
    claimed_values,
    READER_CONFIDENCE_FEATURES,
    ReaderSettings,
    best_keyword_coverage,
    confidence_features,
    reader_rows,
    select_reader_answer,
)
from retrieval.tokenize import tokenize
from retrieval.types import Candidate, Hit, Passage
from retrieval.values import ReaderEvidence, ScoredValue, shift_probability



# IDF keyed by the engine's tokens (stemmed), as the engine builds it
IDF = {tokenize(w)[0]: v for w, v in {"peacekeepers": 3.0, "Russian": 1.0, "left": 1.5, "Karabakh": 2.0,
                                      "leopards": 4.0}.items()}


def _hit(pid: int, doc: str, text: str, rank: int) -> Hit:
    passage = Passage(pid, doc, 100, 100 + len(text), text, sentences=((100, 100 + len(text)),))
    return Hit(passage, 1.0 / rank, rank, dense_score=0.5, title=doc)


def test_reader_rows_place_spans_and_measure_evidence() -> None:
    text = "About 2,000 Russian peacekeepers left Karabakh."
    hits = [_hit(0, "a", text, 1)]
    spans = [ReaderSpan(0, 6, 11, "2,000", score=9.0, null_score=4.0)]
    rows = reader_rows("How many Russian peacekeepers left?", hits, spans, IDF)
    (row,) = rows
    assert (row.citation.start, row.citation.end) == (106, 111)  # offsets in the document, not the passage
    assert row.evidence == ReaderEvidence(margin=5.0, missing_passage=0.0, missing_sentence=0.0)


def test_missing_evidence_names_the_rarest_absent_question_word() -> None:
    hits = [_hit(0, "a", "About 2,000 Russian peacekeepers left Karabakh.", 1)]
    spans = [ReaderSpan(0, 6, 11, "2,000", score=9.0, null_score=4.0)]
    (row,) = reader_rows("How many Russian leopards left?", hits, spans, IDF)
    assert row.evidence is not None
    assert row.evidence.missing_passage == pytest.approx(1.0)  # "leopards" is the rarest word and is absent
    (row,) = reader_rows("Russian peacekeepers left Karabakh?", hits, spans, IDF)
    assert row.evidence is not None and row.evidence.missing_passage == 0.0


def test_reader_values_pool_mentions_and_keep_the_best_mentions_evidence() -> None:
    hits = [_hit(0, "a", "Officials said 2,000 people left.", 1), _hit(1, "b", "Some 2000 people left, and 50 stayed.", 2)]
    spans = [
        ReaderSpan(0, 15, 20, "2,000", score=10.0, null_score=2.0),
        ReaderSpan(1, 5, 9, "2000", score=8.0, null_score=3.0),
        ReaderSpan(1, 27, 29, "50", score=4.0, null_score=3.0),
    ]
    rows = reader_rows("How many people left?", hits, spans, IDF)
    values = select_reader_answer(rows, ReaderSettings(passages=2, temperature=1.0, retrieval_weight=0.0))
    assert [v.key for v in values] == ["2000", "50"]
    assert {m.doc_id for m in values[0].mentions} == {"a", "b"}
    assert values[0].evidence is not None and values[0].evidence.margin == pytest.approx(8.0)
    # one softmax over the three spans and the *lowest* "no answer" score (2.0): the window most sure to hold an
    # answer speaks for "no answer", so a window without one cannot outvote a window that holds it
    e = np.exp
    total = e(10.0) + e(8.0) + e(4.0) + e(2.0)
    assert values[0].prob == pytest.approx((e(10.0) + e(8.0)) / total)
    assert values[1].prob == pytest.approx(e(4.0) / total)


def test_best_keyword_coverage_is_the_best_passage_share_and_unseen_words_weigh_most() -> None:
    hits = [_hit(0, "a", "Russian peacekeepers left.", 1), _hit(1, "b", "Karabakh peacekeepers.", 2)]
    key = {w: tokenize(w)[0] for w in ("peacekeepers", "Russian", "left", "Karabakh", "FIFA")}
    # one passage's share, not the union: "a" holds 3 + 1 of 3 + 1 + 2, "b" 3 + 2 of it
    share = best_keyword_coverage([key["peacekeepers"], key["Russian"], key["Karabakh"]], hits, IDF)
    assert share == pytest.approx(5 / 6)
    # a word the corpus lacks weighs as its rarest word (leopards, 4.0), so it outweighs a common one found
    lacking = best_keyword_coverage([key["Russian"], key["FIFA"]], hits, IDF)
    assert lacking == pytest.approx(1.0 / (1.0 + 4.0))
    assert best_keyword_coverage([key["Russian"], key["FIFA"]], hits, IDF, unseen_weight=1.0) == pytest.approx(0.5)
    assert best_keyword_coverage([], hits, IDF) == 0.0 and best_keyword_coverage([key["left"]], [], IDF) == 0.0


def test_best_keyword_coverage_counts_another_form_of_a_word() -> None:
    """"Which telescope was using the mirror?" of a passage where one "used" it: "using" is unseen in the corpus
    (the rarest weight), and without word families the question read as off topic."""
    hits = [_hit(0, "a", "Astronomers used the Hale telescope's mirror in 1949.", 1)]
    idf = {**IDF, "telescope": 2.0, "mirror": 2.0, "used": 1.0}
    keywords = [tokenize(w)[0] for w in ("telescope", "using", "mirror")]
    assert best_keyword_coverage(keywords, hits, idf) == pytest.approx(1.0)
    other = [tokenize(w)[0] for w in ("telescope", "FIFA", "mirror")]  # a word of no family stays missing
    assert best_keyword_coverage(other, hits, idf) == pytest.approx(4.0 / 8.0)
    told_us = [_hit(0, "a", "Officials told us the mirror was cracked.", 1)]
    assert best_keyword_coverage([tokenize("users")[0]], told_us, idf) == 0.0  # not the pronoun's family


@pytest.mark.parametrize(("words", "same"), [
    (("use", "used", "using", "uses"), True), (("evacuate", "evacuated", "evacuating"), True),
    (("stop", "stopped", "stopping"), True), (("kill", "killed", "killings"), True),
    (("nation", "national"), False), (("war", "ward"), False), (("FIFA", "fife"), False),
])
def test_word_families(words: tuple[str, ...], same: bool) -> None:
    from retrieval.question import word_family

    families = {word_family(tokenize(w)[0]) for w in words}
    assert (len(families) == 1) is same


def test_select_reader_answer_empty() -> None:
    assert select_reader_answer([], ReaderSettings()) == []


def test_reader_settings_validate_and_round_trip() -> None:
    with pytest.raises(ValueError, match="coefficients"):
        ReaderSettings(confidence_coef=(1.0, 0.0, 0.0))
    settings = ReaderSettings(6, 2.0, 2.0, (0.5, 1.0, 0.3, -1.0, -0.5, 4.0, -2.0), 0.3, pool_overlapping=True,
                              untyped_reading_weight=0.5, min_question_cosine=0.31, prior_shift=0.7,
                              min_question_coverage=0.5)
    again = ReaderSettings.from_json(json.loads(json.dumps(settings.to_json())))
    assert again == settings
    older = {k: v for k, v in settings.to_json().items() if k != "min_question_coverage"}
    assert ReaderSettings.from_json(older).min_question_coverage == 1.0  # a file fitted before it: no exception
    with pytest.raises(ValueError, match="min_question_coverage"):
        ReaderSettings(min_question_coverage=1.5)
    stale = dict(settings.to_json(), confidence_features=["logit_prob", "sentence_coverage"])
    with pytest.raises(ValueError, match="re-run"):
        ReaderSettings.from_json(stale)


def test_confidence_follows_its_features() -> None:
    settings = ReaderSettings(confidence_coef=(1.0, 0.0, 1.0, -2.0, 0.0, 3.0, 0.0))
    value = ScoredValue("x", "x", 0.5, evidence=ReaderEvidence(margin=0.0, missing_passage=0.0, missing_sentence=0.0))
    assert settings.value_confidence(value, 0.0) == pytest.approx(0.5)
    sure = ScoredValue("x", "x", 0.5, evidence=ReaderEvidence(margin=10.0, missing_passage=0.0, missing_sentence=0.0))
    lacking = ScoredValue("x", "x", 0.5, evidence=ReaderEvidence(margin=0.0, missing_passage=1.0, missing_sentence=0.0))
    assert settings.value_confidence(sure, 0.0) > 0.5 > settings.value_confidence(lacking, 0.0)
    assert settings.value_confidence(value, 0.6) > 0.5
    assert len(confidence_features(value, 0.6)) == len(READER_CONFIDENCE_FEATURES)


def test_prior_shift_moves_the_logit_and_round_trips_through_the_fitted_scale() -> None:
    with pytest.raises(ValueError, match="prior_shift"):
        ReaderSettings(prior_shift=float("nan"))
    coef = (1.0, 0.0, 1.0, -2.0, 0.0, 3.0, -1.0)
    value = ScoredValue("x", "x", 0.3, evidence=ReaderEvidence(margin=2.0, missing_passage=0.0, missing_sentence=1.0))
    fitted = ReaderSettings(confidence_coef=coef).value_confidence(value, 0.4)
    shifted = ReaderSettings(confidence_coef=coef, prior_shift=0.7)
    shown = shifted.value_confidence(value, 0.4)
    assert math.log(shown / (1 - shown)) - math.log(fitted / (1 - fitted)) == pytest.approx(0.7)
    assert shifted.fitted_confidence(shown) == pytest.approx(fitted)
    # settings saved before the field existed load unshifted
    old = {k: v for k, v in shifted.to_json().items() if k != "prior_shift"}
    assert ReaderSettings.from_json(old).prior_shift == 0.0


def test_shipped_reader_settings_are_fitted() -> None:
    model = AnswerModel.default()
    settings = model.reader
    assert settings is not None
    assert 1 <= settings.passages <= 10
    assert 0.0 < settings.threshold < 1.0
    # the threshold moved with the prior shift, so the shift decides nothing
    fitted = model.meta["reader"]["fitted_threshold"]
    assert settings.threshold == pytest.approx(shift_probability(fitted, settings.prior_shift), abs=1e-12)
    assert model.meta["reader"]["calibration"]["prior_shift"] == settings.prior_shift
    value = ScoredValue("x", "x", 0.9, coverage=1.0, evidence=ReaderEvidence(5.0, 0.0, 0.0))
    assert 0.0 <= settings.value_confidence(value, 0.6) <= 1.0
    # a confident reader on a well-matched passage beats a doubtful one on a passage lacking the question's words
    doubtful = ScoredValue("x", "x", 0.1, coverage=0.2, evidence=ReaderEvidence(-5.0, 1.0, 1.0))
    assert settings.value_confidence(value, 0.6) > settings.value_confidence(doubtful, 0.4)



def test_overlapping_readings_of_one_mention_pool_into_its_most_probable_text() -> None:
    hits = [_hit(0, "a", "Moscow deployed about 2,000 peacekeepers there.", 1),
            _hit(1, "b", "Thousands of residents fled to the airport.", 2)]
    spans = [
        ReaderSpan(1, 0, 9, "Thousands", score=9.0, null_score=0.0),
        ReaderSpan(0, 22, 27, "2,000", score=8.5, null_score=0.0),
        ReaderSpan(0, 16, 40, "about 2,000 peacekeepers", score=8.0, null_score=0.0),
        ReaderSpan(0, 22, 40, "2,000 peacekeepers", score=8.0, null_score=0.0),
    ]
    rows = reader_rows("How many peacekeepers?", hits, spans, IDF)
    plain = select_reader_answer(rows, ReaderSettings(temperature=1.0, retrieval_weight=0.0))
    pooled = select_reader_answer(rows, ReaderSettings(temperature=1.0, retrieval_weight=0.0, pool_overlapping=True))
    assert plain[0].text == "Thousands"  # each reading of "2,000" alone is less likely
    assert [v.text for v in pooled] == ["2,000", "Thousands"]
    assert pooled[0].prob == pytest.approx(sum(v.prob for v in plain if v.text != "Thousands"))
    assert len(pooled[0].mentions) == 1  # one mention, cited once


@pytest.mark.parametrize(("monday_score", "named"), [(8.2, "Friday"), (7.5, "Monday and ended on Friday")])
def test_a_span_spliced_from_two_readings_gives_way_to_the_better_one(monday_score: float, named: str) -> None:
    """The reader scores starts and ends apart, so its best span can run from one answer to another; when both ends
    are read on their own with at least SPLICE_SHARE of its probability, the group is named by the better end."""
    from retrieval.reader_answer import SPLICE_SHARE

    text = "The talks began on Monday and ended on Friday."
    m0, f0 = text.index("Monday"), text.index("Friday")
    hits = [_hit(0, "a", text, 1)]
    spans = [
        ReaderSpan(0, m0, f0 + 6, text[m0 : f0 + 6], score=9.0, null_score=0.0),
        ReaderSpan(0, f0, f0 + 6, "Friday", score=8.5, null_score=0.0),
        ReaderSpan(0, m0, m0 + 6, "Monday", score=monday_score, null_score=0.0),
    ]
    assert (math.exp(monday_score - 9.0) >= SPLICE_SHARE) == (named == "Friday")
    rows = reader_rows("When did the talks end?", hits, spans, IDF)
    pooled = select_reader_answer(rows, ReaderSettings(temperature=1.0, retrieval_weight=0.0, pool_overlapping=True))
    assert len(pooled) == 1 and pooled[0].text == named
    assert pooled[0].mentions[0].citation.text == named


def test_a_pooled_mention_can_be_named_by_its_reading_of_the_asked_for_kind() -> None:
    from retrieval.types import Candidate

    text = "Talks were held on Thursday in the city of Yevlakh."
    t0 = text.index("Thursday")
    y0 = text.index("Yevlakh")
    passage = Passage(0, "a", 100, 100 + len(text), text, sentences=((100, 100 + len(text)),),
                      candidates=(Candidate(100 + t0, 100 + t0 + 8, "DATE"), Candidate(100 + y0, 100 + y0 + 7, "GPE")))
    hits = [Hit(passage, 1.0, 1, dense_score=0.5, title="a")]
    spans = [
        ReaderSpan(0, t0, y0 + 7, "Thursday in the city of Yevlakh", score=9.0, null_score=0.0),
        ReaderSpan(0, y0, y0 + 7, "Yevlakh", score=8.5, null_score=0.0),
    ]
    rows = reader_rows("Where were talks held?", hits, spans, IDF)
    assert [r.typed for r in rows] == [False, True]  # only "Yevlakh" is exactly a place entity
    blind = select_reader_answer(rows, ReaderSettings(temperature=1.0, retrieval_weight=0.0, pool_overlapping=True))
    typed = select_reader_answer(rows, ReaderSettings(temperature=1.0, retrieval_weight=0.0, pool_overlapping=True,
                                                      untyped_reading_weight=0.5))
    assert blind[0].text == "Thursday in the city of Yevlakh"
    assert typed[0].text == "Yevlakh" and typed[0].prob == pytest.approx(blind[0].prob)  # same mass, other name
    assert typed[0].mentions[0].citation.start == 100 + y0
    when = reader_rows("When were talks held?", hits, spans, IDF)
    assert not any(r.typed for r in when)  # neither reading is exactly a date
    with pytest.raises(ValueError, match="untyped_reading_weight"):
        ReaderSettings(untyped_reading_weight=0.0)


def test_a_citation_sentence_covers_a_closing_quote_past_its_full_stop() -> None:
    """Rule-split sentences end at the full stop, before the closing quote that ``trim_span`` may add to a span."""
    text = "Troops fired, mistaking them for \u201cillegal groups.\u201d Then talks began."
    quote_end = text.index("\u201d") + 1
    passage = Passage(0, "a", 100, 100 + len(text), text,
                      sentences=((100, 100 + quote_end - 1), (100 + quote_end + 1, 100 + len(text))))
    hits = [Hit(passage, 1.0, 1, dense_score=0.5, title="a")]
    start = text.index("mistaking")
    spans = [ReaderSpan(0, start, quote_end, text[start:quote_end], score=5.0, null_score=0.0)]
    (row,) = reader_rows("Why did troops fire?", hits, spans, IDF)
    c = row.citation
    assert c.sentence_start <= c.start <= c.end <= c.sentence_end
    assert c.sentence.endswith("groups.\u201d") and text[c.start - 100 : c.end - 100] == c.text


def test_only_a_passages_own_answer_counts_as_a_claim() -> None:
    hits = [_hit(0, "a", "Officials said 2,000 people left and 50 stayed.", 1),
            _hit(1, "b", "In 1990 the town had 9,000 people.", 2)]
    spans = [
        ReaderSpan(0, 15, 20, "2,000", score=10.0, null_score=2.0),  # passage a's best span: a claim
        ReaderSpan(0, 37, 39, "50", score=6.0, null_score=2.0),  # beats "no answer" but is not a's answer
        ReaderSpan(1, 21, 26, "9,000", score=5.0, null_score=7.0),  # b's best span, but "no answer" wins there
    ]
    rows = reader_rows("How many people left?", hits, spans, IDF)
    values = select_reader_answer(rows, ReaderSettings(passages=2, temperature=1.0, retrieval_weight=0.0))
    assert {v.key for v in values} == {"2000", "50", "9000"}
    assert claimed_values(values, hits, spans) == {("2000", "a")}
    assert claimed_values([], hits, spans) == set()


def test_sentence_weight_moves_mass_to_the_sentence_most_like_the_question() -> None:
    text = "In 1990 the town had 9,000 people. Officials said 2,000 people left on Tuesday."
    cut = text.index("Officials")
    sentences = ((100, 100 + cut - 1), (100 + cut, 100 + len(text)))
    passage = Passage(0, "a", 100, 100 + len(text), text, sentences=sentences)
    hits = [Hit(passage, 1.0, 1, dense_score=0.5, title="a")]
    spans = [ReaderSpan(0, 21, 26, "9,000", score=9.0, null_score=5.0),
             ReaderSpan(0, cut + 15, cut + 20, "2,000", score=8.5, null_score=5.0)]
    rows = reader_rows("How many people left?", hits, spans, IDF, sentence_cosines=[[0.30, 0.70]])
    assert [r.sentence_cosine for r in rows] == [pytest.approx(0.30), pytest.approx(0.70)]
    blind = select_reader_answer(rows, ReaderSettings(temperature=1.0, retrieval_weight=0.0))
    weighted = select_reader_answer(rows, ReaderSettings(temperature=1.0, retrieval_weight=0.0, sentence_weight=4.0))
    assert blind[0].key == "9000" and weighted[0].key == "2000"
    # the best sentence's span keeps its logit, so its odds against "no answer" are the reader's own
    best_blind = next(v for v in blind if v.key == "2000")
    assert weighted[0].prob > best_blind.prob
    null_blind = 1.0 - sum(v.prob for v in blind)
    null_weighted = 1.0 - sum(v.prob for v in weighted)
    assert weighted[0].prob / null_weighted == pytest.approx(best_blind.prob / null_blind)
    # without cosines (no sentence vectors) the weight changes nothing
    plain_rows = reader_rows("How many people left?", hits, spans, IDF)
    assert all(r.sentence_cosine is None for r in plain_rows)
    assert [v.prob for v in select_reader_answer(plain_rows, ReaderSettings(temperature=1.0, retrieval_weight=0.0,
                                                                          sentence_weight=4.0))] == \
        [pytest.approx(v.prob) for v in blind]


@pytest.mark.parametrize("bad", [-1.0, float("nan"), float("inf")])
def test_sentence_weight_must_be_finite_and_not_negative(bad: float) -> None:
    with pytest.raises(ValueError, match="sentence_weight"):
        ReaderSettings(sentence_weight=bad)


def test_settings_without_a_sentence_weight_load_as_zero() -> None:
    obj = ReaderSettings(sentence_weight=8.0).to_json()
    assert ReaderSettings.from_json(obj).sentence_weight == 8.0
    del obj["sentence_weight"]  # an answerer.json fitted before the weight existed
    assert ReaderSettings.from_json(obj).sentence_weight == 0.0


def test_a_missing_or_broken_cosine_is_not_penalised_and_cannot_poison_the_softmax() -> None:
    hits = [_hit(0, "a", "Officials said 2,000 people left.", 1), _hit(1, "b", "Some 50 people left.", 2)]
    spans = [ReaderSpan(0, 15, 20, "2,000", score=8.0, null_score=2.0),
             ReaderSpan(1, 5, 7, "50", score=8.0, null_score=2.0)]
    settings = ReaderSettings(temperature=1.0, retrieval_weight=0.0, sentence_weight=4.0)
    for broken in (float("nan"), None):
        rows = reader_rows("How many people left?", hits, spans, IDF, sentence_cosines=[[0.2], [0.6]])
        rows[1] = dataclasses.replace(rows[1], sentence_cosine=broken)
        values = select_reader_answer(rows, settings)
        assert all(math.isfinite(v.prob) for v in values)
        # the other row is the best known cosine, so neither loses logit: equal spans, equal odds
        assert values[0].prob == pytest.approx(values[1].prob)


@pytest.mark.parametrize(("question", "expected"), [("Who is Giuseppe Lanzoni?", "a retired baker"),
                                                    ("How old is Giuseppe Lanzoni?", "78")])
def test_a_bare_figure_never_answers_who(question: str, expected: str) -> None:
    text = "Giuseppe Lanzoni, 78, a retired baker, was carried to a dinghy by firefighters."
    assert _first_answer(question, text, ("78", 9.0), ("a retired baker", 8.0)) == expected


def _first_answer(question: str, text: str, *readings: tuple[str, float]) -> str:
    """The answer chosen from one passage where the reader read each (piece of ``text``, score)."""
    spans = [ReaderSpan(0, text.index(piece), text.index(piece) + len(piece), piece, score=score, null_score=0.0)
             for piece, score in readings]
    rows = reader_rows(question, [_hit(0, "a", text, 1)], spans, IDF)
    return select_reader_answer(rows, ReaderSettings(temperature=1.0, retrieval_weight=0.0))[0].text


@pytest.mark.parametrize(("question", "expected"), [("How many boats did the volunteers bring?", "twelve"),
                                                    ("What did the volunteers bring?", "boats and blankets")])
def test_how_many_is_answered_by_a_quantity(question: str, expected: str) -> None:
    text = "Volunteers from Oskel brought boats and blankets; twelve of them came by road."
    assert _first_answer(question, text, ("boats and blankets", 9.0), ("twelve", 8.0)) == expected


@pytest.mark.parametrize("text", ["2,000", "a dozen", "seventh", "a quarter", "numerous", "dozens of boats", "none"])
def test_quantities_in_words_count_as_quantities(text: str) -> None:
    from retrieval.reader_answer import _states_a_quantity

    assert _states_a_quantity(text)
    assert not _states_a_quantity("Levi's Stadium") and not _states_a_quantity("this month")


@pytest.mark.parametrize(("question", "expected"), [
    ("Why were residents short of food?", "a blockade of the only road"),
    ("What were residents short of food because of?", "because of a blockade of the only road"),
])
def test_a_why_answer_is_the_reason_not_its_connective(question: str, expected: str) -> None:
    text = "Residents were short of food because of a blockade of the only road, officials said."
    hits = [_hit(0, "a", text, 1)]
    b0 = text.index("because of")
    b1 = text.index(", officials")
    spans = [ReaderSpan(0, b0, b1, text[b0:b1], score=9.0, null_score=0.0),
             ReaderSpan(0, text.index("a blockade"), b1, "a blockade of the only road", score=7.0, null_score=0.0)]
    rows = reader_rows(question, hits, spans, IDF)
    values = select_reader_answer(rows, ReaderSettings(temperature=1.0, retrieval_weight=0.0))
    best = values[0]
    assert best.text == expected
    citation = best.mentions[0].citation
    assert text[citation.start - 100 : citation.end - 100] == expected  # the passage starts at 100
    if question.startswith("Why"):  # both readings name one reason at one place: one value, cited once
        assert len(values) == 1 and len(best.mentions) == 1


@pytest.mark.parametrize("text", ["because of", "because of.", "due to"])
def test_a_connective_alone_is_not_cut_to_nothing(text: str) -> None:
    from retrieval.reader_answer import reason_without_connective

    assert reason_without_connective(text) == 0
    assert reason_without_connective("because ofttimes it rained") == len("because ")


@pytest.mark.parametrize(("question", "expected"), [("On what date did the boys enter the cave?", "June 23"),
                                                    ("When did the boys enter the cave?", "Saturday")])
def test_a_weekday_alone_never_answers_what_date(question: str, expected: str) -> None:
    text = "The boys entered the cave on Saturday, June 23, after football practice."
    assert _first_answer(question, text, ("Saturday", 9.0), ("June 23", 8.0)) == expected


def test_a_span_read_inside_a_word_is_widened_to_the_word() -> None:
    from retrieval.reader_answer import whole_words

    text = "Singapore spent S$20m on the summit in the 1990s style, about US$15m, and $3m more (0100 GMT)."
    for piece, word in [("$20m", "S$20m"), ("1990", "1990s"), ("$15m", "US$15m"), ("$3m", "$3m"), ("0100", "0100"),
                        ("ingapor", "Singapore")]:
        start = text.index(piece)
        a, b = whole_words(text, start, start + len(piece))
        assert text[a:b] == word
    hits = [_hit(0, "a", text, 1)]
    spans = [ReaderSpan(0, text.index("$20m"), text.index("$20m") + 4, "$20m", score=9.0, null_score=0.0)]
    (row,) = reader_rows("How much did Singapore spend?", hits, spans, IDF)
    assert row.text == "S$20m" and (row.citation.start, row.citation.end) == (116, 121)


def test_the_answer_is_the_most_confident_of_the_top_three_values() -> None:
    from retrieval.reader_answer import most_confident_first
    from retrieval.types import AnswerValue

    def vals(*scores: float) -> list[AnswerValue]:
        return [AnswerValue(f"v{i}", f"v{i}", s) for i, s in enumerate(scores)]

    assert [v.text for v in most_confident_first(vals(0.4, 0.6, 0.5, 0.9))] == ["v1", "v0", "v2", "v3"]  # 4th: no
    assert [v.text for v in most_confident_first(vals(0.5, 0.5, 0.2))] == ["v0", "v1", "v2"]  # a tie keeps the order
    assert most_confident_first([]) == [] and [v.text for v in most_confident_first(vals(0.1))] == ["v0"]


def _people_passage(text: str, *names: str) -> Hit:
    """A passage whose index-time PERSON entities are ``names``."""
    people = tuple(Candidate(100 + text.index(n), 100 + text.index(n) + len(n), "PERSON") for n in names)
    passage = Passage(0, "a", 100, 100 + len(text), text, sentences=((100, 100 + len(text)),), candidates=people)
    return Hit(passage, 1.0, 1, dense_score=0.5, title="a")


@pytest.mark.parametrize(("question", "span", "expected"), [
    ("Which minister said roads were blocked?", "Information Minister Minendra Rijal", "Minendra Rijal"),
    ("Who urged Baku to guarantee safety?", "Council of Europe's president, Charles Michel", "Charles Michel"),
    ("Who found the boys?", "John Volanthen and Rick Stanton", "John Volanthen and Rick Stanton"),  # a list stays
    ("Which company did it?", "Acme chief Jane Roe", "Acme chief Jane Roe"),  # a title may name a group
    ("Who opened the building?", "Queen Jane Roe", "Queen Jane Roe"),  # an honorific is part of the name
    ("Who opened the building?", "the sculptor Jane Roe", "Jane Roe"),
    ("Who opened the building?", "said Jane Roe", "said Jane Roe"),  # not a role: the reader's span stays
    ("Who opened the building?", "Ludwig van Beethoven", "Ludwig van Beethoven"),  # a particle of the name
    ("Who opened the building?", "d'Alembert", "d'Alembert"),  # one word
    ("Who opened the building?", "Rick Stanton, diver Jane Roe", "Rick Stanton, diver Jane Roe"),  # two people
    ("Which agencies opened it?", "agency chief Jane Roe", "agency chief Jane Roe"),  # a plural group
    ("What did it say?", "Information Minister Minendra Rijal", "Information Minister Minendra Rijal"),
])
def test_a_who_answer_is_the_name_not_its_title(question: str, span: str, expected: str) -> None:
    text = f"On Sunday {span} spoke to reporters."
    names = [n for n in ("Minendra Rijal", "Charles Michel", "John Volanthen", "Rick Stanton", "Jane Roe", "Beethoven",
                         "Alembert") if n in text]
    hit = _people_passage(text, *names)
    b0 = text.index(span)
    rows = reader_rows(question, [hit], [ReaderSpan(0, b0, b0 + len(span), span, score=9.0, null_score=0.0)], IDF)
    best = select_reader_answer(rows, ReaderSettings(temperature=1.0, retrieval_weight=0.0))[0]
    assert best.text == expected
    citation = best.mentions[0].citation
    assert text[citation.start - 100 : citation.end - 100] == expected


def test_a_title_cut_to_a_name_read_already_keeps_its_probability() -> None:
    text = "On Sunday the Italian physicist Galileo Ferraris and then Brown spoke."
    hit = _people_passage(text, "Galileo Ferraris", "Brown")
    long, name, other = "the Italian physicist Galileo Ferraris", "Galileo Ferraris", "Brown"
    spans = [ReaderSpan(0, text.index(s), text.index(s) + len(s), s, score=sc, null_score=0.0)
             for s, sc in ((other, 9.0), (long, 8.5), (name, 8.5))]
    values = select_reader_answer(rows := reader_rows("Who spoke?", [hit], spans, IDF),
                                  ReaderSettings(temperature=1.0, retrieval_weight=0.0))
    assert len(rows) == 3 and values[0].text == name  # e^8.5 twice outweighs e^9 once
