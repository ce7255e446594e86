"""The reader's span clean-up (retrieval/reader.py); the model itself runs through the seeds engine (test_engine.py,
test_cli.py, evaluation/test_eval_seeds.py), and its spans' selection is tested in test_reader_answer.py."""

from __future__ import annotations

import numpy as np
import pytest

from retrieval.reader import SpanReader, bundled_reader_paths, trim_span


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
        ("7.5%.", "7.5%"),  # a decimal point is not an abbreviation's full stop
        ("$1.2bn.", "$1.2bn"),
        ("3.14.", "3.14"),
        ("Apple Inc.", "Apple Inc."),  # a name's own abbreviation keeps it
        ("Gegham Stepanyan Jr.", "Gegham Stepanyan Jr."),
        ("J.", "J."),  # an initial
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


def test_trim_span_keeps_a_letter_with_its_combining_marks() -> None:
    """Decomposed (NFD) text: the tokenizer strips accents, so its offsets stop before a final combining mark."""
    import unicodedata

    text = unicodedata.normalize("NFD", "Anna Müller succeeded René Société as director.")
    name = unicodedata.normalize("NFD", "René Société")
    start = text.index(name)
    assert trim_span(text, start, start + len(name) - 1) == (start, start + len(name))  # "...te" + U+0301 put back
    assert trim_span(text, start + 1, start + len(name)) == (start + 1, start + len(name))  # a letter start stays
    accent = text.index("\u0301")
    assert trim_span(text, accent, start + len(name))[0] == accent - 1  # never starts on a mark


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


class _StubSession:
    """A stand-in model whose start/end logits make ``best`` the best span and ``second`` the next (token positions)."""

    def __init__(self, best: tuple[int, int], second: tuple[int, int]) -> None:
        self.best, self.second = best, second

    def run(self, _outputs: object, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        starts = np.zeros(feeds["input_ids"].shape, dtype=np.float32)
        ends = np.zeros_like(starts)
        starts[:, self.best[0]], ends[:, self.best[1]] = 9.0, 9.0
        starts[:, self.second[0]], ends[:, self.second[1]] = 5.0, 5.0
        return [starts, ends]


def _token_bounds(reader: SpanReader, question: str, context: str) -> tuple[dict[int, int], dict[int, int]]:
    """Token position of the context token that begins / ends at each character offset."""
    enc = reader.tokenizer.encode(question, context)
    in_context = [(k, a, b) for k, ((a, b), sid) in enumerate(zip(enc.offsets, enc.sequence_ids)) if sid == 1]
    return {a: k for k, a, _b in in_context}, {b: k for k, _a, b in in_context}


@pytest.mark.parametrize("line_break", ["\n", "\r\n", "\r", "\u2028", "\u2029"])
@pytest.mark.parametrize("per_window", [1, 3])
def test_read_never_returns_a_span_across_a_line_break(line_break: str, per_window: int) -> None:
    paths = bundled_reader_paths()
    if paths is None:
        pytest.skip("no bundled reader in this install")
    reader = SpanReader(*paths)  # the real tokenizers; the model is replaced below
    question = "Where were talks held?"
    context = f"Talks were planned.{line_break}They were held in Yevlakh on Thursday."
    begins, finishes = _token_bounds(reader, question, context)
    held, place = context.index("held"), context.index("Yevlakh")
    reader.session = _StubSession(
        best=(begins[context.index("planned")], finishes[held + len("held")]),  # "planned. They were held"
        second=(begins[place], finishes[place + len("Yevlakh")]),
    )
    spans = reader.read(question, [context], top_n=3, per_window=per_window)
    assert spans and all(len(s.text.splitlines()) == 1 for s in spans)
    assert spans[0].text == "Yevlakh"  # the next best takes the place of the span across the break


def test_read_lets_a_span_cross_the_line_breaks_of_hard_wrapped_text() -> None:
    import textwrap

    paths = bundled_reader_paths()
    if paths is None:
        pytest.skip("no bundled reader in this install")
    reader = SpanReader(*paths)
    question = "Where were talks held?"
    context = textwrap.fill(
        "Both sides said talks on reintegrating the breakaway territory into the rest of Azerbaijan would be held on "
        "Thursday in the city of Yevlakh, officials in Baku and Stepanakert told reporters on Wednesday.", 40)
    answer = "Thursday in the city of Yevlakh"
    assert answer not in context and answer in " ".join(context.split())  # it runs across a wrapped line's end
    begins, finishes = _token_bounds(reader, question, context)
    start = context.index("Thursday")
    end = context.index("Yevlakh") + len("Yevlakh")
    reader.session = _StubSession(best=(begins[start], finishes[end]), second=(begins[start], begins[start]))
    spans = reader.read(question, [context], top_n=3, per_window=1)
    assert " ".join(spans[0].text.split()) == answer
