"""Questions that ask what a named subject is: "Who is Pashinyan?", "What is the CSTO?", "What does UKIP stand for?".

Such a question names its answer's subject rather than asking for an entity, and the reader (trained on SQuAD, where
few questions are of this form) answers it with the subject's own name or a piece of it ("Mr", "Nikol"), another
person, or a figure. ``asked_subject`` recognises the form, checks the name against the passages read, and gives
the question the reader should read; ``description_span`` says which part of a span, if any, can describe it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from retrieval.tokenize import ENGLISH_STOPWORDS
from retrieval.types import Hit, Passage

__all__ = ["Subject", "asked_subject", "description_span", "honorific_only"]

# Honorifics: never an answer on their own (none of SQuAD v1.1 train's 87,599 answers is one), and not part of the
# name a "who is ...?" question is read with. Title-cased only when alone: "MS" may be the disease.
_HONORIFICS = frozenset({"mr", "mrs", "ms", "miss", "mx", "dr", "sir", "madam", "dame", "prof"})
_HONORIFIC = re.compile(r"(?:Mr|Mrs|Ms|Miss|Mx|Dr|Sir|Madam|Dame|Prof)\.?")
_NAME_WORD = re.compile(r"[^\W\d_][\w'’.-]*")
# Figures asked for by an acronym: "What was the GDP?" asks for a figure, not what GDP is
_MEASURE_ACRONYMS = frozenset({"gdp", "gnp", "gni", "cpi", "ppi", "pmi", "hdi", "ppp", "iq", "bmi", "roi", "eps", "era",
                               "gpa", "nav", "aum", "ebitda"})
# "Who is Pashinyan?", "who was Mr Rana Ahmedova": who + is/was + up to four words (honorifics are left out later)
_WHO_IS_NAME = re.compile(
    r"^\s*who(?:\s+(is|was)|['’]s)\s+([^\W\d_][\w'’.-]*(?:\s+[^\W\d_][\w'’.-]*){0,3})\s*\?*\s*$", re.IGNORECASE)
# Words inside a name that are not capitalised ("Department of Fair Employment and Housing")
_JOINERS = frozenset({"of", "and", "the", "for", "de", "du", "la", "le", "on", "in", "at", "to", "y", "&"})
# "What is the Lachin corridor?" is not a name; "What is Stephan's Quintet?", "What was the Rhosus?",
# "What is WASP-96 b?" and "What is the Department of Fair Employment and Housing?" are
_CAPITALISED = r"[A-Z0-9][\w'’.&-]*"
_WHAT_IS_NAME = re.compile(
    rf"^\s*(?i:what)(?:\s+(?i:is|was)|['’]s)\s+(?:(?i:the)\s+)?"
    rf"({_CAPITALISED}(?:\s+(?:(?:{'|'.join(map(re.escape, sorted(_JOINERS)))})\s+)*{_CAPITALISED}){{0,6}}"
    rf"(?:\s+[a-z])?)\s*\?*\s*$")
_STANDS_FOR = re.compile(
    r"^\s*(?i:what)\s+(?i:does|did)\s+(?:(?i:the)\s+)?([A-Z][A-Za-z0-9.&-]{1,9})\s+(?i:stand)\s+(?i:for)\s*\?*\s*$")
# A capitalised word of a title or a name ("Prime", "U.S.", "O’Brien")
_TITLE_WORD = r"[A-Z][\w'’.-]*"
# A figure, a date or a person is not what a named thing is ("What is Binance?" -> "$500 million")
_NOT_A_DESCRIPTION = frozenset({"PERSON", "DATE", "TIME", "MONEY", "CARDINAL", "PERCENT", "QUANTITY", "ORDINAL"})


@dataclass(frozen=True)
class Subject:
    """What a "who/what is <name>?" question asks about."""

    question: str  # the question the reader reads
    name: str  # the subject's name as the passages write it
    words: frozenset[str]  # the name's words, lowercased
    person: bool  # "who is": a person, named by an index-time PERSON entity
    acronym: bool = False  # "what does <acronym> stand for?": the answer is the name spelled out


def _name_words(text: str) -> list[str]:
    """A name's words, lowercased, without a closing full stop and with one apostrophe ("O’Brien" is "o'brien")."""
    return [w.lower().rstrip(".").replace("’", "'") for w in _NAME_WORD.findall(text)]


def honorific_only(text: str) -> bool:
    """Whether ``text`` is nothing but honorifics ("Mr", "Dr."): never an answer."""
    words = text.split()
    return bool(words) and all(_HONORIFIC.fullmatch(w) for w in words)


def asked_subject(question: str, hits: Sequence[Hit]) -> Subject | None:
    """The subject of "who is <name>?", "what is <name>?" or "what does <acronym> stand for?", when the passages of
    ``hits`` name it; None for any other question.

    A person's name must be (part of) an index-time PERSON entity, and the question is read with the entity's
    fullest form ("Who is Nikol Pashinyan?"): asked about a surname alone, the reader answers with the rest of the
    name ("Nikol", "Mr"). A thing's name must appear in a passage as the question writes it (capitalised): "What is
    the capital of Israel?" asks for a capital, not about one.
    """
    if m := _WHO_IS_NAME.match(question):
        return _asked_person(m, hits)
    m = _STANDS_FOR.match(question) or _WHAT_IS_NAME.match(question)
    if not m:
        return None
    name = re.sub(r"\s+", " ", m.group(1))
    if re.search(r"['’]s\s", name) or not name[0].isalpha():
        return None  # "What is Kenya's HDI?" asks for Kenya's figure, not what something is; "What is 5?"
    if name.lower() in _MEASURE_ACRONYMS or name.lower() in ENGLISH_STOPWORDS:
        return None  # "What was the GDP?"; "What is It?" would match a sentence's first word
    written = re.compile(rf"(?<![\w'’-]){re.escape(name)}(?![\w'’-])")
    if not any(written.search(h.passage.text) for h in hits):
        return None
    acronym = m.re is _STANDS_FOR
    words = frozenset(w for w in _name_words(name) if w not in ENGLISH_STOPWORDS) or frozenset(_name_words(name))
    return Subject(question, name, words, person=False, acronym=acronym)


def _asked_person(m: re.Match[str], hits: Sequence[Hit]) -> Subject | None:
    """The person "who is <name>?" asks about, named by the fullest form of the PERSON entities that hold the name:
    among the forms named at least half as often as the commonest ("Ilham Aliyev" 5 times beside "Aliyev" 7; not
    "Donald Trump Jr" once beside "Donald Trump" 4 times), the longest."""
    asked = [w for w in _name_words(m.group(2)) if w not in _HONORIFICS]  # "Who is Prof Corbyn?"
    if not asked or any(w in ENGLISH_STOPWORDS for w in asked):
        return None
    forms: dict[str, int] = {}
    for h in hits:
        p = h.passage
        for c in p.candidates:
            if c.kind != "PERSON":
                continue
            words = [w for w in _NAME_WORD.findall(p.text[c.start - p.start : c.end - p.start])
                     if _name_words(w)[0] not in _HONORIFICS]
            if set(asked) <= set(_name_words(" ".join(words))):
                form = " ".join(words)
                forms[form] = forms.get(form, 0) + 1
    if not forms:
        return None
    common = max(forms.values())
    name = max((f for f in forms if 2 * forms[f] >= common), key=lambda f: (len(f.split()), forms[f]))
    verb = (m.group(1) or "is").lower()
    return Subject(f"Who {verb} {name}?", name, frozenset(_name_words(name)), person=True)


def description_span(subject: Subject, passage: Passage, start: int, end: int) -> tuple[int, int] | None:
    """The part of a reader span (document offsets ``start``/``end`` in ``passage``) that can say what ``subject``
    is, or None when none can."""
    text = passage.text[start - passage.start : end - passage.start]
    if subject.person:
        named = rf"(?:(?:{'|'.join(re.escape(w) for w in sorted(subject.words, key=len, reverse=True))})[\s.]*)+"
        inside = re.search(rf"(?<![\w'’-]){named}(?![\w'’-])", text, re.IGNORECASE)
        if inside:  # "Nikol Pashinyan, Armenia's prime minister" -> "Armenia's prime minister"
            part = _around_name(text, start, inside)
            if part is None:
                return None
            start, end = part
            text = passage.text[start - passage.start : end - passage.start]
        if _names_someone(text, start, end, passage, subject.words):
            return None
        return start, passage.start + _title_before_name(passage.text, end - passage.start, subject.words)
    if not any(ch.isalpha() for ch in text) or any(
            (c.start, c.end) == (start, end) and c.kind in _NOT_A_DESCRIPTION for c in passage.candidates):
        return None
    if subject.acronym:
        return _spelled_out(passage, start, end, subject.name)
    inside = re.search(rf"(?<![\w'’-]){re.escape(subject.name)}(?![\w'’-])", text)  # "US" is not "us"
    if inside:  # "electric-car maker Tesla Inc" -> "electric-car maker"; "the Rada, the parliament" -> "the parliament"
        return _around_name(text, start, inside)
    return start, passage.start + _words_before_name(passage.text, end - passage.start, subject.name)


def _names_someone(text: str, start: int, end: int, passage: Passage, named: frozenset[str]) -> bool:
    """Whether a span names the person a "who is <name>?" question asks about (in whole or in part: "Nikol" inside
    the PERSON entity "Nikol Pashinyan"), or another person: a PERSON entity, or a span ending with one of two or
    more words ("Russian President Vladimir Putin"). One word is as often a place the small NER model mistook
    ("Azerbaijan"), and a place can open a title ("Chiang Rai governor", "Chiang Rai" tagged PERSON)."""
    if named & set(_name_words(text)):
        return True
    for c in passage.candidates:
        if c.kind != "PERSON":
            continue
        words = set(_name_words(passage.text[c.start - passage.start : c.end - passage.start]))
        if c.start <= start and end <= c.end and (named & words or (c.start, c.end) == (start, end)):
            return True
        if start <= c.start and c.end == end and len(words) > 1:  # "CEO Parag Agrawal", not "Chiang Rai governor"
            return True
        gap = passage.text[end - passage.start : c.start - passage.start] if c.start >= end else None
        if gap is not None and not named & words and re.fullmatch(rf"(?:\s+{_TITLE_WORD}){{0,4}}\s+", gap):
            return True  # "British Prime Minister" of "British Prime Minister Theresa May" is not Corbyn's title
    return False


_NEXT_CAPITALISED = re.compile(rf"\s+({_TITLE_WORD})")


def _title_before_name(text: str, end: int, named: frozenset[str]) -> int:
    """Where a description read just before a name ends: "Armenian" read from "Armenian Prime Minister Nikol
    Pashinyan" is the title "Armenian Prime Minister", up to the name. ``end``: the span's end in ``text``;
    returned unchanged unless up to four capitalised words alone lead from it to a word of the name."""
    pos = end
    for _ in range(5):
        m = _NEXT_CAPITALISED.match(text, pos)
        if m is None:
            return end
        if m.group(1).lower().rstrip(".") in named:
            return pos
        pos = m.end()
    return end


def _words_before_name(text: str, end: int, name: str) -> int:
    """Where a description read just before a thing's name ends: "failed blood-testing" read from "the failed
    blood-testing startup Theranos" is "failed blood-testing startup". ``end`` is returned unchanged unless up to
    three words, none a stopword ("a luxury hotel on Sentosa" stays) and no punctuation between, lead to the name."""
    pos = end
    for _ in range(4):
        if re.match(rf"\s+{re.escape(name)}(?![\w'’-])", text[pos:], re.IGNORECASE):
            return pos
        m = re.match(r"\s+([\w'’-]+)", text[pos:])
        if m is None or m.group(1).lower() in ENGLISH_STOPWORDS:
            return end
        pos += m.end()
    return end


_PREPOSITION = re.compile(r"(?:^|\s)(?:in|on|at|to|by|for|from|with|into|near|across|through|about)\s+", re.IGNORECASE)
_TRAILING_JOINER = re.compile(r"(?:[\s,;:(–—-]|\b(?:the|a|an|and)\b)+$", re.IGNORECASE)


def _around_name(text: str, start: int, inside: re.Match[str]) -> tuple[int, int] | None:
    """A span that contains the subject's name described by the words before it ("video game publisher Activision
    Blizzard") or, after a comma, by the apposition that follows it ("the Department ..., the state's civil rights
    agency"); None when neither has a word that is not capitalised."""
    before = _TRAILING_JOINER.sub("", text[: inside.start()])
    if re.search(rf"{_PREPOSITION.pattern}$", before + " ", re.IGNORECASE):
        before = ""  # "a lawsuit filed in July by <name>": the name is the preposition's object, not described
    before = re.sub(r"(?:\s+of|[\s,;:(–—-]|\b(?:the|a|an)\b)+$", "", before, flags=re.IGNORECASE)
    # "Cheers erupted in the nearby town of Mae Sai": the description follows the last preposition
    lead = max((m.end() for m in _PREPOSITION.finditer(before)), default=0)
    if re.search(r"\b[a-z]", before[lead:]):
        return start + lead, start + len(before)
    after = text[inside.end():]
    if (m := re.match(r"\s*,\s*([^,.;]+)", after)) and re.search(r"\b[a-z]", m.group(1)):
        a = inside.end() + m.start(1)
        return start + a, start + a + len(m.group(1).rstrip())
    return None


def _spelled_out(passage: Passage, start: int, end: int, acronym: str) -> tuple[int, int] | None:
    """A "stand for" answer widened to the whole capitalised name it is part of ("Geological Survey" read from "the
    U.S. Geological Survey (USGS)" is "U.S. Geological Survey"), within its sentence; None for the acronym itself or
    a span whose words' initials do not spell it ("Kent" for "UKIP")."""
    text = passage.text[start - passage.start : end - passage.start]
    if re.search(rf"(?<![\w-]){re.escape(acronym)}(?![\w-])", text):
        return None
    a = start - passage.start
    while m := re.search(r"(?:^|(?<=\s))([A-Z][\w&'’-]*|(?:[A-Z]\.)+)\s+$", passage.text[max(0, a - 40) : a]):
        a -= len(m.group(0))  # a word ending in "." stops the walk unless it is an initialism ("U.S.")
    b = end - passage.start
    words = [(w.start() + a, w.group()) for w in re.finditer(r"\S+", passage.text[a:b])]
    for i, (w_start, word) in enumerate(words):  # the widest reading whose initials spell the acronym
        if word.lower() != "the" and _spells(acronym, [w for _, w in words[i:]]):
            return passage.start + w_start, end
    return None


def _spells(acronym: str, words: Sequence[str]) -> bool:
    """Whether ``words`` (a name) abbreviate to ``acronym``: the first word starts it, and each word's initials (all
    the capitals of one written in capitals, "UK"; each part of a hyphenated one, "Mid-Infrared") come in order
    among its letters."""
    letters = [ch for ch in acronym.upper() if ch.isalpha()]
    initials: list[str] = []
    for w in words:
        if w.lower() in _JOINERS:
            continue
        bare = re.sub(r"[^\w-]", "", w)
        if bare.replace("-", "").isupper():
            initials += [ch for ch in bare if ch.isalpha()]
        else:
            initials += [part[0].upper() for part in bare.split("-") if part]
    if not initials or not letters or initials[0] != letters[0]:
        return False
    rest = iter(letters)
    return all(ch in rest for ch in initials)
