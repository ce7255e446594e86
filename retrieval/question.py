"""What a question asks: its type, the entity kinds that would answer it, its focus noun and keywords.

Both answerers (the heuristic one in ``retrieval.answer`` and the trained reader's in ``retrieval.reader_answer``)
read the question the same way and measure passages against its keywords with the same cached tokenisation, so
that analysis and those helpers live here, apart from either.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from retrieval.tokenize import TokenizerConfig, tokenize
from retrieval.values import singular

__all__ = [
    "AGENT_KINDS",
    "ENTITY_KINDS",
    "NUMERIC_KINDS",
    "PLACE_KINDS",
    "QuestionAnalysis",
    "TEMPORAL_KINDS",
    "analyze_question",
    "keyword_coverage",
    "sentence_tokens",
    "text_tokens",
    "word_family",
]

NUMERIC_KINDS = frozenset({"CARDINAL", "QUANTITY", "MONEY", "PERCENT"})
TEMPORAL_KINDS = frozenset({"DATE", "TIME"})
PLACE_KINDS = frozenset({"GPE", "LOC", "FAC"})
AGENT_KINDS = frozenset({"PERSON", "ORG", "NORP"})
ENTITY_KINDS = NUMERIC_KINDS | TEMPORAL_KINDS | PLACE_KINDS | AGENT_KINDS | {"EVENT", "PRODUCT", "LAW", "WORK_OF_ART", "LANGUAGE", "ORDINAL"}

_PLACE_NOUNS = {"city", "country", "town", "village", "place", "region", "capital", "location", "area", "state", "nation", "province", "district", "border"}
_TIME_NOUNS = {"year", "day", "date", "month", "time", "century", "decade", "week", "hour", "season", "period"}
# Nouns of groups, which a "who" question may ask for by a title-bearing name ("which company": "Apple CEO Tim Cook")
_GROUP_NOUNS = frozenset({"group", "organization", "organisation", "company", "agency", "team", "party", "body",
                          "alliance", "ally", "people"})
_PERSON_NOUNS = _GROUP_NOUNS | {
    "person", "leader", "president", "minister", "official", "man", "woman", "spokesman", "spokesperson", "politician",
    "general", "commander", "ombudsman", "advisor", "adviser", "king", "queen", "author", "player",
    # roles a news question names its person by ("which Tesla board member", "which French envoy")
    "spokeswoman", "chief", "member", "employee", "judge", "journalist", "reporter", "manager", "coach",
    "director", "chairman", "chairwoman", "secretary", "ambassador", "envoy", "diplomat",
    "governor", "mayor", "senator", "lawmaker", "mp", "commissioner", "founder", "investor", "singer",
    "actor", "actress", "writer", "scientist", "astronomer", "captain", "striker", "goalkeeper", "diver",
    "soldier", "officer", "doctor", "prosecutor", "lawyer", "witness", "juror", "survivor", "candidate",
    "monarch", "prince", "princess", "pope", "bishop", "ruler", "emperor", "dictator", "rebel", "activist"}
_COUNT_NOUNS = {"number", "amount", "percentage", "percent", "proportion", "total", "size", "population", "cost", "price", "age",
                 # what a news question asks a figure by ("what was the death toll?", "what was the turnout?")
                 "toll", "turnout", "attendance", "distance", "diameter", "height", "length", "width", "depth", "weight",
                 "speed", "temperature", "magnitude", "share", "margin", "casualties", "fatalities", "salary", "fee",
                 "budget", "revenue", "valuation", "score", "odds", "capacity", "duration"}

# "how" + an adjective of measure asks for a figure: of SQuAD v1.1 train's answers to "how fast / close / deep / wide
# / strong / hot / thick / small / soon / early ...", 49 of 61 state a number ("how well / similar / common ..."
# ask for words, and stay "how" questions)
_HOW_MEASURE = ("many", "much", "long", "old", "far", "large", "big", "tall", "high", "often", "fast", "close",
                "deep", "wide", "strong", "powerful", "hot", "cold", "thick", "small", "young", "near", "soon", "heavy",
                "low", "expensive", "early", "late", "loud")
_HOW_TIME = frozenset({"how long", "how often", "how soon", "how early", "how late"})
_WH = re.compile(
    rf"\b(how\s+(?:{'|'.join(_HOW_MEASURE)})|when|where|who(?:m|se)?|why|which|what|how)\b",
    re.IGNORECASE,
)
_CONTRACTED_IS = re.compile(r"\b(what|who|where|when|which|how)['’]s\b")
_WORD = re.compile(r"[^\W_]+(?:[.,'’][^\W_]+)*", re.UNICODE)


@dataclass(frozen=True)
class QuestionAnalysis:
    qtype: str
    expected: frozenset[str]
    focus: str | None
    keywords: tuple[str, ...]
    # the keyword of a "how many / much / long / old ..." phrase: how the question asks, not what it is about
    asking: frozenset[str] = frozenset()

    @property
    def asks_for_person(self) -> bool:
        """A "who" question that does not ask for a group ("which agencies ...?")."""
        return self.qtype == "who" and singular(self.focus or "") not in _GROUP_NOUNS

    @property
    def content_keywords(self) -> tuple[str, ...]:
        """``keywords`` without ``asking``: over a small news corpus "many" is often the rarest word of a count
        question, and no answer's sentence holds it. Used where sentences are compared with each other by the
        words they lack; the confidence curve was fitted on ``keywords``, which keep it."""
        return tuple(k for k in self.keywords if k not in self.asking)


def analyze_question(question: str, tokenizer: TokenizerConfig | None = None) -> QuestionAnalysis:
    """Question type (count, when, where, who, why, which, what, how, other), expected kinds and focus noun."""
    q = _CONTRACTED_IS.sub(r"\1 is", question.strip().lower())  # "what's the capital" asks "what is the capital"
    keywords = tuple(dict.fromkeys(tokenize(question, tokenizer)))
    m = _asking_wh(q)
    if not m:
        return QuestionAnalysis("other", frozenset(), None, keywords)
    wh = re.sub(r"\s+", " ", m.group(1))
    after = _WORD.findall(q[m.end() :])
    focus = next((w for w in after if w not in _SKIP_FOCUS), None)
    if wh.startswith("how "):
        word = wh.split()[-1]
        # "how many of the many boats" is also about "many"
        asking = frozenset(tokenize(word, tokenizer)) if len(re.findall(rf"\b{word}\b", q)) == 1 else frozenset()
        kinds = NUMERIC_KINDS | TEMPORAL_KINDS if wh in _HOW_TIME else NUMERIC_KINDS
        return QuestionAnalysis("count", kinds, focus, keywords, asking)
    if wh == "when":
        return QuestionAnalysis("when", TEMPORAL_KINDS, None, keywords)
    if wh == "where":
        return QuestionAnalysis("where", PLACE_KINDS, None, keywords)
    if wh.startswith("who"):
        return QuestionAnalysis("who", AGENT_KINDS, None, keywords)
    if wh == "why":
        return QuestionAnalysis("why", frozenset({"CLAUSE"}), None, keywords)
    if wh == "how":
        return QuestionAnalysis("how", frozenset({"CLAUSE"}), None, keywords)
    # which / what + noun
    noun = _focus_noun(after)
    kind = _noun_kind(noun) if noun else None
    # "what did the judge decide?" asks what was decided, not for a person; a count noun still asks for a count
    # ("what had the number of people declined to?")
    if kind is not None and kind[0] != "count" and after and after[0] in _SUBJECT_AUXILIARIES:
        kind = None
    if kind is not None:
        return QuestionAnalysis(kind[0], kind[1], noun, keywords)
    return QuestionAnalysis(wh if wh in ("which", "what") else "other", frozenset(), noun, keywords)


def _noun_kind(noun: str) -> tuple[str, frozenset[str]] | None:
    """The question type and expected kinds a "which/what" noun asks for (None: none). Place, time and person nouns
    count in either number; a count noun in the singular only: "what type of numbers" asks for a kind, not a count."""
    forms = {noun, singular(noun)}
    if forms & _PLACE_NOUNS:
        return "where", PLACE_KINDS
    if forms & _TIME_NOUNS:
        return "when", TEMPORAL_KINDS
    if forms & _PERSON_NOUNS:
        return "who", AGENT_KINDS
    if noun in _COUNT_NOUNS:
        return "count", NUMERIC_KINDS
    return None


_COPULAS = frozenset({"is", "was", "are", "were"})
# After these the words are the subject ("what did the judge decide?"), which does not type the question.
_SUBJECT_AUXILIARIES = frozenset({"do", "does", "did", "can", "could", "will", "would", "should", "may", "might",
                                  "must", "has", "have", "had"})
_ARTICLES = frozenset({"the", "a", "an"})


_SKIP_FOCUS = _COPULAS | _ARTICLES | {"do", "does", "did", "of", "kind", "type", "sort", "has", "had", "have", "will",
                                      "would", "can", "could"}


_PREPOSITIONS = frozenset({"in", "on", "at", "to", "of", "by", "for", "from", "with", "into", "during", "since", "until",
                           "after", "before", "about", "under", "over", "between", "through", "against", "among"})


def _asking_wh(q: str) -> re.Match[str] | None:
    """The wh-word that asks: the first one opening the question, a clause (after punctuation) or a prepositional
    phrase ("in which city"); a wh-word right after another word is a relative pronoun ("officials who spoke, how
    many..."). Falls back to the first wh-word (questions such as "Talks were held where?")."""
    matches = list(_WH.finditer(q))
    for m in matches:
        before = q[: m.start()].rstrip()
        if not before or not before[-1].isalnum() or before.split()[-1] in _PREPOSITIONS:
            return m
    return matches[0] if matches else None


def _focus_noun(words: Sequence[str]) -> str | None:
    """The noun "which/what ..." asks for: right after the wh-word or its copula, the rightmost of up to three words
    (to the first skip word or preposition) that names a kind ("which French minister", "which state news agency",
    "what was the death toll"); else the first word that is not a skip word, as before. Without part-of-speech tags
    a verb can pass for a noun ("what theology states ..." reads as a place question)."""
    noun_phrase = list(words)
    if noun_phrase and noun_phrase[0] in _COPULAS:  # "what was the death toll": the noun after the copula is asked
        noun_phrase = noun_phrase[1:]
        while noun_phrase and noun_phrase[0] in _ARTICLES:
            noun_phrase = noun_phrase[1:]
    if noun_phrase and noun_phrase[0] not in _SKIP_FOCUS:
        phrase: list[str] = []
        for w in noun_phrase[:3]:
            if w in _SKIP_FOCUS or w in _PREPOSITIONS:
                break
            phrase.append(w)
        kinded = [w for w in phrase if _noun_kind(w) is not None]
        if kinded:
            return kinded[-1]
    for w in words[:3]:
        if w in _SKIP_FOCUS:
            continue
        return w
    return None


def keyword_coverage(tokens: set[str], keywords: Sequence[str], idf: dict[str, float]) -> float:
    total = sum(idf.get(k, 0.0) for k in keywords)
    if total <= 0:
        return 0.0
    return sum(idf.get(k, 0.0) for k in keywords if k in tokens) / total


# Endings cut, first match only; the longer ones need a longer stem left ("nation" stays "nation").
_FAMILY_SUFFIXES = ("ations", "ation", "ings", "ing", "ied", "ies", "ed", "es", "ers", "er", "ly", "ments", "ment", "s")


@lru_cache(maxsize=65536)
def word_family(token: str) -> str:
    """A crude common stem of a BM25 token's inflections and close derivatives ("used", "using", "use" -> "us";
    "evacuated", "evacuate" -> "evacuat"). Coarser and sloppier than the light stemmer BM25 uses (it also merges
    "need" with "ne"), so it only serves where a missed match costs more than a false one: the off-topic gate's
    keyword share, where a question saying "using" of a passage saying "used" read as off topic."""
    if len(token) < 3 or not token.isalpha():
        return token
    for suffix in _FAMILY_SUFFIXES:
        if token.endswith(suffix) and len(token) - len(suffix) >= (3 if len(suffix) > 3 else 2):
            token = token[: -len(suffix)]
            break
    if len(token) > 3 and token[-1] == token[-2] and token[-1] not in "aeiouls":  # "stopped" -> "stopp" -> "stop"
        token = token[:-1]
    return token[:-1] if token.endswith("e") and len(token) > 2 else token


@lru_cache(maxsize=65536)
def text_tokens(text: str, tokenizer: TokenizerConfig | None) -> tuple[str, ...]:
    return tuple(tokenize(text, tokenizer))


@lru_cache(maxsize=16384)
def sentence_tokens(text: str, offset: int, tokenizer: TokenizerConfig | None) -> tuple[tuple[int, int, str], ...]:
    out = []
    for m in _WORD.finditer(text):
        toks = text_tokens(m.group(0), tokenizer)
        if toks:
            out.append((offset + m.start(), offset + m.end(), toks[0]))
    return tuple(out)
