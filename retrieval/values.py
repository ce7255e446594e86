"""Answer values pooled across mentions: the pooling key, the scored value and its mentions, probability helpers.

Both answerers pool what they find by value ("2,000" in one article, "about 2,000" in another are one answer) and
report the same ``ScoredValue``, so these live below both: the reader's module (``retrieval.reader_answer``) needs
nothing of the heuristic one (``retrieval.answer``). ``ReaderEvidence`` is here because a value and its mentions
carry it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import lru_cache

from retrieval.types import Citation

__all__ = [
    "Mention",
    "NUMBER_WORDS",
    "ReaderEvidence",
    "ScoredValue",
    "logit",
    "normalize_value",
    "shift_probability",
    "sigmoid",
    "singular",
]

_QUALIFIER = re.compile(
    r"^(?:about|around|approximately|roughly|nearly|almost|over|more than|less than|fewer than|at least|at most|"
    r"up to|some|only|just|an estimated|estimated)\s+",
    re.IGNORECASE,
)
NUMBER_WORDS = {
    "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7", "eight": "8",
    "nine": "9", "ten": "10", "eleven": "11", "twelve": "12", "twenty": "20", "thirty": "30", "hundred": "100",
    "thousand": "1000", "dozen": "12",
}
# News copy abbreviates months ("Sept. 19") where another article spells them out ("September 19").
_MONTHS = {
    "jan": "january", "feb": "february", "mar": "march", "apr": "april", "jun": "june", "jul": "july",
    "aug": "august", "sep": "september", "sept": "september", "oct": "october", "nov": "november", "dec": "december",
}


@lru_cache(maxsize=65536)
def normalize_value(text: str) -> str:
    """Pooling key: "2,000", "2000" and "about 2,000" are one value, as are "six weeks" and "six-week"; case,
    articles and punctuation ignored."""
    t = text.strip().lower()
    t = re.sub(r"[\u2018\u2019\u201c\u201d\"'`]", "", t)
    t = re.sub(r"^(?:the|a|an)\s+", "", t)
    while True:
        stripped = _QUALIFIER.sub("", t)
        if stripped == t:
            break
        t = stripped
    t = re.sub(r"(?<=\d),(?=\d{3}\b)", "", t)
    t = re.sub(r"\s*%|\s+per\s*cent\b", " percent", t)  # "5%", "5 per cent", "5 percent"
    t = re.sub(r"(?<=\d)(?:st|nd|rd|th)\b", "", t)  # "September 19th"
    t = re.sub(r"\b([ap])\.m\b\.?", r"\1m", t)  # "10:30 a.m." keeps its "a" from the article filter below
    t = re.sub(r"[^\w\s.]", " ", t)
    t = re.sub(r"(?<!\d)\.|\.(?!\d)", " ", t)
    words = [_MONTHS.get(w, NUMBER_WORDS.get(w, w)) for w in t.split()]
    words = [w for w in words if w not in ("the", "a", "an")]
    merged: list[str] = []
    for w in words:  # "two thousand" -> "2000", "three hundred" -> "300", "one hundred thousand" -> "100000"
        if w in ("100", "1000") and merged and merged[-1].isdigit() and 0 < int(merged[-1]) < int(w):
            merged[-1] = str(int(merged[-1]) * int(w))
        elif merged and _NUMBER_TOKEN.fullmatch(merged[-1]):  # a number's unit: "six weeks" = "six-week"
            merged.append(singular(w))
        else:
            merged.append(w)
    return " ".join(merged)


_NUMBER_TOKEN = re.compile(r"\d+(?:\.\d+)?")


def singular(word: str) -> str:
    """A unit's singular for the pooling key ("weeks" -> "week", "centuries" -> "century"); short words and
    "-ss" / "-us" / "-is" endings stay. Only a key: an odd form ("series" -> "sery") is harmless when both sides
    get it."""
    if len(word) < 4 or not word.isalpha() or word.endswith(("ss", "us", "is")):
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    return word[:-1] if word.endswith("s") else word


@dataclass(frozen=True)
class ReaderEvidence:
    """What the reader's confidence looks at besides the pooled probability, for one mention.

    ``margin``: span score minus its window's "no answer" score. ``missing_passage`` / ``missing_sentence``: the
    rarest question word the passage / the answer's sentence lacks, as a share of the question's rarest word's IDF
    (1.0: the passage lacks the question's rarest word; unanswerable questions often name something the text does
    not).
    """

    margin: float
    missing_passage: float
    missing_sentence: float


@dataclass
class Mention:
    text: str
    citation: Citation
    prob: float
    doc_id: str
    coverage: float
    evidence: ReaderEvidence | None = None


@dataclass
class ScoredValue:
    text: str
    key: str
    prob: float
    mentions: list[Mention] = field(default_factory=list)
    coverage: float = 0.0
    evidence: ReaderEvidence | None = None  # the reader's evidence for its most probable mention


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(min(x, 50.0), -50.0)))


def logit(prob: float) -> float:
    p = min(max(prob, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def shift_probability(prob: float, shift: float) -> float:
    """``prob`` with ``shift`` added to its logit, exactly: no shift or a probability of 0 or 1 returns it as is,
    so a shift there and back is the identity (``ReaderSettings.prior_shift``)."""
    if shift == 0.0 or not 0.0 < prob < 1.0:
        return prob
    x = math.log(prob) - math.log1p(-prob) + shift
    return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))
