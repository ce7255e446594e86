"""Text tokenisation for BM25.

Kept separate from the scorer so that indexing and querying are guaranteed to
use the same rules, and so the rules can be tested (and tuned) on their own.
"""

from __future__ import annotations

import re
import sys
import types
import unicodedata
from dataclasses import asdict, dataclass
from typing import Any, Iterable, Literal

__all__ = [
    "ENGLISH_STOPWORDS",
    "TOKENIZER_RULES_VERSION",
    "TokenizerConfig",
    "tokenize",
    "tokenize_many",
]

_STOPWORD_CHOICES = ("english", "none")
_STEMMER_CHOICES = ("none", "light")
# 1: the first rules. 2: dotted acronyms are joined ("U.N." -> "UN") and the United States, written "US",
# "U.S." or "USA", is one term ("usa") instead of "us" (the pronoun's term), "u" or "usa" by spelling.
# 3: "won't" is a stopword like "don't", instead of the term "won" (which matched "who won ...").
# 4: Latin letters lose their diacritics ("Zürich" -> "zurich", "São" -> "sao", "Łódź" -> "lodz", "Straße" ->
# "strasse"), so a question typed without them finds the text that has them, and the other way round.
TOKENIZER_RULES_VERSION = 4
_RULES_CHOICES = tuple(range(1, TOKENIZER_RULES_VERSION + 1))


@dataclass(frozen=True)
class TokenizerConfig:
    """How text becomes tokens; stored with an index so queries match it."""

    lowercase: bool = True
    stopwords: Literal["english", "none"] = "english"
    stemmer: Literal["none", "light"] = "light"
    rules: int = TOKENIZER_RULES_VERSION

    def __post_init__(self) -> None:
        # Fail at construction, not deep inside indexing or on a loaded index.
        if not isinstance(self.lowercase, bool):
            raise ValueError(f"lowercase must be a bool, got {self.lowercase!r}")
        if self.stopwords not in _STOPWORD_CHOICES:
            raise ValueError(
                f"stopwords must be one of {_STOPWORD_CHOICES}, got {self.stopwords!r}"
            )
        if self.stemmer not in _STEMMER_CHOICES:
            raise ValueError(
                f"stemmer must be one of {_STEMMER_CHOICES}, got {self.stemmer!r}"
            )
        if isinstance(self.rules, bool) or self.rules not in _RULES_CHOICES:
            raise ValueError(f"rules must be one of {_RULES_CHOICES}, got {self.rules!r}")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form, for saving next to an index."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TokenizerConfig:
        """Inverse of :meth:`to_dict`; unknown keys are a ValueError.

        A dict without ``rules`` was saved before rules were versioned: it gets rules 1, so an old index keeps
        tokenising its queries the way it tokenised its passages.
        """
        if not isinstance(data, dict):
            raise ValueError(f"tokenizer config must be a dict, got {type(data).__name__}")
        unknown = set(data) - {"lowercase", "stopwords", "stemmer", "rules"}
        if unknown:
            raise ValueError(f"unknown tokenizer config keys: {sorted(unknown)}")
        return cls(**{"rules": 1, **data})


# The classic NLTK English list (inline: no nltk/sklearn dependency). Forms with
# apostrophes never occur as tokens here but are kept so the set is reusable.
# "won" is deliberately left out: it is a real verb ("who won ..."), and only
# appears in NLTK's list as a fragment of "won't".
ENGLISH_STOPWORDS: frozenset[str] = frozenset(
    """
    i me my myself we our ours ourselves you you're you've you'll you'd your
    yours yourself yourselves he him his himself she she's her hers herself it
    it's its itself they them their theirs themselves what which who whom this
    that that'll these those am is are was were be been being have has had
    having do does did doing a an the and but if or because as until while of
    at by for with about against between into through during before after
    above below to from up down in out on off over under again further then
    once here there when where why how all any both each few more most other
    some such no nor not only own same so than too very s t can will just don
    don't should should've now d ll m o re ve y ain aren aren't couldn
    couldn't didn didn't doesn doesn't hadn hadn't hasn hasn't haven haven't
    isn isn't ma mightn mightn't mustn mustn't needn needn't shan shan't
    shouldn shouldn't wasn wasn't weren weren't won't wouldn wouldn't
    """.split()
)

# Combining marks (Unicode category M*, BMP), so that words in scripts that
# need them (Devanagari, Thai, Hebrew points, decomposed accents, ...) are not
# cut into pieces. Adjacent ranges were merged across letters and unassigned
# code points, which the word class accepts anyway. Generated from unicodedata.
_MARK_RANGES = """
0300-036F 0483-0489 0591-05BD 05BF-05BF 05C1-05C2 05C4-05C5 05C7-05C7
0610-061A 064B-065F 0670-0670 06D6-06DC 06DF-06E8 06EA-06ED 0711-07F3
07FD-07FD 0816-082D 0859-085B 0898-08E1 08E3-0963 0981-09E3 09FE-0A75
0A81-0AE3 0AFA-0B63 0B82-0BD7 0C00-0C63 0C81-0C83 0CBC-0D4D 0D57-0D63
0D81-0DF3 0E31-0E3A 0E47-0E4E 0EB1-0ECD 0F18-0F19 0F35-0F35 0F37-0F37
0F39-0F39 0F3E-0F84 0F86-0FBC 0FC6-0FC6 102B-103E 1056-109D 135D-135F
1712-1734 1752-17D3 17DD-17DD 180B-180D 180F-193B 1A17-1A1B 1A55-1A7F
1AB0-1B44 1B6B-1B73 1B80-1BF3 1C24-1C37 1CD0-1CD2 1CD4-1DFF 20D0-20F0
2CEF-2CF1 2D7F-2DFF 302A-302F 3099-309A A66F-A672 A674-A67D A69E-A6F1
A802-A827 A82C-A82C A880-A8C5 A8E0-A8F1 A8FF-A92D A947-A953 A980-A9C0
A9E5-AA4D AA7B-AAC1 AAEB-AAEF AAF5-AAF6 ABE3-ABEA ABEC-ABED FB1E-FB1E
FE00-FE0F FE20-FE2F
"""
_MARKS = "".join(f"\\u{r[:4]}-\\u{r[5:]}" for r in _MARK_RANGES.split())
# Word characters once "_" has been replaced by a space: letters, digits, marks.
_WORD_CHAR = rf"[\w{_MARKS}]"

# One pass over the text. Group 1: a number with at least one separator:
# thousands commas ("2,000", "1,234.56") and/or decimal points ("3.5",
# "192.168.0.1"). Group 2: a word, which starts with a letter or digit and may
# carry combining marks; a trailing possessive 's / ’s is consumed but not
# captured.
_TOKEN_RE = re.compile(
    r"(\d+(?:(?:,\d{3}(?!\d))+(?:\.\d+)*|(?:\.\d+)+))"
    rf"|(\w{_WORD_CHAR}*)(?:['\u2019][sS](?!{_WORD_CHAR}))?"
)


# Rules 2. Single letters each followed by a full stop ("U.N.", "e.g.", "J.R.R."), or with the last stop missing
# ("U.S" at a sentence's end in some texts); not inside a longer word or number.
_DOTTED_ACRONYM_RE = re.compile(
    r"(?<![\w.])(?:[A-Za-z]\.){2,}(?!\w)|(?<![\w.])(?:[A-Za-z]\.)+[A-Za-z](?![\w.])"
)
# "US" in capitals is the country; "us" in any other case stays the pronoun.
_US_RE = re.compile(r"(?<![\w.])US(?!\w)")
# Rules 3: "won't" / "won’t", any case.
_WONT_RE = re.compile(r"(?<![\w.])won['\u2019]t(?!\w)", re.IGNORECASE)


def _join_acronym(match: re.Match[str]) -> str:
    joined = match.group(0).replace(".", "")
    return "USA" if joined.lower() == "us" else joined


def _rewrite(text: str, rules: int) -> str:
    """What rules 2 and 3 change before tokenising: "U.S.", "U.S" and "US" -> "USA", other dotted acronyms
    joined ("U.N." -> "UN"); then "won't" -> "will not" (two stopwords), which otherwise leaves the term "won"."""
    if rules >= 2:
        if "." in text:
            text = _DOTTED_ACRONYM_RE.sub(_join_acronym, text)
        if "US" in text:
            text = _US_RE.sub("USA", text)
    if rules >= 3 and ("'" in text or "\u2019" in text):
        text = _WONT_RE.sub("will not", text)
    return text


# Rules 4: Latin letters that carry no combining mark to strip, written as the letters they are searched by.
_LATIN_LETTERS = str.maketrans({
    "ß": "ss", "ẞ": "SS", "ø": "o", "Ø": "O", "ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "ð": "d", "Ð": "D",
    "ı": "i", "ə": "a", "Ə": "A", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "þ": "th", "Þ": "TH", "ħ": "h", "Ħ": "H",
})


def fold_latin_accents(text: str) -> str:
    """``text`` with the diacritics of Latin letters removed: a combining mark (U+0300-U+036F) goes only when the
    letter it sits on is an ASCII letter, so Greek, Cyrillic and the scripts whose marks are vowels keep theirs."""
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFD", text)
    kept: list[str] = []
    base_is_latin = False
    for ch in decomposed:
        if "\u0300" <= ch <= "\u036f":
            if base_is_latin:
                continue  # a stacked mark (Vietnamese "ệ") sits on the same letter: keep dropping
        else:
            base_is_latin = ch.isascii() and ch.isalpha()
        kept.append(ch)
    return unicodedata.normalize("NFC", "".join(kept)).translate(_LATIN_LETTERS)


def _light_stem(word: str) -> str:
    """Strip English plural endings only; cheap and hard to get badly wrong."""
    n = len(word)
    if n <= 3 or word[-1] not in "sS":
        return word
    low = word.lower()
    if low.endswith("ies") and n > 4:
        return word[:-3] + ("Y" if word[-1] == "S" else "y")
    if low.endswith("sses"):
        return word[:-2]
    # "-es" only after x/zz/ch/sh: after a single s or z the "e" usually
    # belongs to the stem ("diseases", "doses", "sizes" -> "disease", ...).
    if n > 4 and low.endswith(("xes", "zzes", "ches", "shes")):
        return word[:-2]
    if low.endswith(("ss", "us", "is")):
        return word
    return word[:-1]


_DEFAULT_CONFIG = TokenizerConfig()


def tokenize(text: str, config: TokenizerConfig | None = None) -> list[str]:
    """Split ``text`` into BM25 terms; never raises on any ``str``.

    Stopwords are matched case-insensitively even when ``lowercase`` is False,
    so "The" is dropped either way.
    """
    cfg = _DEFAULT_CONFIG if config is None else config
    if not text:
        return []
    text = _rewrite(text, cfg.rules)
    if not text.isascii():
        # One form per character, so "é" and "e\u0301" index the same way.
        text = fold_latin_accents(text) if cfg.rules >= 4 else unicodedata.normalize("NFC", text)
    if cfg.lowercase:
        text = text.lower()
    if "_" in text:
        text = text.replace("_", " ")  # "_" is a \w character but not a letter
    stop = ENGLISH_STOPWORDS if cfg.stopwords == "english" else None
    stem = cfg.stemmer == "light"
    lower = cfg.lowercase
    out: list[str] = []
    append = out.append
    for number, word in _TOKEN_RE.findall(text):
        if number:
            append(number.replace(",", ""))
            continue
        if stop is not None and (word if lower else word.lower()) in stop:
            continue
        if stem:
            word = _light_stem(word)
        append(word)
    return out


def tokenize_many(
    texts: Iterable[str], config: TokenizerConfig | None = None
) -> list[list[str]]:
    """Tokenise each text with the same config."""
    return [tokenize(t, config) for t in texts]


class _CallableModule(types.ModuleType):
    """This module, callable as its ``tokenize``: the package exports a function named like this submodule, and
    importing the submodule sets the package attribute to the module, so ``from retrieval import tokenize`` gives
    the module whenever it was imported first. Calling it works either way, and ``import retrieval.tokenize``
    still gives the module (for ``TokenizerConfig``, or a test's monkeypatch)."""

    def __call__(self, text: str, config: TokenizerConfig | None = None) -> list[str]:
        return tokenize(text, config)


sys.modules[__name__].__class__ = _CallableModule
