"""How the trained reader's spans become answers: placed in their documents, pooled by value, given a confidence.

The reader (``retrieval.reader``) only finds spans and scores them; placing the spans, pooling them by value and
the confidence curve fitted by ``eval/fit_answerer.py --stage reader`` need numpy alone, so they stay on the light
query path and are tested without the model.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from retrieval.question import analyze_question, keyword_coverage, text_tokens, word_family
from retrieval.subject import Subject, description_span, honorific_only
from retrieval.tokenize import ENGLISH_STOPWORDS, TokenizerConfig
from retrieval.types import AnswerValue, Citation, Hit
from retrieval.values import NUMBER_WORDS, Mention, ReaderEvidence, ScoredValue, logit, normalize_value, shift_probability, sigmoid

__all__ = [
    "CHOOSE_AMONG",
    "READER_CONFIDENCE_FEATURES",
    "ReaderRow",
    "ReaderSettings",
    "best_dense_cosine",
    "best_keyword_coverage",
    "claimed_values",
    "confidence_features",
    "most_confident_first",
    "reader_rows",
    "select_reader_answer",
    "sentence_missing",
    "whole_words",
]

READER_CONFIDENCE_FEATURES = (
    "logit_prob", "sentence_coverage", "margin/10", "missing_passage", "missing_sentence", "best_cosine",
)


@dataclass(frozen=True)
class ReaderSettings:
    """How reader spans become answers; fitted by ``eval/fit_answerer.py --stage reader``.

    A span's logit is ``(start + end logit) / temperature + retrieval_weight / rank``; spans and the best
    "no answer" option share one softmax, and a value's probability is the sum over its mentions. The confidence
    is a logistic curve over ``READER_CONFIDENCE_FEATURES`` (coefficients, then the intercept), fitted on SQuAD
    v2.0 calibration articles to the chance that the answer is right, plus ``prior_shift`` (see the field).
    """

    passages: int = 5
    temperature: float = 1.0
    retrieval_weight: float = 1.0
    confidence_coef: tuple[float, ...] = (1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    threshold: float = 0.5
    # Overlapping spans in one document are one mention read with different boundaries: pool them (fitted choice)
    pool_overlapping: bool = False
    # A pooled mention is named by its most probable reading, each reading's probability first multiplied by this
    # unless it is exactly an entity of the kind the question asks for ("where" -> a place): 1.0 = type-blind
    untyped_reading_weight: float = 1.0
    # A span's logit gains this times (its sentence's cosine to the question - the best such cosine among the spans):
    # the reader sees one passage at a time, the sentence vectors compare sentences across passages (fitted choice)
    sentence_weight: float = 0.0
    # Off-topic gate: abstain when no retrieved passage is this similar to the question (dense cosine). SQuAD-style
    # calibration data has only on-topic questions, so the confidence curve cannot learn "the corpus is about
    # something else"; the gate is the 1st percentile of answerable calibration questions' best cosine.
    min_question_cosine: float = 0.0
    # Added to the confidence's logit. Half of the calibration questions have no answer, a share no user's questions
    # are known to have: the shift makes the shown probability as well calibrated where none lacks an answer as where
    # half do (minimax expected calibration error, fitted). ``threshold`` is on the shown scale: the fit moves it
    # with the shift, so the shift changes no decision (changing one without the other would).
    prior_shift: float = 0.0
    # The off-topic gate's exception: a question below ``min_question_cosine`` is still on topic when one retrieved
    # passage holds more than this share of its keywords (``best_keyword_coverage``). A short question ("when did the
    # offensive start?") can sit far from every passage in the dense space while its words are all there. Fitted to
    # let through at most 1% of the off-topic questions the cosine stops; 1.0: no exception.
    min_question_coverage: float = 1.0

    def __post_init__(self) -> None:
        if not math.isfinite(self.prior_shift):
            raise ValueError("prior_shift must be a finite number")
        if len(self.confidence_coef) != len(READER_CONFIDENCE_FEATURES) + 1:
            raise ValueError(f"reader confidence needs {len(READER_CONFIDENCE_FEATURES) + 1} coefficients")
        if not 0.0 < self.untyped_reading_weight <= 1.0:
            raise ValueError("untyped_reading_weight must be in (0, 1]")
        if not 0.0 <= self.sentence_weight < math.inf:
            raise ValueError("sentence_weight must be a finite number >= 0")
        if not 0.0 <= self.min_question_coverage <= 1.0:
            raise ValueError("min_question_coverage must be in [0, 1]")

    def to_json(self) -> dict[str, Any]:
        return {
            "passages": self.passages, "temperature": self.temperature, "retrieval_weight": self.retrieval_weight,
            "confidence_features": list(READER_CONFIDENCE_FEATURES), "confidence": list(self.confidence_coef),
            "threshold": self.threshold, "min_question_cosine": self.min_question_cosine,
            "pool_overlapping": self.pool_overlapping, "untyped_reading_weight": self.untyped_reading_weight,
            "sentence_weight": self.sentence_weight, "prior_shift": self.prior_shift,
            "min_question_coverage": self.min_question_coverage,
        }

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> ReaderSettings:
        if tuple(obj.get("confidence_features", ())) != READER_CONFIDENCE_FEATURES:
            raise ValueError("reader confidence was fitted for other features; re-run eval/fit_answerer.py --stage reader")
        return cls(
            passages=int(obj["passages"]), temperature=float(obj["temperature"]),
            retrieval_weight=float(obj["retrieval_weight"]),
            confidence_coef=tuple(float(c) for c in obj["confidence"]),
            threshold=float(obj["threshold"]), min_question_cosine=float(obj.get("min_question_cosine", 0.0)),
            pool_overlapping=bool(obj.get("pool_overlapping", False)),
            untyped_reading_weight=float(obj.get("untyped_reading_weight", 1.0)),
            sentence_weight=float(obj.get("sentence_weight", 0.0)),
            prior_shift=float(obj.get("prior_shift", 0.0)),
            min_question_coverage=float(obj.get("min_question_coverage", 1.0)),
        )

    def value_confidence(self, value: ScoredValue, best_cosine: float) -> float:
        """The probability that ``value`` is right, from ``confidence_features`` (``best_cosine``: the best dense
        cosine between the question and a retrieved passage)."""
        x = confidence_features(value, best_cosine)
        return sigmoid(float(np.dot(self.confidence_coef[:-1], x)) + self.confidence_coef[-1] + self.prior_shift)

    def fitted_confidence(self, shown: float) -> float:
        """``shown`` (a ``value_confidence``) back on the fitted curve's scale, before ``prior_shift``."""
        return shift_probability(shown, -self.prior_shift)


def confidence_features(value: ScoredValue, best_cosine: float) -> np.ndarray:
    """The reader confidence's inputs, in the order of ``READER_CONFIDENCE_FEATURES``."""
    ev = value.evidence or ReaderEvidence(0.0, 0.0, 0.0)
    return np.asarray([logit(value.prob), value.coverage, ev.margin / 10, ev.missing_passage,
                       ev.missing_sentence, best_cosine])


def best_dense_cosine(hits: Sequence[Hit], default: float = 0.0) -> float:
    """The best dense cosine between the question and a retrieved passage (``default`` when none has one)."""
    return max((h.dense_score for h in hits if h.dense_score is not None), default=default)


def best_keyword_coverage(
    keywords: Sequence[str], hits: Sequence[Hit], idf: dict[str, float], tokenizer: TokenizerConfig | None = None,
    unseen_weight: float | None = None,
) -> float:
    """The largest IDF-weighted share of ``keywords`` that one retrieved passage contains (0.0 without keywords).

    A keyword the corpus never uses weighs as its rarest word (``unseen_weight``, the largest idf when not given):
    "Who won the 2022 FIFA World Cup?" shares "2022" with a corpus about a war, and "FIFA", which it lacks, is what
    says the question is about something else. A keyword counts as contained when the passage has a word of its
    family (``word_family``): "which telescope was using the mirror?" is about a passage where one "used" it.
    """
    unseen = unseen_weight if unseen_weight is not None else max(idf.values(), default=1.0) or 1.0
    weights = {k: idf.get(k, unseen) for k in keywords}
    total = sum(weights.values())
    if total <= 0:
        return 0.0
    best = 0.0
    for h in hits:
        tokens = set(text_tokens(h.passage.text, tokenizer))
        families = {word_family(t) for t in tokens if len(t) > 2}  # "us" the pronoun is no family of "used"
        held = (w for k, w in weights.items() if k in tokens or (len(k) > 2 and word_family(k) in families))
        best = max(best, sum(held) / total)
    return best


@dataclass(frozen=True)
class ReaderRow:
    """One reader span located in the corpus, with what scoring needs."""

    text: str
    citation: Citation
    span_score: float
    null_score: float
    rank: int
    coverage: float
    evidence: ReaderEvidence | None = None
    typed: bool = False  # exactly an index-time entity of the kind the question asks for
    sentence_cosine: float | None = None  # cosine of the span's (first) sentence to the question, when known


# The reader's answer is the most confident of this many values, best pooled probability first (docs/experiments.md)
CHOOSE_AMONG = 3


def most_confident_first(values: Sequence[AnswerValue], among: int = CHOOSE_AMONG) -> list[AnswerValue]:
    """``values`` (best pooled probability first) with the most confident of the first ``among`` moved to the front
    (ties keep the more probable). The confidence weighs what the pooled probability does not (the answer
    sentence's share of the question, the margin over "no answer", missing rare words), and a runner-up shown
    more confident than the answer read as a contradiction; choosing it moved 2 of 244 news answers (EM) the
    right way and raised held-out v2.0 abstention at 90% of F1 kept from 54.1% to 56.9%."""
    out = list(values)
    if len(out) > 1:
        lead = max(range(min(among, len(out))), key=lambda i: out[i].score)
        out.insert(0, out.pop(lead))
    return out


def sentence_missing(
    values: Sequence[ScoredValue], keywords: Sequence[str], idf: dict[str, float], tokenizer: TokenizerConfig | None = None,
) -> dict[str, float]:
    """For each value (by key), the least that one of its mentions' sentences lacks of ``keywords``: the IDF of the
    rarest keyword absent, over the rarest keyword's (see ``ReaderEvidence``)."""
    return {
        v.key: min(_missing(set(text_tokens(m.citation.sentence, tokenizer)), keywords, idf) for m in v.mentions)
        for v in values if v.mentions
    }


def _missing(tokens: set[str], keywords: Sequence[str], idf: dict[str, float]) -> float:
    """IDF of the rarest keyword absent from ``tokens``, over the IDF of the rarest keyword (0: none absent)."""
    top = max((idf.get(k, 0.0) for k in keywords), default=0.0)
    if top <= 0:
        return 0.0
    return max((idf.get(k, 0.0) for k in keywords if k not in tokens), default=0.0) / top


# Digits and punctuation, no letter: never the answer to "who" (5 of SQuAD v1.1 train's 11,324 "who" answers,
# all of them questions of another kind: "Which president ended the draft?" -> "1973").
_BARE_FIGURE = re.compile(r"[\W\d_]*\d[\W\d_]*")


_HOW_MANY = re.compile(r"\bhow\s+many\b", re.IGNORECASE)
# What a "how many" answer states: a numeral, a number word or ordinal, or a word of quantity. 30 of SQuAD v1.1
# train's 5,098 "how many" answers state none of these ("Universal is the only studio", "a number of years").
_QUANTITY_WORDS = frozenset(NUMBER_WORDS) | {
    "first", "second", "third", "fifth", "eighth", "ninth", "twelfth", "zero", "none", "no", "half", "halves",
    "quarter", "quarters", "thirds", "once", "twice", "thrice", "several", "few", "many", "numerous", "multiple",
    "dozens", "hundreds", "thousands", "millions", "billions", "both", "all", "every", "each", "single", "number",
    "handful", "majority", "minority", "couple", "pair",
}


# Ordinals past "third" are a number word and "th" ("seventh", "twentieth", "hundredth").
_ORDINAL_STEMS = frozenset({"four", "six", "seven", "nin", "ten", "eleven", "thirteen", "fourteen", "fifteen",
                            "sixteen", "seventeen", "eighteen", "nineteen", "twentie", "thirtie", "fortie",
                            "fiftie", "sixtie", "seventie", "eightie", "ninetie", "hundred", "thousand", "million"})


def _states_a_quantity(text: str) -> bool:
    if any(ch.isdigit() for ch in text):
        return True
    words = re.findall(r"[a-z]+", text.lower())
    return any(w in _QUANTITY_WORDS or w.rstrip("s") in _QUANTITY_WORDS or w.removesuffix("th") in _ORDINAL_STEMS
               for w in words)


# What opens a reason without being part of it: "why did the banks face losses?" is answered by "interest rates had
# risen", not "because interest rates had risen". SQuAD's annotators went both ways (of v1.1 train's 1,248 "why"
# answers, 62 open with "because" and 70 start right after one); its dev set's several answers per question cover
# both, and there the cut changes 17 of 7,753 forced answers, EM +6 (see docs/experiments.md).
_REASON_OPENER = re.compile(r"(?:because\s+of\b|because(?!\s+of\b)|due\s+to|owing\s+to)\s+(?=\S)", re.IGNORECASE)


def reason_without_connective(text: str) -> int:
    """How many leading characters of a "why" answer are its connective ("because of ", "due to "); 0: none, or
    nothing but punctuation would be left ("because of ." stays)."""
    m = _REASON_OPENER.match(text)
    return m.end() if m and any(ch.isalnum() for ch in text[m.end():]) else 0


# A list of people keeps all of them ("John Volanthen and Rick Stanton").
_LIST_JOINER = re.compile(r"\s(?:and|or|nor|&)\s|\s&|&\s", re.IGNORECASE)
# Titles that SQuAD v1.1 train's "who" annotators leave out before a name at least twice as often as they keep them
# (kept / left out: Minister 0 / 34, Leader 0 / 26, President 24 / 51, Governor 7 / 25, Director 0 / 14, Secretary
# 0 / 10, CEO 0 / 8), and a few that train has too few of to count (Chairman 1 / 2, Spokesman 0 / 2, Mr 1 / 2) but
# news answers leave out; the honorifics annotators keep as part of the name (Queen 23 / 3, Sir 56 / 2, Pope 36 / 0,
# General 64 / 20, Dr. 14 / 1) are never cut.
_DROPPED_TITLES = frozenset({"president", "minister", "governor", "secretary", "ceo", "leader", "chairman",
                             "chairwoman", "director", "spokesman", "spokeswoman", "spokesperson", "mr", "mrs", "ms"})
# Lowercase words before a name that are not the person's role: when ("former", "late"), a verb of saying or
# naming ("said", "called"), or a particle of the name itself.
_NOT_ROLE_WORDS = frozenset({"former", "late", "then", "ancient", "said", "says", "told", "including", "like", "named",
                             "called",
                             # particles of a name the entity may leave out ("Ludwig van Beethoven")
                             "van", "von", "de", "da", "di", "del", "della", "der", "den", "du", "dos", "das", "bin",
                             "ibn", "al", "el", "la", "le", "ter", "ten", "y"})
_WORD_BEFORE_NAME = re.compile(r"([^\W\d_][\w'’.]*?)\.?,?\s+$")  # a word, then a space: "d'Alembert" is one name


def name_without_title(text: str, start: int, end: int, candidates: Sequence[Any]) -> int:
    """How many leading characters of a "who" answer come before the person it names: a span that ends with an
    index-time PERSON entity, which starts later, after a word saying the person's role, answers by the name
    ("Information Minister Minendra Rijal" -> "Minendra Rijal", "Council of Europe's president, Charles Michel" ->
    "Charles Michel"). A role word is a lowercase word other than a stopword ("the Monarch" stays), or a title in
    ``_DROPPED_TITLES``. 0: no such entity, another kind of word before it, or the words before it join a list.
    ``start``/``end``: the span's document offsets."""
    people = [c for c in candidates if c.kind == "PERSON" and start <= c.start < end]
    person = min((c for c in people if c.end == end and c.start > start), key=lambda c: c.start, default=None)
    if person is None or any(c.end <= person.start for c in people):  # another person before: "Smith, diver Jones"
        return 0
    prefix = text[: person.start - start]
    m = _WORD_BEFORE_NAME.search(prefix)
    if not m or _LIST_JOINER.search(prefix):
        return 0
    word = m.group(1)
    role = (word.islower() and word not in ENGLISH_STOPWORDS and word not in _NOT_ROLE_WORDS) or (
        word.lower() in _DROPPED_TITLES)
    return person.start - start if role else 0


# A question that asks for a date by name, and a span that names only a day of the week: none of SQuAD v1.1 train's
# 391 "what/which date" questions is answered by a weekday alone.
_ASKS_DATE = re.compile(r"\b(?:what|which)\s+(?:\w+\s+)?date\b", re.IGNORECASE)
_WEEKDAY = re.compile(r"(?:on\s+)?(?:mon|tues|wednes|thurs|fri|satur|sun)day\.?", re.IGNORECASE)


_CURRENCY_SIGNS = "$£€¥"
_COUNTRY_LETTERS = re.compile(r"(?:^|[^\w])([A-Z]{1,3})$")


def whole_words(text: str, start: int, end: int) -> tuple[int, int]:
    """``[start, end)`` widened to whole words ("1990" read inside "1990s"; 0.5% of SQuAD train answers start or end
    inside a word) and to a currency's country letters ("$20m" read inside "S$20m", "US$5")."""
    if start < end:
        while start > 0 and text[start - 1].isalnum() and text[start].isalnum():
            start -= 1
        if text[start] in _CURRENCY_SIGNS and (m := _COUNTRY_LETTERS.search(text, max(0, start - 4), start)):
            start = m.start(1)
        while end < len(text) and text[end].isalnum() and text[end - 1].isalnum():
            end += 1
    return start, end


def reader_rows(
    question: str, hits: Sequence[Hit], spans: Sequence[Any], idf: dict[str, float],
    tokenizer: TokenizerConfig | None = None, sentence_cosines: Sequence[Sequence[float]] | None = None,
    subject: Subject | None = None,
) -> list[ReaderRow]:
    """Place reader spans (offsets within ``hits[i].passage.text``) in their documents and sentences.

    ``sentence_cosines[i][j]``: the question's cosine to sentence ``j`` of ``hits[i]`` (``Engine.sentence_cosines``).
    ``subject``: what a "who/what is <name>?" question asks about (``retrieval.subject.asked_subject``; ``question``
    is then its ``question``): its answer describes it, so it is no entity of a kind, and each span is cut to the part
    that can describe it, or dropped (``description_span``).
    """
    analysis = analyze_question(question, tokenizer)
    keywords, expected = analysis.keywords, analysis.expected - {"CLAUSE"}
    if subject is not None:
        expected = frozenset()
    counts_things = bool(_HOW_MANY.search(question))
    rows: list[ReaderRow] = []
    seen: set[tuple[str, int, int]] = set()
    asks_date = bool(_ASKS_DATE.search(question))
    for span in spans:
        hit = hits[span.context_index]
        p = hit.passage
        a, b = whole_words(p.text, span.start, span.end)
        start, end, text = p.start + a, p.start + b, p.text[a:b]
        if (p.doc_id, start, end) in seen or not text.strip():
            continue
        if analysis.qtype == "who" and _BARE_FIGURE.fullmatch(text.strip()):
            continue  # "who is Giuseppe Lanzoni?" is not answered by his age, "78"
        if honorific_only(text):
            continue
        if subject is not None:
            if (part := description_span(subject, p, start, end)) is None:
                continue  # "who is Pashinyan?" is answered by what he is: not (part of) his name, nor another's name
            start, end = part
            text = p.text[start - p.start : end - p.start]
            if not text.strip() or (p.doc_id, start, end) in seen:
                continue  # the description was read already, with a better score
            seen.add((p.doc_id, start, end))
        if counts_things and not _states_a_quantity(text):
            continue  # "how many boats did the volunteers bring?" is not answered by "boats and blankets"
        if asks_date and _WEEKDAY.fullmatch(text.strip()):
            continue  # "on what date did the boys enter the cave?" is not answered by "Saturday"
        seen.add((p.doc_id, start, end))
        if analysis.qtype == "why" and (cut := reason_without_connective(text)):
            text, start = text[cut:], start + cut
            if (p.doc_id, start, end) in seen:
                continue  # the reason alone was read already, with a better score
            seen.add((p.doc_id, start, end))
        elif analysis.asks_for_person and subject is None and (
                cut := name_without_title(text, start, end, p.candidates)):
            # kept beside the name read alone, if it was: each reading's probability is that one mention's
            text, start = text[cut:], start + cut
        j, (s0, s1) = next(((j, (a, b)) for j, (a, b) in enumerate(p.sentences) if a <= start < b),
                           (None, (p.start, p.end)))
        # the sentence reaches the span's end, even a closing quote the span took along past the full stop
        s1 = max(s1, end, next((b for a, b in p.sentences if a < end <= b), s1))
        sentence = p.text[s0 - p.start : s1 - p.start]
        cosines = sentence_cosines[span.context_index] if sentence_cosines is not None else ()
        sentence_cosine = float(cosines[j]) if j is not None and j < len(cosines) else None
        sentence_tokens = set(text_tokens(sentence, tokenizer))
        cov = keyword_coverage(sentence_tokens, keywords, idf)
        evidence = ReaderEvidence(
            span.score - span.null_score, _missing(set(text_tokens(p.text, tokenizer)), keywords, idf),
            _missing(sentence_tokens, keywords, idf),
        )
        citation = Citation(
            doc_id=p.doc_id, title=hit.title, start=start, end=end, text=text, passage_id=p.passage_id,
            sentence=sentence, sentence_start=s0, sentence_end=s1,
        )
        typed = any(c.start == start and c.end == end and c.kind in expected for c in p.candidates)
        rows.append(ReaderRow(text, citation, span.score, span.null_score, hit.rank, cov, evidence, typed,
                              sentence_cosine))
    return rows


def claimed_values(
    values: Sequence[ScoredValue], hits: Sequence[Hit], spans: Sequence[Any]
) -> set[tuple[str, str]]:
    """(value key, document) pairs where the document's passage gives the value as its own answer: a mention
    overlaps the best span the reader found in that passage, and the reader prefers that span to "no answer"
    there. Only these count as another source's answer when sources disagree; a figure its passage does not offer
    as the answer is another fact."""
    leads: dict[int, Any] = {}
    for s in sorted(spans, key=lambda s: -s.score):
        leads.setdefault(s.context_index, s)
    claims = [
        (hits[i].passage.doc_id, hits[i].passage.start + s.start, hits[i].passage.start + s.end)
        for i, s in leads.items() if s.score > s.null_score
    ]
    return {
        (v.key, d) for v in values for m in v.mentions for d, a, e in claims
        if m.citation.doc_id == d and m.citation.start < e and a < m.citation.end
    }


def _pool_overlapping(
    rows: Sequence[ReaderRow], probs: list[float], untyped_weight: float = 1.0
) -> tuple[list[ReaderRow], list[float]]:
    """Spans that overlap in the same document are one mention read with different boundaries ("2,000",
    "about 2,000 peacekeepers"): each group keeps the sum of their probabilities and the text of its most probable
    reading, where a reading that is not an entity of the asked-for kind counts ``untyped_weight`` times its
    probability ("Yevlakh" over "Thursday in the city of Yevlakh" for a "where" question)."""
    order = sorted(range(len(rows)), key=lambda i: -probs[i])
    heads: list[int] = []
    members: dict[int, list[int]] = {}
    for i in order:
        c = rows[i].citation
        head = next((h for h in heads if rows[h].citation.doc_id == c.doc_id
                     and rows[h].citation.start < c.end and c.start < rows[h].citation.end), None)
        if head is None:
            heads.append(i)
            members[i] = [i]
        else:
            members[head].append(i)

    def named_by(group: list[int]) -> int:  # ties go to the first, i.e. the more probable, reading
        def weight(i: int) -> float:
            return probs[i] * (1.0 if rows[i].typed else untyped_weight)

        return _unspliced(rows, probs, group, max(group, key=weight), weight)

    return [rows[named_by(members[h])] for h in heads], [sum(probs[i] for i in members[h]) for h in heads]


# A reading counts as one end of a splice when its probability is at least this share of the splice's: chosen over
# {0, 0.1, 0.3, 0.5} on the calibration articles (forced F1 75.91 -> 75.99; held-out v2.0 75.53 -> 75.75).
SPLICE_SHARE = 0.3


def _unspliced(
    rows: Sequence[ReaderRow], probs: list[float], group: list[int], name: int, weight: Callable[[int], float]
) -> int:
    """The reading that names a group, unless it is a splice: the reader scores starts and ends apart, so its best
    span can start at one answer and end at another ("Nov 3 (Reuters) - Angry crowds ... on Sunday" for "when?",
    where "Nov 3" and "Sunday" are both read). A reading that contains two disjoint readings of its group, each at
    least ``SPLICE_SHARE`` of its probability, gives way to the reading it contains that ``weight`` (the group's
    naming weight) ranks first."""
    outer = rows[name].citation
    inside = [
        i for i in group
        if i != name and outer.start <= rows[i].citation.start and rows[i].citation.end <= outer.end
        and probs[i] >= SPLICE_SHARE * probs[name]
    ]
    if any(rows[i].citation.end <= rows[j].citation.start for i in inside for j in inside):
        return max(inside, key=weight)
    return name


def select_reader_answer(rows: Sequence[ReaderRow], settings: ReaderSettings) -> list[ScoredValue]:
    """Softmax over spans and the best no-answer option; overlapping readings of one mention pooled (when
    ``pool_overlapping``), then values pooled by summing their mentions. With ``sentence_weight``, spans from
    sentences less similar to the question than the best span's sentence lose logit (the best keeps its own, so
    the balance against "no answer" stays the reader's); a row without a (finite) cosine counts as the best, i.e.
    is not penalised (spans outside every stored sentence are rare)."""
    if not rows:
        return []
    t = max(settings.temperature, 1e-3)
    logits = np.asarray([r.span_score / t + settings.retrieval_weight / r.rank for r in rows])
    if settings.sentence_weight > 0:
        cos = [r.sentence_cosine if r.sentence_cosine is not None and math.isfinite(r.sentence_cosine) else None
               for r in rows]
        known = [c for c in cos if c is not None]
        if known:
            top_cos = max(known)
            logits += settings.sentence_weight * np.asarray([0.0 if c is None else c - top_cos for c in cos])
    null = min(r.null_score for r in rows) / t + settings.retrieval_weight
    top = max(float(logits.max()), null)
    weights = np.exp(logits - top)
    probs = weights / (weights.sum() + math.exp(null - top))
    probs_list = probs.tolist()
    if settings.pool_overlapping:
        rows, probs_list = _pool_overlapping(rows, probs_list, settings.untyped_reading_weight)
    values: dict[str, ScoredValue] = {}
    for row, prob in zip(rows, probs_list):
        key = normalize_value(row.text)
        if not key:
            continue
        sv = values.setdefault(key, ScoredValue(text=row.text, key=key, prob=0.0))
        sv.mentions.append(Mention(row.text, row.citation, prob, row.citation.doc_id, row.coverage, row.evidence))
        sv.prob += prob
    for sv in values.values():
        sv.mentions.sort(key=lambda m: -m.prob)
        sv.text = sv.mentions[0].text
        sv.evidence = sv.mentions[0].evidence
        sv.coverage = max(m.coverage for m in sv.mentions)
        sv.prob = min(sv.prob, 1.0)
    return sorted(values.values(), key=lambda v: (-v.prob, v.key))
