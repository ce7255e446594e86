"""The reader's span clean-up (retrieval/reader.py); the model itself is exercised in test_answer_reader.py."""

from __future__ import annotations

import pytest

from retrieval.reader import trim_span


@pytest.mark.parametrize(
    ("span", "expected"),
    [
        ("Azerbaijan's internal affair\".", "Azerbaijan's internal affair"),  # closing quote it never opened
        ("\"Azerbaijan's internal affair", "Azerbaijan's internal affair"),  # opening quote it never closes
        ("\u201cillegal Armenian armed groups", "illegal Armenian armed groups"),
        ("5 a.m. ET)", "5 a.m. ET"),
        ("Yevlakh.", "Yevlakh"),
        ("Yevlakh, ", "Yevlakh"),
        ("1 p.m.", "1 p.m."),  # an abbreviation keeps its full stop
        ("the U.S.", "the U.S."),
        ("(5 a.m. ET)", "(5 a.m. ET)"),  # balanced: kept
        ("\"quoted\"", "\"quoted\""),
        ("mistaken them for \u201cillegal groups.\u201d", "mistaken them for \u201cillegal groups.\u201d"),
    ],
)
def test_trim_span_drops_only_the_sentence_punctuation(span: str, expected: str) -> None:
    text = "Before " + span + " after"
    start, end = trim_span(text, 7, 7 + len(span))
    assert text[start:end] == expected


@pytest.mark.parametrize(
    ("text", "span", "expected"),
    [
        ("at 1 p.m. local time", "1 p.m", "1 p.m."),  # the wordpiece span stopped before the last full stop
        ("said the U.S. on Monday", "the U.S", "the U.S."),
        ("ended at 5 p.m.", "5 p.m", "5 p.m."),
        ("in Washington D.C. today", "D.C", "D.C."),
        ("(5 a.m. ET)", "(5 a.m", "5 a.m."),  # completed, then the bracket it never closes goes
        ("\u201cthe U.S. is here\u201d", "\u201cthe U.S", "the U.S."),  # the unmatched quote goes, the stop stays
        ("got grade B. Then", "grade B", "grade B"),  # a sentence's full stop after one letter is not taken
        ("the U.S.A. team", "the U.S", "the U.S"),  # not cut short of this full stop: of the next letters
        ("the end of 2023. Then", "2023", "2023"),
    ],
)
def test_trim_span_completes_a_cut_abbreviation(text: str, span: str, expected: str) -> None:
    start = text.index(span)
    a, b = trim_span(text, start, start + len(span))
    assert text[a:b] == expected


@pytest.mark.parametrize(
    ("text", "span", "expected"),
    [
        ("fired having mistaken them for \u201cillegal groups.\u201d Then", "mistaken them for \u201cillegal groups",
         "mistaken them for \u201cillegal groups.\u201d"),  # the quote it opened is closed, with the stop inside it
        ("he said \"no way\" and left", "said \"no way", "said \"no way\""),
        ("a (big one) here", "a (big one", "a (big one)"),
        ("a (big one here", "a (big", "a (big"),  # no closing mark right after: left as read
        ("he said \u201cno\u201d again", "\u201cno", "no"),  # an opener at the edge still goes
        ("the \u201cfull-scale aggression\u201d against", "the \u201cfull-scale aggression\u201d", "the \u201cfull-scale aggression\u201d"),
        ("she asked \u201cwhy not?\u201d and left", "asked \u201cwhy not", "asked \u201cwhy not?\u201d"),
        ("he called it \u201ca disaster,\u201d and left", "it \u201ca disaster", "it \u201ca disaster,\u201d"),
        ("a (big one. Then", "a (big one", "a (big one"),  # a full stop with no closer after it is not taken
        ("ends with (the end)", "with (the end", "with (the end)"),  # the closer is the text's last character
        ("(a) (b) c", "(a) (b", "(a) (b)"),  # the leading bracket is closed inside; the later one is closed here
        ("x (a) b) y", "(a) b)", "(a) b"),  # the trailing bracket has no partner: the one inside pairs with "(a"
    ],
)
def test_trim_span_closes_a_quote_it_opened(text: str, span: str, expected: str) -> None:
    start = text.index(span)
    a, b = trim_span(text, start, start + len(span))
    assert text[a:b] == expected


def test_trim_span_never_inverts() -> None:
    for span in [".", ",", "\"", "(", "\u201d", ". ,"]:
        start, end = trim_span(span, 0, len(span))
        assert 0 <= start <= end <= len(span)
