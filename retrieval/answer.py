"""The heuristic answerer: typed candidates, a fitted scorer, pooled evidence, abstention.

Candidates (entities, numbers, dates, noun chunks) were found by spaCy at index time; here they are only scored, so
answering needs numpy alone. Each candidate gets a handful of features (retrieval rank, the similarity of its
sentence to the question, keyword coverage and proximity, whether its kind fits the question), a logistic model
fitted by ``eval/fit_answerer.py`` turns them into a probability, and mentions of the same normalised value are
pooled across passages and articles (noisy-or over documents). A second fitted curve maps the pooled evidence to
the probability that the answer is right; below the fitted threshold the engine abstains. ``AnswerModel`` holds
those weights and, when fitted, the trained reader's ``ReaderSettings`` (both in ``retrieval/data/answerer.json``).

What the question asks is read in ``retrieval.question``, answer values are pooled in ``retrieval.values``, and
the trained reader's spans become answers in ``retrieval.reader_answer``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from retrieval.question import (
    ENTITY_KINDS,
    QuestionAnalysis,
    analyze_question,
    keyword_coverage,
    sentence_tokens,
    text_tokens,
)
from retrieval.reader_answer import ReaderSettings
from retrieval.tokenize import TokenizerConfig
from retrieval.types import Candidate, Citation, Hit
from retrieval.values import NUMBER_WORDS, Mention, ScoredValue, logit, normalize_value, sigmoid

__all__ = [
    "AnswerModel",
    "FEATURE_NAMES",
    "candidate_features",
    "collect_candidates",
    "select_answer",
]

_CLAUSE_MARKER = re.compile(r"\b(?:because(?: of)?|due to|since|as a result of|in order to|so that|after|amid|following)\b", re.IGNORECASE)

FEATURE_NAMES = (
    "inv_rank",
    "rel_score",
    "sentence_cosine",
    "sentence_coverage",
    "passage_coverage",
    "proximity",
    "type_match",
    "is_entity",
    "is_np",
    "in_question",
    "log_length",
    "has_number",
    "focus_adjacent",
    "first_in_sentence",
    "rarity",
    "type_mismatch",
)


@dataclass(frozen=True)
class AnswerModel:
    """Fitted weights of the candidate scorer and the answer-confidence curve."""

    weights: tuple[float, ...]
    bias: float
    confidence_coef: tuple[float, float, float]  # (logit of pooled prob, sentence coverage, intercept)
    threshold: float
    meta: dict[str, Any] = field(default_factory=dict)
    reader: ReaderSettings | None = None

    @classmethod
    def default(cls) -> AnswerModel:
        return cls.load(None)

    @classmethod
    def load(cls, path: str | Path | None) -> AnswerModel:
        if path is None:
            raw = resources.files("retrieval").joinpath("data/answerer.json").read_text(encoding="utf-8")
        else:
            raw = Path(path).read_text(encoding="utf-8")
        obj = json.loads(raw)
        if tuple(obj["features"]) != FEATURE_NAMES:
            raise ValueError("answerer weights were fitted for other features; re-run eval/fit_answerer.py")
        return cls(
            weights=tuple(float(w) for w in obj["weights"]),
            bias=float(obj["bias"]),
            confidence_coef=tuple(float(c) for c in obj["confidence"]),  # type: ignore[arg-type]
            threshold=float(obj["threshold"]),
            meta=obj.get("meta", {}),
            reader=ReaderSettings.from_json(obj["reader"]) if obj.get("reader") else None,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "features": list(FEATURE_NAMES),
            "weights": list(self.weights),
            "bias": self.bias,
            "confidence": list(self.confidence_coef),
            "threshold": self.threshold,
            "meta": self.meta,
            "reader": self.reader.to_json() if self.reader else None,
        }

    def confidence(self, pooled_prob: float, coverage: float) -> float:
        a, b, c = self.confidence_coef
        return sigmoid(a * logit(pooled_prob) + b * coverage + c)

    def value_confidence(self, value: ScoredValue, best_cosine: float) -> float:
        """The probability that ``value`` is right (the question's best cosine is not a feature here)."""
        return self.confidence(value.prob, value.coverage)


@dataclass
class _SentenceView:
    start: int
    end: int
    text: str
    cosine: float
    coverage: float
    tokens: list[tuple[int, int, str]]  # (start, end, normalised token) in document offsets


def _clause_candidates(sent: _SentenceView) -> list[Candidate]:
    out = []
    for m in _CLAUSE_MARKER.finditer(sent.text):
        a = sent.start + m.start()
        b = sent.end
        while b > a and sent.text[b - sent.start - 1] in ".!?\"'”’ ":
            b -= 1
        if b - a > 8:
            out.append(Candidate(a, b, "CLAUSE"))
    return out


def candidate_features(
    analysis: QuestionAnalysis,
    cand: Candidate,
    cand_text: str,
    sent: _SentenceView,
    hit: Hit,
    top_score: float,
    passage_coverage: float,
    idf: dict[str, float],
    tokenizer: TokenizerConfig | None,
    idf_scale: float = 1.0,
) -> list[float]:
    cand_tokens = text_tokens(cand_text, tokenizer)
    # Topic entities ("Azerbaijan" in a Karabakh corpus) are in most passages; answers tend to be specific.
    rarity = (sum(idf.get(t, idf_scale) for t in cand_tokens) / len(cand_tokens) / idf_scale) if cand_tokens else 0.0
    kw = set(analysis.keywords)
    in_q = sum(t in kw for t in cand_tokens) / len(cand_tokens) if cand_tokens else 1.0
    # word distance from the candidate to the nearest question keyword in its sentence
    positions = [i for i, (_a, _b, tok) in enumerate(sent.tokens) if tok in kw]
    cand_pos = [i for i, (a, b, _t) in enumerate(sent.tokens) if a >= cand.start and b <= cand.end]
    if positions and cand_pos:
        dist = min(abs(p - c) for p in positions for c in cand_pos)
        proximity = 1.0 / (1.0 + max(dist - 1, 0))
    else:
        proximity = 0.0
    focus_adjacent = 0.0
    if analysis.focus and cand_pos:
        window = sent.tokens[max(cand_pos[0] - 3, 0) : cand_pos[-1] + 4]
        focus_tok = text_tokens(analysis.focus, tokenizer)
        if focus_tok and any(t == focus_tok[0] for _a, _b, t in window):
            focus_adjacent = 1.0
    expected = analysis.expected
    type_mismatch = 0.0
    if cand.kind in expected:
        type_match = 1.0
    elif analysis.qtype == "count" and cand.kind == "NP" and re.search(r"\d", cand_text):
        type_match = 0.5
    elif not expected:
        type_match = 0.5 if cand.kind in ENTITY_KINDS or cand.kind == "NP" else 0.0
    else:
        type_match = 0.0
        type_mismatch = 1.0
    return [
        1.0 / hit.rank,
        hit.score / top_score if top_score > 0 else 0.0,
        sent.cosine,
        sent.coverage,
        passage_coverage,
        proximity,
        type_match,
        1.0 if cand.kind in ENTITY_KINDS else 0.0,
        1.0 if cand.kind == "NP" else 0.0,
        in_q,
        math.log1p(len(cand_tokens) or len(cand_text.split())),
        1.0 if re.search(r"\d", cand_text) or any(w in NUMBER_WORDS for w in cand_text.lower().split()) else 0.0,
        focus_adjacent,
        1.0 if cand.start == sent.start else 0.0,
        min(rarity, 1.5),
        type_mismatch,
    ]


def collect_candidates(
    question: str,
    hits: Sequence[Hit],
    sentence_cosines: Sequence[Sequence[float]],
    idf: dict[str, float],
    tokenizer: TokenizerConfig | None = None,
    idf_scale: float | None = None,
) -> tuple[QuestionAnalysis, list[tuple[list[float], str, Citation, float]]]:
    """Every candidate of the hits with its feature vector, surface text, citation and sentence coverage."""
    analysis = analyze_question(question, tokenizer)
    rows: list[tuple[list[float], str, Citation, float]] = []
    if not hits:
        return analysis, rows
    top = max(h.score for h in hits)
    scale = idf_scale if idf_scale else (max(idf.values()) if idf else 1.0)
    for hit, cosines in zip(hits, sentence_cosines):
        p = hit.passage
        p_tokens = set(text_tokens(p.text, tokenizer))
        p_cov = keyword_coverage(p_tokens, analysis.keywords, idf)
        views = []
        for (s, e), cos in zip(p.sentences, cosines):
            text = p.text[s - p.start : e - p.start]
            toks = sentence_tokens(text, s, tokenizer)
            cov = keyword_coverage({t for _a, _b, t in toks}, analysis.keywords, idf)
            views.append(_SentenceView(s, e, text, float(cos), cov, list(toks)))
        cands = list(p.candidates)
        if analysis.qtype in ("why", "how"):
            for v in views:
                cands.extend(_clause_candidates(v))
        for cand in cands:
            view = next((v for v in views if v.start <= cand.start and cand.end <= v.end), None)
            if view is None:
                continue
            cand_text = p.text[cand.start - p.start : cand.end - p.start]
            feats = candidate_features(analysis, cand, cand_text, view, hit, top, p_cov, idf, tokenizer, scale)
            citation = Citation(
                doc_id=p.doc_id, title=hit.title, start=cand.start, end=cand.end, text=cand_text,
                passage_id=p.passage_id, sentence=view.text, sentence_start=view.start, sentence_end=view.end,
            )
            rows.append((feats, cand_text, citation, view.coverage))
    return analysis, rows


def select_answer(
    rows: Sequence[tuple[list[float], str, Citation, float]], model: AnswerModel
) -> list[ScoredValue]:
    """Score candidates, pool mentions of one value (noisy-or over documents), best value first."""
    if not rows:
        return []
    x = np.asarray([r[0] for r in rows], dtype=np.float64)
    logits = x @ np.asarray(model.weights) + model.bias
    probs = 1.0 / (1.0 + np.exp(-np.clip(logits, -50, 50)))
    values: dict[str, ScoredValue] = {}
    for (feats, text, cit, cov), prob in zip(rows, probs.tolist()):
        key = normalize_value(text)
        if not key:
            continue
        sv = values.setdefault(key, ScoredValue(text=text, key=key, prob=0.0))
        sv.mentions.append(Mention(text, cit, prob, cit.doc_id, cov))
    for sv in values.values():
        best_per_doc: dict[str, float] = {}
        for m in sv.mentions:
            best_per_doc[m.doc_id] = max(best_per_doc.get(m.doc_id, 0.0), m.prob)
        miss = 1.0
        for p in best_per_doc.values():
            miss *= 1.0 - p
        sv.prob = 1.0 - miss
        best = max(sv.mentions, key=lambda m: m.prob)
        sv.text = best.text
        sv.coverage = max(m.coverage for m in sv.mentions)
        sv.mentions.sort(key=lambda m: -m.prob)
    return sorted(values.values(), key=lambda v: (-v.prob, v.key))
