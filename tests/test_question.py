"""What a question asks (retrieval/question.py): its type, and the keyword helpers both answerers use."""

from __future__ import annotations

import pytest

from retrieval.question import (
    AGENT_KINDS, NUMERIC_KINDS, PLACE_KINDS, TEMPORAL_KINDS, analyze_question, keyword_coverage, sentence_tokens,
)
from retrieval.tokenize import tokenize


@pytest.mark.parametrize(
    ("question", "qtype"),
    [("How many peacekeepers?", "count"), ("how much did it cost", "count"), ("When did the ceasefire begin?", "when"),
     ("In what year did the war end?", "when"), ("Where were talks held?", "where"),
     ("Which city hosted the negotiations?", "where"), ("Who is the president of Azerbaijan?", "who"),
     ("Which leader spoke?", "who"), ("Why did Armenia protest?", "why"), ("What did the EU say?", "what"),
     ("Talks were held where?", "where"), ("Tell me about peace", "other"),
     # a contracted "is" and a plural focus noun type the question as their full and singular forms do
     ("What's the capital of Armenia?", "where"), ("What\u2019s the number of peacekeepers?", "count"),
     ("Who's the president?", "who"), ("Which cities were shelled?", "where"), ("Which countries backed it?", "where"),
     ("In which centuries was it ruled?", "when"), ("Which companies bid?", "who"),
     ("What type of numbers are even?", "what"),  # a plural count noun asks for a kind, not a count
     # the wh-word that asks, not a relative pronoun or a name before it
     ("According to officials who spoke, how many people fled?", "count"),
     ("In his defense of Doctor Who, what did Howard compare?", "what"),
     ("Islamists were seen as the lesser evil when compared to whom?", "who"),
     ("Arms purchases raised tension especially in which area?", "where"),
     # the noun asked for is the last kind noun of the phrase after "which", not its first word
     ("Which French minister warned of war?", "who"), ("Which state news agency reported it?", "who"),
     ("Which Tesla board member paid?", "who"), ("Which two British divers reached them?", "who"),
     ("What did the prime minister say?", "what"), ("What did the judge decide?", "what"),  # "did": the subject
     ("Which player scores the most goals?", "who"),  # a count noun counts in the singular only
     # a figure asked for by its measure, also after a copula
     ("What was the death toll of the war?", "count"), ("What was voter turnout in the runoff?", "count"),
     ("What is the distance to the nebula?", "count"), ("What share of the vote did Leave win?", "count"),
     ("What was the name of the death toll report?", "what"),
     # "how" + an adjective of measure asks for a figure; "how well" asks for words
     ("How strong was the aftershock?", "count"), ("How deep was the crater?", "count"),
     ("How low did the pound fall?", "count"), ("How well did the album sell?", "how")],
)
def test_question_types(question: str, qtype: str) -> None:
    assert analyze_question(question).qtype == qtype


def test_how_soon_asks_for_a_figure_or_a_time() -> None:
    assert analyze_question("How soon did help arrive?").expected == NUMERIC_KINDS | TEMPORAL_KINDS
    assert analyze_question("How close was the epicentre?").expected == NUMERIC_KINDS


def test_expected_kinds_and_keywords_follow_the_question() -> None:
    question = "Which city hosted the talks on Karabakh?"
    where = analyze_question(question)
    assert where.qtype == "where" and where.expected == PLACE_KINDS and where.focus == "city"
    assert where.keywords == tuple(dict.fromkeys(tokenize(question)))  # the BM25 tokens, once each, in order
    assert "karabakh" in where.keywords and "which" not in where.keywords
    assert analyze_question("Which leader spoke?").expected == AGENT_KINDS
    assert analyze_question("Tell me about peace").expected == frozenset()


def test_keyword_coverage_is_the_idf_share_of_keywords_present() -> None:
    idf = {"yevlakh": 3.0, "talks": 1.0, "held": 0.0}
    assert keyword_coverage({"yevlakh", "talks"}, ("yevlakh", "talks", "held"), idf) == pytest.approx(1.0)
    assert keyword_coverage({"talks"}, ("yevlakh", "talks"), idf) == pytest.approx(0.25)
    assert keyword_coverage({"talks"}, ("held",), idf) == 0.0  # no weight at all: no coverage, not a division by 0


def test_sentence_tokens_point_into_the_text_at_its_offset() -> None:
    text = "Talks were held in Yevlakh."
    for start, end, token in sentence_tokens(text, 100, None):
        word = text[start - 100 : end - 100]
        assert word and token in word.lower()
    assert any(text[s - 100 : e - 100] == "Yevlakh" for s, e, _ in sentence_tokens(text, 100, None))
