"""Questions about what a named subject is: recognised, read with the subject's name, answered by a description."""

from __future__ import annotations

import pytest

from retrieval.reader import ReaderSpan
from retrieval.reader_answer import ReaderSettings, reader_rows, select_reader_answer
from retrieval.subject import Subject, asked_subject, honorific_only
from retrieval.types import Candidate, Hit, Passage

IDF = {"pashinyan": 3.0}


def _passage(text: str, *entities: tuple[str, str]) -> Hit:
    """A passage at document offset 100 whose index-time entities are ``(text, kind)`` pairs."""
    cands = tuple(Candidate(100 + text.index(t), 100 + text.index(t) + len(t), kind) for t, kind in entities)
    passage = Passage(0, "a", 100, 100 + len(text), text, sentences=((100, 100 + len(text)),), candidates=cands)
    return Hit(passage, 1.0, 1, dense_score=0.5, title="a")


def _best(question: str, hit: Hit, spans: tuple[str, ...]) -> tuple[str | None, list[str]]:
    """The best value and every row's text when the reader reads ``spans`` (best first) for ``question``."""
    subject = asked_subject(question, [hit])
    text = hit.passage.text
    read = [ReaderSpan(0, text.index(s), text.index(s) + len(s), s, score=9.0 - i, null_score=0.0)
            for i, s in enumerate(spans)]
    rows = reader_rows(subject.question if subject else question, [hit], read, IDF, subject=subject)
    values = select_reader_answer(rows, ReaderSettings(temperature=1.0, retrieval_weight=0.0))
    return (values[0].text if values else None), [r.text for r in rows]


PEOPLE = "Armenian Prime Minister Nikol Pashinyan met Mr Pashinyan's allies; Pashinyan spoke."


@pytest.mark.parametrize(("question", "read_as"), [
    ("Who is Pashinyan?", "Who is Nikol Pashinyan?"),
    ("who was pashinyan", "Who was Nikol Pashinyan?"),  # case-blind: the corpus names him
    ("Who's Mr Pashinyan?", "Who is Nikol Pashinyan?"),
    ("Who is Nikol Pashinyan?", "Who is Nikol Pashinyan?"),
    ("Who is responsible?", None),  # no person of that name
    ("Who is the prime minister?", None),
    ("Who is Azerbaijan's defence minister?", None),
    ("Who are Pashinyan?", None),  # "who are" asks about a group
    ("Who met Pashinyan?", None),
])
def test_who_is_a_name_is_read_with_the_fullest_form_of_the_name(question: str, read_as: str | None) -> None:
    hit = _passage(PEOPLE, ("Nikol Pashinyan", "PERSON"), ("Mr Pashinyan", "PERSON"))
    subject = asked_subject(question, [hit])
    if read_as is None:
        assert subject is None
    else:
        assert subject == Subject(read_as, "Nikol Pashinyan", frozenset({"nikol", "pashinyan"}), person=True)


@pytest.mark.parametrize(("spans", "expected"), [
    (("Nikol", "Armenian Prime Minister"), "Armenian Prime Minister"),  # the rest of his name is not what he is
    (("Mr", "Armenian"), "Armenian Prime Minister"),  # an honorific never answers; a title runs to the name
    (("Russian President Vladimir Putin", "Nikol Pashinyan", "Prime Minister"), "Prime Minister"),  # others' names
    (("Vladimir Putin", "Armenian Prime Minister Nikol Pashinyan", "Armenian"), "Armenian Prime Minister"),
])
def test_a_who_is_answer_describes_the_person_without_naming_anyone(spans: tuple[str, ...], expected: str) -> None:
    text = "Russian President Vladimir Putin called Armenian Prime Minister Nikol Pashinyan. Mr Pashinyan said no."
    hit = _passage(text, ("Vladimir Putin", "PERSON"), ("Nikol Pashinyan", "PERSON"))
    best, rows = _best("Who is Pashinyan?", hit, spans)
    assert best == expected
    assert all(r != "Mr" and "Putin" not in r and "Nikol" not in r for r in rows)


def test_a_place_opening_a_title_is_no_other_person() -> None:
    text = "Chiang Rai governor Narongsak Osottanakorn led the rescue."
    # the small NER model tags places as people
    hit = _passage(text, ("Chiang Rai", "PERSON"), ("Narongsak Osottanakorn", "PERSON"))
    assert _best("Who is Narongsak?", hit, ("Chiang Rai governor",)) == ("Chiang Rai governor", ["Chiang Rai governor"])


def test_an_honorific_alone_never_answers() -> None:
    assert honorific_only("Mr") and honorific_only("Dr.") and not honorific_only("Mr Smith")
    assert not honorific_only("MS") and not honorific_only("")  # the disease
    text = "Mr Smith and Dr. Jones spoke."
    hit = _passage(text, ("Smith", "PERSON"), ("Jones", "PERSON"))
    spans = [ReaderSpan(0, 0, 2, "Mr", score=9.0, null_score=0.0),
             ReaderSpan(0, 13, 16, "Dr.", score=8.0, null_score=0.0),
             ReaderSpan(0, 3, 8, "Smith", score=1.0, null_score=0.0)]
    assert [r.text for r in reader_rows("Who spoke?", [hit], spans, IDF)] == ["Smith"]


THINGS = ("Binance, a cryptocurrency exchange, put in $500 million. Binance's HDI is 0.5. The failed blood-testing startup Theranos closed. "
          "Electric-car maker Tesla Inc sold cars. The parliament, the Verkhovna Rada, met. "
          "It was measured by the U.S. Geological Survey (USGS) and the capital of Israel. It is the HDI. The anti-EU "
          "UK Independence Party (UKIP) lost in Kent.")


@pytest.mark.parametrize(("question", "name"), [
    ("What is Binance?", "Binance"),
    ("what was the Verkhovna Rada?", "Verkhovna Rada"),
    ("What does USGS stand for?", "USGS"),
    ("What is the capital of Israel?", None),  # a lowercase noun: asks for a capital
    ("What is Hubble?", None),  # not a name the passages use
    ("What is the USGS doing?", None),
    ("What is Binance's HDI?", None),  # asks for an attribute of Binance
    ("What is the HDI?", None),  # asks for a figure
    ("What is It?", None),  # a sentence's first word
])
def test_what_is_a_name_is_a_question_about_that_thing(question: str, name: str | None) -> None:
    subject = asked_subject(question, [_passage(THINGS)])
    assert (subject.name if subject else None) == name
    if subject:
        assert subject.question == question and not subject.person


@pytest.mark.parametrize(("question", "spans", "expected"), [
    ("What is Binance?", ("$500 million", "a cryptocurrency exchange"), "a cryptocurrency exchange"),  # no figure
    ("What was Theranos?", ("failed blood-testing",), "failed blood-testing startup"),  # runs to the name
    ("What is Tesla?", ("Electric-car maker Tesla Inc",), "Electric-car maker"),  # the name cut off
    ("What is the Verkhovna Rada?", ("The parliament, the Verkhovna Rada, met",), "The parliament"),
    ("What does USGS stand for?", ("Geological Survey",), "U.S. Geological Survey"),  # the whole name
    ("What does USGS stand for?", ("USGS", "Geological Survey"), "U.S. Geological Survey"),  # not the acronym itself
    ("What does UKIP stand for?", ("Independence Party",), "UK Independence Party"),  # not "EU" of "anti-EU"
    ("What does UKIP stand for?", ("Kent", "Independence Party"), "UK Independence Party"),  # "Kent" spells nothing
])
def test_a_what_is_answer_describes_the_thing(question: str, spans: tuple[str, ...], expected: str) -> None:
    hit = _passage(THINGS, ("$500 million", "MONEY"))
    assert _best(question, hit, spans)[0] == expected


def test_a_stopword_keeps_a_description_from_running_into_the_name() -> None:
    text = "The Capella is a luxury hotel on Sentosa, a resort island."
    assert _best("What is Sentosa?", _passage(text), ("a luxury hotel",))[0] == "a luxury hotel"


def test_stand_for_widening_stops_at_a_sentence_end() -> None:
    text = "The quake hit on Monday. Geological Survey (USGS) staff said."
    assert _best("What does USGS stand for?", _passage(text), ("Geological Survey",))[0] is None


def test_who_is_reads_the_common_full_name_not_a_rare_longer_one() -> None:
    text = "Donald Trump met Donald Trump. Donald Trump spoke; Donald Trump Jr listened to Donald Trump."
    hit = _passage(text, *[("Donald Trump", "PERSON")] * 1)
    people = [Candidate(100 + i, 100 + i + len("Donald Trump"), "PERSON") for i in range(len(text))
              if text.startswith("Donald Trump", i) and not text.startswith("Donald Trump Jr", i)]
    jr = text.index("Donald Trump Jr")
    people.append(Candidate(100 + jr, 100 + jr + len("Donald Trump Jr"), "PERSON"))
    hit = Hit(Passage(0, "a", 100, 100 + len(text), text, sentences=((100, 100 + len(text)),),
                      candidates=tuple(people)), 1.0, 1, dense_score=0.5, title="a")
    subject = asked_subject("Who is Trump?", [hit])
    assert subject is not None and subject.question == "Who is Donald Trump?"


def test_another_persons_title_and_a_repeated_description_are_not_read() -> None:
    text = "British Prime Minister Theresa May met Labour Party Leader Jeremy Corbyn."
    hit = _passage(text, ("Theresa May", "PERSON"), ("Jeremy Corbyn", "PERSON"))
    best, rows = _best("Who is Corbyn?", hit, ("British Prime Minister", "Labour", "Labour Party"))
    assert best == "Labour Party Leader" and rows == ["Labour Party Leader"]  # both run to the name: read once


def test_a_person_span_holding_the_name_keeps_its_apposition() -> None:
    text = "Nikol Pashinyan, Armenia's prime minister, spoke."
    hit = _passage(text, ("Nikol Pashinyan", "PERSON"))
    assert _best("Who is Pashinyan?", hit, ("Nikol Pashinyan, Armenia's prime minister",))[0] == (
        "Armenia's prime minister")
