"""Read a corpus folder into documents and mark which character ranges are content.

Page boilerplate (donation pleas, comment prompts, menus, bullet navigation, source lines, datelines) is found by
general structural and linguistic rules, never by a list of site strings, and the original text is never changed:
every offset the engine reports points into the original file (or into the ``text`` field of a JSONL record).
"""

from __future__ import annotations

import json
import logging
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from retrieval.types import Document

__all__ = [
    "CorpusError",
    "IngestReport",
    "INGEST_RULES_VERSION",
    "SUPPORTED_SUFFIXES",
    "find_content_spans",
    "guess_title",
    "iter_corpus_files",
    "load_corpus",
    "one_line",
    "paragraph_spans",
    "split_rough_sentences",
    "wrap_width",
]

log = logging.getLogger(__name__)

SUPPORTED_SUFFIXES = (".txt", ".md", ".jsonl")
# Bumped whenever the content rules change, so indexes built under older rules are rebuilt.
INGEST_RULES_VERSION = 9  # 9: no sentence break after "a.m." etc. before a lowercase word (chunking)
MAX_FILE_BYTES = 50 * 1024 * 1024


class CorpusError(ValueError):
    """The corpus cannot be read at all (missing folder, nothing usable in it)."""


@dataclass
class IngestReport:
    """What happened to each file: loaded documents and skipped files with the reason."""

    loaded: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def skip(self, path: str, reason: str) -> None:
        self.skipped.append((path, reason))
        log.warning("skipped %s: %s", path, reason)


# --- boilerplate rules -------------------------------------------------------------------------

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*", re.UNICODE)
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_BULLET = re.compile(r"^\s*(?:[•·▪●◦‣\-–—*+]|\d{1,2}[.)])\s+")
_TERMINAL = re.compile(r"[.!?…][\"'”’)\]]*\s*$")
# Reader-directed voice outside quotations: "your support", "join our", "we need" ... News copy speaks of others in
# the third person and puts first/second person inside quotes, so unquoted you/we marks a publisher's appeal.
# Any case but "US", which is the country ("the US imposed sanctions"), not the reader.
_SECOND_PERSON_WORDS = r"[Yy]ou|YOU|[Yy]ours?|YOURS?"
_FIRST_PLURAL_WORDS = r"[Ww]e|WE|[Uu]s|[Oo]urs?|OURS?"
_ADDRESS = re.compile(rf"\b(?:{_SECOND_PERSON_WORDS}|{_FIRST_PLURAL_WORDS})\b")
_SECOND_PERSON = re.compile(rf"\b(?:{_SECOND_PERSON_WORDS})\b")
# Rules 8: "we" / "our" without "you" is an appeal only with an appeal's words. Alone it is an author's voice: a
# scientific abstract ("Here we show ...", "We describe ..."; rules 7 dropped 231 of SciFact's 5,183 abstracts
# whole), a column, first-person reporting ("We spoke to residents ...").
_FIRST_PLURAL = re.compile(rf"\b(?:{_FIRST_PLURAL_WORDS})\b")
_APPEAL_WORDS = re.compile(
    r"^\W*(?:please|read|support|join|subscribe|sign|donate|become|help|download|share|send|click|tap|listen|"
    r"contact|visit|register|follow)\b"
    r"|\bwe(?:'re| are)? (?:need|rely|depend|ask|use cookies|would (?:like|love))"
    r"|\bours? (?:latest|journalism|reporting|reporters|journalists|correspondents|newsroom|newsletters?|website|"
    r"site|readers|members|supporters|privacy|terms|polic(?:y|ies)|independent|app|podcasts?|documentar(?:y|ies)|"
    r"(?:live )?coverage)\b"
    r"|\b(?:supports?|helps?|join|contact|follow) us\b|\bwith us\b|\bkeep (?:our|us|reporting)\b"
    r"|\b(?:donat\w*|subscri\w*|paywalls?)\b",
    re.IGNORECASE,
)
# Quotations: double quotes, curly single quotes, guillemets, and straight single quotes that open before a word
# and close after one ("'We will respond,' the minister said"; not the apostrophes of "don't" or "Baku's").
_QUOTED = re.compile(r"[\"“][^\"”]*[\"”]|‘[^’]*’|«[^»]*»|(?<!\w)'(?=\w)(?:[^'\n]|(?<=\w)'(?=\w))*?(?<=[\w.,!?])'(?!\w)")
# Sentence ends: punctuation then space and an opening capital/quote/digit, or punctuation glued to a capital word
# ("difference.Azerbaijan") as pasted page text often is.
_SENT_END = re.compile(r"(?<=[.!?…])[\"'”’)\]]*(?:\s+(?=[\"'“‘(\[]?[A-Z0-9])|(?=[A-Z][a-z]))")
_ABBREV = re.compile(
    r"(?:\b(?:Mr|Mrs|Ms|Dr|Prof|Sr|Jr|St|Gen|Col|Lt|Sgt|Rep|Sen|Gov|Inc|Ltd|Co|Corp|vs|etc|No|Jan|Feb|Mar|Apr|Jun|"
    r"Jul|Aug|Sep|Sept|Oct|Nov|Dec|U\.S|U\.N|U\.K|E\.U|a\.m|p\.m|e\.g|i\.e)|\b[A-Z])\.[\"'”’)\]]*$"
)

# A photo caption ends with its credit: "(AP Photo/Petros Giannakouris, File)", "Photo: Marco Rossi/Reuters". Its
# facts are the picture's (often a file photo from another day), not the article's. Not "photo-sharing", nor a
# question or exclamation after "the photo:".
_CREDIT_AT_END = re.compile(
    r"(?:\([^()]*\b(?:photo|photograph|image|picture)s?\b(?!-)[^()]*\)"
    r"|\b(?:photo|photograph|image|picture)s?(?:\s+credit)?\s*:[^.:()?!]{1,60})\s*$",
    re.IGNORECASE,
)
# A copyright notice: a short paragraph that reserves rights in a sentence of its own ("Copyright 2024 The
# Associated Press. All rights reserved."), or a bare mark and year with a name ("© 2024 Reuters"). Prose that
# mentions rights, or starts with a year after the mark ("© 2024 was a record year ..."), is longer.
_RIGHTS_RESERVED = re.compile(r"(?:^|[.!?]\s+)\W*all rights reserved\b", re.IGNORECASE)
_COPYRIGHT_MARK = re.compile(r"^\W*(?:©|\(c\)|copyright\b)\s*(?:©\s*)?\d{4}\b", re.IGNORECASE)
MAX_COPYRIGHT_WORDS, MAX_BARE_COPYRIGHT_WORDS = 40, 8


def _is_copyright_notice(line: str) -> bool:
    words = len(_words(line))
    return (words <= MAX_COPYRIGHT_WORDS and bool(_RIGHTS_RESERVED.search(line))) or (
        words <= MAX_BARE_COPYRIGHT_WORDS and bool(_COPYRIGHT_MARK.match(line))
    )


MIN_CONTENT_WORDS = 5
MIN_UNPUNCTUATED_WORDS = 15
MAX_BULLET_NAV_WORDS = 6


def split_rough_sentences(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Split ``text[start:end]`` into sentence ranges (whitespace trimmed) with a rule-based splitter."""
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    cursor = start
    for match in _SENT_END.finditer(text, start, end):
        cut = match.start()
        head = text[cursor:cut]
        if _ABBREV.search(head):
            continue
        spans.append((cursor, cut))
        cursor = match.end()
    spans.append((cursor, end))
    return [s for s in (_trim(text, a, b) for a, b in spans) if s[1] > s[0]]


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _words(text: str) -> list[str]:
    return _WORD.findall(text)


def _is_structural_boilerplate(line: str) -> bool:
    """Menus, datelines, headings, bullet navigation, source/URL lines, photo credits, captions that carry their
    credit, copyright notices."""
    if _CREDIT_AT_END.search(line) or _is_copyright_notice(line):
        return True
    words = _words(_URL.sub(" ", line))
    if len(words) < MIN_CONTENT_WORDS:
        return True
    if _URL.search(line) and len(words) < 2 * MIN_CONTENT_WORDS + 5:
        return True
    if _BULLET.match(line) and len(words) <= MAX_BULLET_NAV_WORDS:
        return True
    if not _TERMINAL.search(line) and len(words) < MIN_UNPUNCTUATED_WORDS:
        return True
    # mostly neither letters nor digits: rules, emoji rows, symbol menus (figures are text: "1,234,567 (12.5%) voted")
    word_chars = sum(ch.isalnum() for ch in line)
    return word_chars < 0.5 * sum(not ch.isspace() for ch in line)


def _addresses_reader(sentence: str) -> bool:
    """Speaks to the reader outside quotes: "you", or "we" / "our" with an appeal's words ("we need", "support
    our journalism", "Read our live coverage")."""
    if _has_unbalanced_quote(sentence):
        return False
    bare = _QUOTED.sub(" ", sentence)
    return bool(_SECOND_PERSON.search(bare)) or (
        bool(_FIRST_PLURAL.search(bare)) and bool(_APPEAL_WORDS.search(bare))
    )


def _has_unbalanced_quote(sentence: str) -> bool:
    # A sentence inside a multi-sentence quotation starts or ends mid-quote; leave it alone.
    opens = sentence.count("“") + sentence.count("‘")
    closes = sentence.count("”") + sentence.count("’") - len(re.findall(r"[^\W_]’[^\W_]", sentence))
    return opens != closes or sentence.count('"') % 2 == 1


# Hard-wrapped text (fixed-width .txt, many .md files) breaks lines where the next word would not fit; the
# widths people wrap at lie in this range, and a one-paragraph-a-line article has many longer lines.
MIN_WRAP_WIDTH, MAX_WRAP_WIDTH = 40, 120
LINE_BREAKS = "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"  # what str.splitlines breaks at
_LINE_BREAK_RUN = re.compile(rf"\s*[{LINE_BREAKS}]\s*")
_LIST_ITEM = re.compile(r"^[ \t]*(?:[•·▪●◦‣*+-]|\d{1,2}[.)])[ \t]+")  # not "–"/"—": prose lines start with them
_HEADING = re.compile(r"^[ \t]*#{1,6}[ \t]+")  # a Markdown ATX heading's opening hashes
_HEADING_OR_ROW = re.compile(rf"{_HEADING.pattern}|^[ \t]*\|")  # Markdown heading, table row
_CLOSING_HASHES = re.compile(r"[ \t]+#+[ \t]*$")  # and its optional closing run ("## Title ##"), not "C#"
_SENTENCE_END = re.compile(r"[.!?:;…][\"'”’)\]]*$")


def _physical_lines(text: str) -> list[tuple[int, int]]:
    """(start, end) of every line, line break excluded, blank lines included."""
    out, pos = [], 0
    for line in text.splitlines(keepends=True):
        out.append((pos, pos + len(line.rstrip(LINE_BREAKS))))
        pos += len(line)
    return out


def _first_word_length(line: str) -> int:
    """Up to the first space or tab: wrapping never breaks at a no-break space, so it is part of the word."""
    return len(re.split(r"[ \t]", line.lstrip(" \t"), maxsplit=1)[0])


def _stands_alone(line: str) -> bool:
    """A heading, table row, rule or underline ("=====") is never part of a wrapped paragraph."""
    return bool(_HEADING_OR_ROW.match(line)) or not any(ch.isalnum() for ch in line)


def wrap_width(text: str) -> int | None:
    """The width ``text`` is hard-wrapped at, or None when its lines are paragraphs.

    Greedy wrapping ends a line when the next word would not fit, so in wrapped text most lines followed by another
    line are within one word of the width (the 95th percentile of line lengths): all but paragraph ends, about half
    of the lines in news copy wrapped without blank lines between paragraphs, and well under a tenth of lines of
    unwrapped text whose lengths merely vary. Those lines end mid-sentence; in text written a sentence a line they
    end a sentence. Five line pairs at least: with fewer, the longest line alone decides."""
    lines = [text[a:b].rstrip() for a, b in _physical_lines(text)]
    lengths = sorted(len(line) for line in lines if line.strip())
    if len(lengths) < 4:
        return None
    width = lengths[max(0, -(-len(lengths) * 95 // 100) - 1)]
    if not MIN_WRAP_WIDTH <= width <= MAX_WRAP_WIDTH:
        return None
    pairs = [(line, nxt) for line, nxt in zip(lines, lines[1:]) if line.strip() and nxt.strip()]
    broken = [line for line, nxt in pairs if len(line) + 1 + _first_word_length(nxt) > width]
    if len(pairs) < 5 or len(broken) < 0.45 * len(pairs):
        return None
    return width if sum(bool(_SENTENCE_END.search(line)) for line in broken) <= 0.5 * len(broken) else None


def paragraph_spans(text: str, starts_mid_line: bool = False) -> list[tuple[int, int]]:
    """(start, end) of each paragraph, whitespace trimmed: a line, or in hard-wrapped text (``wrap_width``) the run
    of lines the wrapping broke.

    In wrapped text whose paragraphs are set apart by blank lines, a paragraph is a run of non-blank lines; without
    blank lines, a line joins the next when the next line's first word would not have fit on it. Never across a
    heading, table row or rule, nor into a list item after a line that ends a sentence or an item.
    ``starts_mid_line``: ``text`` is cut from a longer text at a sentence start (a passage), so its first line is
    short for that reason alone and joins the next unless something above forbids it."""
    width = wrap_width(text)
    lines = _physical_lines(text)
    kinds = [bool(text[a:b].strip()) for a, b in lines]
    gaps = sum(1 for k in range(1, len(kinds) - 1) if not kinds[k] and kinds[k - 1])
    blank_separated = gaps >= 0.1 * sum(kinds)
    out: list[tuple[int, int]] = []
    joining = in_item = False
    first = True
    for k, (a, b) in enumerate(lines):
        line = text[a:b].rstrip()
        a, b = _trim(text, a, b)
        if b <= a:
            joining = False
            continue
        if joining and out:
            out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
            in_item = bool(_LIST_ITEM.match(line))
        nxt = text[lines[k + 1][0] : lines[k + 1][1]] if k + 1 < len(lines) else ""
        joining = (
            width is not None and bool(nxt.strip()) and not _stands_alone(line) and not _stands_alone(nxt)
            and not (_LIST_ITEM.match(nxt) and (in_item or _SENTENCE_END.search(line)))
            and (blank_separated or (first and starts_mid_line) or len(line) + 1 + _first_word_length(nxt) > width)
        )
        first = False
    return out


def find_content_spans(text: str, title_span: tuple[int, int] | None = None) -> tuple[tuple[int, int], ...]:
    """Character ranges of ``text`` that hold article content, in order, merged across whitespace-only gaps.

    A paragraph (``paragraph_spans``: a line, or the lines of hard-wrapped text that wrapping broke) is dropped
    when its shape is that of page furniture (too short, unpunctuated and short, a short bullet, a URL line); inside
    kept paragraphs, sentences that address the reader outside quotes (appeals) are dropped, and the whole
    paragraph when at least two of its sentences, and more than half, are appeals. Content that belongs to an
    appeal block goes with it (``_goes_with_appeal``); an interview's turns stay (``_interview_turns``). The
    headline's paragraph is always kept.
    """
    # Units in reading order: (start, end, kind) with kind "title", "content", "furniture" or "appeal" (addresses
    # the reader).
    units: list[tuple[int, int, str]] = []
    paragraphs = paragraph_spans(text)
    turns = _interview_turns(text, paragraphs)
    for k, (a, b) in enumerate(paragraphs):
        line = text[a:b]
        if title_span is not None and a <= title_span[0] and title_span[1] <= b:
            units.append((a, b, "title"))
        elif _is_structural_boilerplate(line):
            units.append((a, b, "appeal" if _addresses_reader(line) else "furniture"))
        elif k in turns:  # a question put to "you" and its answer in the first person are the interview itself
            units.append((a, b, "content"))
        else:
            sentences = [(s, e, "appeal" if _addresses_reader(text[s:e]) else "content")
                         for s, e in split_rough_sentences(text, a, b)]
            appeals = sum(kind == "appeal" for _s, _e, kind in sentences)
            if appeals >= 2 and 2 * appeals > len(sentences):
                # a paragraph that mostly addresses the reader is a notice as a whole ("Privacy Notice: Newsletters
                # may contain ... For more information see our Privacy Policy. We use ...")
                sentences = [(s, e, "appeal") for s, e, _kind in sentences]
            units.extend(sentences)
    kept = [
        (a, b) for i, (a, b, kind) in enumerate(units)
        if kind == "title" or (kind == "content" and not _goes_with_appeal(units, i))
    ]
    merged: list[tuple[int, int]] = []
    for a, b in kept:
        if merged and (text[merged[-1][1] : a].strip() == ""):
            merged[-1] = (merged[-1][0], b)
        else:
            merged.append((a, b))
    return tuple(merged)


_QA_LABEL = re.compile(r"^\W*(?:q|a|question|answer)\s*:\s", re.IGNORECASE)
_ENDS_AS_QUESTION = re.compile(r"\?[\"'”’)\]]*\s*$")
MAX_INTERVIEW_QUESTION_WORDS = 40



def _interview_turns(text: str, paragraphs: list[tuple[int, int]]) -> set[int]:
    """Indexes of the paragraphs that are an interview's turns: a question (labelled "Q:", or a paragraph of at
    most 40 words ending with "?") and the paragraph after it that answers it, or one labelled "A:". An answer
    speaks in the first person but does not mostly say "you": "We would like to hear from you. Share your photos"
    after "Have you been affected?" is a prompt and its appeal. Only in a text with two such pairs at least whose
    question asks "you" something (or is labelled): one question to the reader is not an interview."""
    def line(k: int) -> str:
        return text[paragraphs[k][0] : paragraphs[k][1]]

    def asks(k: int) -> bool:
        return bool(_QA_LABEL.match(line(k)) and line(k).lstrip(" \t\"'“‘(").lower().startswith("q")) or (
            bool(_ENDS_AS_QUESTION.search(line(k))) and len(_words(line(k))) <= MAX_INTERVIEW_QUESTION_WORDS
        )

    def answers(k: int) -> bool:
        sentences = [text[a:b] for a, b in split_rough_sentences(text, *paragraphs[k])]
        to_you = sum(bool(_SECOND_PERSON.search(_QUOTED.sub(" ", sent))) for sent in sentences)
        return not asks(k) and 2 * to_you <= len(sentences)

    pairs = [(k, k + 1) for k in range(len(paragraphs) - 1) if asks(k) and answers(k + 1)]
    if sum(bool(_ADDRESS.search(line(q)) or _QA_LABEL.match(line(q))) for q, _a in pairs) < 2:
        return set()
    labelled = {k for k in range(len(paragraphs)) if _QA_LABEL.match(line(k))}
    return {k for pair in pairs for k in pair} | labelled


def _goes_with_appeal(units: list[tuple[int, int, str]], i: int) -> bool:
    """A content unit between two appeals belongs to their block ("The Independent is trusted by ..."); furniture
    alone never pulls content out."""
    return 0 < i < len(units) - 1 and units[i - 1][2] == units[i + 1][2] == "appeal"


_DATEISH = re.compile(r"^[\W\d_]*(?:\d{1,2}\s+\w+,?\s+\d{4}|\w+\s+\d{1,2},?\s+\d{4})[\W\d_]*$")


def _short_title(text: str, paragraphs: list[tuple[int, int]]) -> tuple[str, tuple[int, int]] | None:
    """A title too short for the headline rule: a Markdown heading opening the file ("# Geology"), or a first line
    of one to four words set above a paragraph of prose that names its longer words again ("Civil disobedience").
    The last condition keeps out most page furniture above an untitled text ("Advertisement", "Menu"); a byline
    ("By Reuters") is not a title."""
    if not paragraphs:
        return None
    a, b = paragraphs[0]
    line = text[a:b]
    if len(line.splitlines()) != 1:
        return None
    if heading := _HEADING.match(line):
        name = _CLOSING_HASHES.sub("", line[heading.end() :]).strip()
        return (_shorten(name), (a, b)) if name else None
    words = _words(line)
    named = {w.lower() for w in words if len(w) >= 4 and w.isalpha()}
    if (
        not 1 <= len(words) < MIN_CONTENT_WORDS or not named or not line[:1].isupper() or _SENTENCE_END.search(line)
        or _DATEISH.match(line) or _URL.search(line) or "|" in line or words[0].lower() == "by"
        or len(paragraphs) < 2
    ):
        return None
    body = text[paragraphs[1][0] : paragraphs[1][1]]
    body_words = _words(body)
    if len(body_words) < MIN_UNPUNCTUATED_WORDS or not _TERMINAL.search(body):
        return None
    return (_shorten(line), (a, b)) if named <= {w.lower() for w in body_words} else None


def _reads_as_headline(line: str) -> bool:
    """Five words or more, and not a dateline, a URL line, a menu ("Home | News | World | Sport | Weather"), a
    cookie or newsletter notice (it addresses the reader) or a captioned photo credit."""
    parts = [p for p in line.split("|") if p.strip()]
    menu = len(parts) >= 3 and all(len(_words(p)) <= 3 for p in parts)
    # a notice addresses the reader in sentences ("We use cookies ... you agree ..."); a headline may say "you"
    # or "we" too ("What we know about the floods"), but in one unpunctuated line
    notice = _addresses_reader(line) and (len(split_rough_sentences(line)) > 1 or bool(_TERMINAL.search(line)))
    return (
        len(_words(line)) >= MIN_CONTENT_WORDS and not _DATEISH.match(line) and not _URL.search(line) and not menu
        and not notice and not _CREDIT_AT_END.search(line) and not _is_copyright_notice(line)
    )


def guess_title(text: str) -> tuple[str, tuple[int, int] | None]:
    """The headline: a Markdown heading or a short title line opening the file (``_short_title``), else the first
    non-empty paragraph that reads like one (five or more words, not a dateline).

    Falls back to the first non-empty paragraph, so a title always exists when the text does. A wrapped paragraph
    longer than a headline is a headline run into the text below it: its first line is the title.
    """
    paragraphs = paragraph_spans(text)
    if short := _short_title(text, paragraphs):
        return short
    first: tuple[int, int] | None = None
    for a, b in paragraphs:
        line = text[a:b]
        if first is None:
            first = (a, b)
        if _reads_as_headline(line):
            first_line = line.splitlines()[0]
            if len(line) > _TITLE_CHARS and first_line != line:
                b = a + len(first_line.rstrip())
            return _shorten(text[a:b]), (a, b)
    if first is None:
        return "", None
    return _shorten(text[first[0] : first[1]]), first


_TITLE_CHARS = 160


def one_line(text: str) -> str:
    """``text`` (wrapped over lines) for display on one line: each line break a space, or nothing where it breaks a
    word at a hyphen ("Nagorno-" / "Karabakh", not "(BSS/AFP) -" / "Azerbaijan")."""
    return _LINE_BREAK_RUN.sub(lambda m: "" if _breaks_hyphenated_word(text, m.start()) else " ", text)


def _breaks_hyphenated_word(text: str, at: int) -> bool:
    return text[at - 1 : at] == "-" and text[at - 2 : at - 1].isalnum()


def _shorten(line: str, limit: int = _TITLE_CHARS) -> str:
    line = one_line(line.strip())  # a headline wrapped over lines reads as one line
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


# --- reading files -------------------------------------------------------------------------------


def iter_corpus_files(root: Path, report: IngestReport | None = None) -> Iterator[Path]:
    """Supported files under ``root``, sorted, never following links out of the folder.

    Links that lead outside ``root`` (or nowhere) are skipped with a warning, recorded in ``report`` when given.
    """
    root_resolved = root.resolve()
    for path in sorted(root.rglob("*")):
        if path.suffix.lower() not in SUPPORTED_SUFFIXES or any(p.startswith(".") for p in path.relative_to(root).parts):
            continue
        rel = path.relative_to(root).as_posix()
        try:
            resolved = path.resolve(strict=True)
        except (OSError, RuntimeError):  # broken link, link loop
            if path.is_symlink():
                _skip(report, rel, "broken link")
            continue
        if root_resolved not in resolved.parents:
            _skip(report, rel, "links outside the corpus folder")
            continue
        if path.is_file():
            yield path


def _skip(report: IngestReport | None, rel: str, reason: str) -> None:
    if report is not None:
        report.skip(rel, reason)  # logs a warning
    else:
        log.debug("skipped %s: %s", rel, reason)


def _decode(data: bytes) -> str | None:
    if b"\x00" in data[:8192]:
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return text[1:] if text.startswith("\ufeff") else text


def _valid_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _has_words(text: str) -> bool:
    return any(unicodedata.category(ch)[0] in "LN" for ch in text)


def _make_document(doc_id: str, text: str, source: str, title: str | None = None) -> Document:
    guessed, title_span = guess_title(text)
    return Document(
        doc_id=doc_id,
        title=title if title else guessed,
        text=text,
        source=source,
        content_spans=find_content_spans(text, title_span if not title else None),
    )


def _load_jsonl(path: Path, text: str, report: IngestReport, seen: set[str]) -> list[Document]:
    docs: list[Document] = []
    # JSON lines end at "\n" only: a record may hold U+2028 / U+2029 / NEL raw, which str.splitlines() would cut
    for line_no, line in enumerate(text.split("\n"), start=1):
        line = line.removesuffix("\r")
        if not line.strip():
            continue
        where = f"{path.name}:{line_no}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            report.skip(where, "not valid JSON")
            continue
        if not isinstance(obj, dict) or not isinstance(obj.get("text"), str) or "id" not in obj:
            report.skip(where, "needs 'id' and a string 'text'")
            continue
        if not all(_valid_unicode(str(obj.get(key, ""))) for key in ("id", "title", "text")):
            report.skip(where, "not valid Unicode (lone surrogate escape)")
            continue
        doc_id = str(obj["id"]).strip()
        if not doc_id or doc_id in seen:
            report.skip(where, f"duplicate or empty document id {doc_id!r}")
            continue
        if not _has_words(obj["text"]):
            report.skip(where, "empty text")
            continue
        title = obj.get("title") if isinstance(obj.get("title"), str) else None
        seen.add(doc_id)
        docs.append(_make_document(doc_id, obj["text"], f"{path.name}#{doc_id}", title or None))
    return docs


def load_corpus(root: str | Path, report: IngestReport | None = None) -> list[Document]:
    """All documents of a corpus folder (or a single supported file), in a stable order.

    Unreadable files (binary, not UTF-8, empty, too large, duplicate ids) are skipped and recorded in ``report``;
    a missing path or a corpus with no usable document raises :class:`CorpusError`.
    """
    report = report if report is not None else IngestReport()
    root = Path(root)
    if not root.exists():
        raise CorpusError(f"corpus path does not exist: {root}")
    if root.is_file():
        files, base = [root], root.parent
    else:
        files, base = list(iter_corpus_files(root, report)), root
    docs: list[Document] = []
    seen: set[str] = set()
    for path in files:
        rel = path.relative_to(base).as_posix()
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                report.skip(rel, f"larger than {MAX_FILE_BYTES // (1024 * 1024)} MB")
                continue
            data = path.read_bytes()
        except OSError as exc:
            report.skip(rel, f"cannot read ({exc.strerror or exc})")
            continue
        text = _decode(data)
        if text is None:
            report.skip(rel, "not UTF-8 text")
            continue
        if path.suffix.lower() == ".jsonl":
            docs.extend(_load_jsonl(path, text, report, seen))
            continue
        if not _has_words(text):
            report.skip(rel, "empty file")
            continue
        doc_id = path.relative_to(base).with_suffix("").as_posix()
        if doc_id in seen:
            report.skip(rel, f"duplicate document id {doc_id!r}")
            continue
        seen.add(doc_id)
        docs.append(_make_document(doc_id, text, rel))
    report.loaded = len(docs)
    if not docs:
        raise CorpusError(f"no usable .txt, .md or .jsonl documents in {root}")
    return docs
