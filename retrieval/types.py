"""Typed results shared by every component: documents, passages, hits, answers."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

AbstainReason = Literal["no_candidate", "off_topic", "low_confidence"]

__all__ = [
    "AbstainReason",
    "Document",
    "Passage",
    "Candidate",
    "Hit",
    "Citation",
    "Answer",
    "AnswerValue",
]


@dataclass(frozen=True)
class Document:
    """One article: its original text, and the character ranges that hold content (not page boilerplate)."""

    doc_id: str
    title: str
    text: str
    source: str
    content_spans: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class Candidate:
    """A possible answer span found at index time (entity, number, date, noun chunk)."""

    start: int
    end: int
    kind: str


@dataclass(frozen=True)
class Passage:
    """A sentence-aligned slice of a document; ``document.text[start:end] == text``."""

    passage_id: int
    doc_id: str
    start: int
    end: int
    text: str
    sentences: tuple[tuple[int, int], ...] = ()
    candidates: tuple[Candidate, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "passage_id": self.passage_id,
            "doc_id": self.doc_id,
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "sentences": [list(s) for s in self.sentences],
            "candidates": [[c.start, c.end, c.kind] for c in self.candidates],
        }

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> Passage:
        return cls(
            passage_id=int(obj["passage_id"]),
            doc_id=str(obj["doc_id"]),
            start=int(obj["start"]),
            end=int(obj["end"]),
            text=str(obj["text"]),
            sentences=tuple((int(a), int(b)) for a, b in obj.get("sentences", [])),
            candidates=tuple(Candidate(int(a), int(b), str(k)) for a, b, k in obj.get("candidates", [])),
        )


@dataclass
class Hit:
    """A retrieved passage with the evidence of each retriever (rank 1 is best; None when not retrieved)."""

    passage: Passage
    score: float
    rank: int
    bm25_score: float | None = None
    bm25_rank: int | None = None
    dense_score: float | None = None
    dense_rank: int | None = None
    title: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "passage_id": self.passage.passage_id,
            "doc_id": self.passage.doc_id,
            "title": self.title,
            "start": self.passage.start,
            "end": self.passage.end,
            "text": self.passage.text,
            "fused_score": self.score,
            "rank": self.rank,
            "bm25_score": self.bm25_score,
            "bm25_rank": self.bm25_rank,
            "dense_score": self.dense_score,
            "dense_rank": self.dense_rank,
        }

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> Hit:
        """Inverse of :meth:`to_json`; the passage's sentence and entity spans are not in it, so they come back
        empty."""
        passage = Passage(int(obj["passage_id"]), str(obj["doc_id"]), int(obj["start"]), int(obj["end"]), str(obj["text"]))
        return cls(passage, float(obj["fused_score"]), int(obj["rank"]), _opt(obj.get("bm25_score"), float),
                   _opt(obj.get("bm25_rank"), int), _opt(obj.get("dense_score"), float),
                   _opt(obj.get("dense_rank"), int), str(obj.get("title", "")))


def _opt(value: Any, kind: Any) -> Any:
    return None if value is None else kind(value)


@dataclass(frozen=True)
class Citation:
    """Where an answer span stands: document offsets into the original file, and its sentence."""

    doc_id: str
    title: str
    start: int
    end: int
    text: str
    passage_id: int
    sentence: str
    sentence_start: int
    sentence_end: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> Citation:
        return cls(**{f.name: obj[f.name] for f in fields(cls)})  # to_json is asdict: the same keys


@dataclass
class AnswerValue:
    """One distinct answer value with its pooled support (used to report conflicting sources)."""

    text: str
    normalized: str
    score: float
    citations: list[Citation] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "normalized": self.normalized,
            "score": self.score,
            "citations": [c.to_json() for c in self.citations],
        }

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> AnswerValue:
        return cls(str(obj["text"]), str(obj["normalized"]), float(obj["score"]),
                   [Citation.from_json(c) for c in obj.get("citations", [])])


@dataclass
class Answer:
    """The engine's reply: ``text`` is None when the engine abstains, and ``abstain_reason`` says why:
    ``no_candidate`` (nothing in the retrieved passages reads as an answer), ``off_topic`` (no passage is close to
    the question and none holds most of its words: the corpus is about something else) or ``low_confidence`` (a best guess exists, in
    ``alternatives``, but its confidence is below the threshold)."""

    question: str
    text: str | None
    score: float
    citations: list[Citation] = field(default_factory=list)
    alternatives: list[AnswerValue] = field(default_factory=list)
    hits: list[Hit] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    question_type: str = "other"
    conflicts: list[AnswerValue] = field(default_factory=list)
    abstain_reason: AbstainReason | None = None

    @property
    def abstained(self) -> bool:
        return self.text is None

    def to_json(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "answer": self.text,
            "score": self.score,
            "abstain_reason": self.abstain_reason,
            "question_type": self.question_type,
            "citations": [c.to_json() for c in self.citations],
            "alternatives": [a.to_json() for a in self.alternatives],
            "conflicting_values": [a.to_json() for a in self.conflicts],
            "passages": [h.to_json() for h in self.hits],
            "timings": self.timings,
        }

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> Answer:
        """Inverse of :meth:`to_json` (what ``ask --json`` prints), so a saved answer can be read back typed."""
        return cls(
            question=str(obj["question"]), text=_opt(obj.get("answer"), str), score=float(obj["score"]),
            citations=[Citation.from_json(c) for c in obj.get("citations", [])],
            alternatives=[AnswerValue.from_json(a) for a in obj.get("alternatives", [])],
            hits=[Hit.from_json(h) for h in obj.get("passages", [])],
            timings={str(k): float(v) for k, v in (obj.get("timings") or {}).items()},
            question_type=str(obj.get("question_type", "other")),
            conflicts=[AnswerValue.from_json(a) for a in obj.get("conflicting_values", [])],
            abstain_reason=obj.get("abstain_reason"),
        )
