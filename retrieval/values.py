"""Answer values pooled across mentions: the pooling key, the scored value and its mentions, probability helpers.

Both answerers pool what they find by value ("2,000" in one article, "about 2,000" in another are one answer) and
report the same ``ScoredValue``, so these live below both: the reader's module (``retrieval.reader_answer``) needs
nothing of the heuristic one (``retrieval.answer``). ``ReaderEvidence`` is here because a value and its mentions
carry it.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from dataclasses import dataclass, field
from functools import lru_cache

from retrieval.types import Citation

__all__ = [
    "MONEY_MARK",
    "Mention",
    "NUMBER_WORDS",
    "ReaderEvidence",
    "ScoredValue",
    "logit",
    "expand_money_scales",
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
    "nine": "9", "ten": "10", "eleven": "11", "twelve": "12", "thirteen": "13", "fourteen": "14", "fifteen": "15",
    "sixteen": "16", "seventeen": "17", "eighteen": "18", "nineteen": "19", "twenty": "20", "thirty": "30",
    "forty": "40", "fifty": "50", "sixty": "60", "seventy": "70", "eighty": "80", "ninety": "90", "hundred": "100",
    "thousand": "1000", "million": "1000000", "billion": "1000000000", "dozen": "12",
}
_SCALE_WORDS = {"100", "1000", "1000000", "1000000000"}
# A currency is part of the value ("$40 million" is not "€40 million"): its sign becomes a word at the key's end.
_CURRENCY_SIGNS = {"us$": "usd", "$": "usd", "€": "eur", "£": "gbp", "¥": "jpy"}
_CURRENCY_WORDS = {"dollar": "usd", "dollars": "usd", "usd": "usd", "euro": "eur", "euros": "eur", "eur": "eur",
                   "gbp": "gbp", "yen": "jpy"}
# What marks a figure as money; ``engine.measure_kind`` reads the same mark.
MONEY_MARK = re.compile(r"[$\u00a3\u20ac\u00a5]|\b(?:dollars?|euros?|usd|eur)\b", re.IGNORECASE)
# Money abbreviates its scale ("$40m", "£1.2bn"); only beside a currency, where "m" cannot be metres.
_MONEY_SCALE = re.compile(r"(?<=\d)\s?(bn|b|mn|m|k)\b")
_MONEY_SCALES = {"bn": " billion", "b": " billion", "mn": " million", "m": " million", "k": " thousand"}
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
    t = expand_money_scales(t)
    currencies = []
    for sign, code in _CURRENCY_SIGNS.items():
        if sign in t:
            currencies.append(code)
            t = t.replace(sign, " ")
    t = re.sub(r"(?<=\d),(?=\d{3}\b)", "", t)
    t = re.sub(r"\s*%|\s+per\s*cent\b", " percent", t)  # "5%", "5 per cent", "5 percent"
    t = re.sub(r"(?<=\d)(?:st|nd|rd|th)\b", "", t)  # "September 19th"
    t = re.sub(r"\b([ap])\.m\b\.?", r"\1m", t)  # "10:30 a.m." keeps its "a" from the article filter below
    t = re.sub(r"[^\w\s.]", " ", t)
    t = re.sub(r"(?<!\d)\.|\.(?!\d)", " ", t)
    t = re.sub(r"\b(hundred|thousand)\s+and\s+(?=[a-z])", r"\1 ", t)  # "two hundred and twelve"
    raw = [w for w in t.split() if w not in ("the", "a", "an")]
    for w in [w for w in raw if w in _CURRENCY_WORDS]:
        currencies.append(_CURRENCY_WORDS[w])
        raw.remove(w)
    words = [_MONTHS.get(w, NUMBER_WORDS.get(w, w)) for w in raw]
    spelled = [w in NUMBER_WORDS for w in raw]  # figures written as words add up; digits side by side do not
    merged: list[str] = []
    merged_spelled: list[bool] = []
    for k, w in enumerate(words):
        prev = merged[-1] if merged else ""
        if w in _SCALE_WORDS and _NUMBER_TOKEN.fullmatch(prev) and 0 < Decimal(prev) < int(w):
            merged[-1] = _plain(Decimal(prev) * int(w))  # "two thousand", "1.2 million" -> "1200000"
            merged_spelled[-1] = spelled[k]
        elif spelled[k] and merged_spelled and merged_spelled[-1] and prev.isdigit() and w.isdigit() and (
            (int(w) < 10 and 20 <= int(prev) <= 90 and int(prev) % 10 == 0)
            or (int(prev) >= 100 and int(prev) % 100 == 0 and int(w) < 100)
        ):
            merged[-1] = str(int(prev) + int(w))  # "twenty-five" -> "25", "two hundred twelve" -> "212"
        elif merged and _NUMBER_TOKEN.fullmatch(prev):  # a number's unit: "six weeks" = "six-week"
            merged.append(singular(w))
            merged_spelled.append(False)
        else:
            merged.append(w)
            merged_spelled.append(spelled[k])
    for k in range(1, len(merged)):  # "14 September" is "September 14"
        if merged[k] in _MONTH_NAMES and merged[k - 1].isdigit() and 1 <= int(merged[k - 1]) <= 31:
            merged[k - 1], merged[k] = merged[k], merged[k - 1]
    return " ".join(merged + sorted(set(currencies)))


_MONTH_NAMES = frozenset(_MONTHS.values()) | {"may"}


def expand_money_scales(text: str) -> str:
    """ "$40m" -> "$40 million", "£1.2bn" -> "£1.2 billion"; text that is not money (``MONEY_MARK``) is returned as
    it is, since there "40m" may be metres."""
    return _MONEY_SCALE.sub(lambda m: _MONEY_SCALES[m.group(1)], text) if MONEY_MARK.search(text) else text


def _plain(number: Decimal) -> str:
    """A number as the key writes it: no exponent, no trailing zeros ("1200000", "2.5")."""
    text = format(number.normalize(), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


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
