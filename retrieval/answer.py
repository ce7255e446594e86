"""Extractive answers from retrieved passages: typed candidates, a fitted scorer, pooled evidence, abstention.

Candidates (entities, numbers, dates, noun chunks) were found by spaCy at index time; here they are only scored, so
answering needs numpy alone. Each candidate gets a handful of features (retrieval rank, the similarity of its
sentence to the question, keyword coverage and proximity, whether its kind fits the question), a logistic model
fitted by ``eval/fit_answerer.py`` turns them into a probability, and mentions of the same normalised value are
pooled across passages and articles (noisy-or over documents). A second fitted curve maps the pooled evidence to
the probability that the answer is right; below the fitted threshold the engine abstains.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from retrieval.tokenize import TokenizerConfig, tokenize
from retrieval.types import Candidate, Citation, Hit

__all__ = [
    "AnswerModel",
    "FEATURE_NAMES",
    "QuestionAnalysis",
    "READER_CONFIDENCE_FEATURES",
    "ReaderEvidence",
    "ReaderRow",
    "ReaderSettings",
    "ScoredValue",
    "analyze_question",
    "best_dense_cosine",
    "candidate_features",
    "claimed_values",
    "confidence_features",
    "normalize_value",
    "reader_rows",
    "select_answer",
    "select_reader_answer",
    "shift_probability",
]

NUMERIC_KINDS = frozenset({"CARDINAL", "QUANTITY", "MONEY", "PERCENT"})
TEMPORAL_KINDS = frozenset({"DATE", "TIME"})
PLACE_KINDS = frozenset({"GPE", "LOC", "FAC"})
AGENT_KINDS = frozenset({"PERSON", "ORG", "NORP"})
ENTITY_KINDS = NUMERIC_KINDS | TEMPORAL_KINDS | PLACE_KINDS | AGENT_KINDS | {"EVENT", "PRODUCT", "LAW", "WORK_OF_ART", "LANGUAGE", "ORDINAL"}

_PLACE_NOUNS = {"city", "country", "town", "village", "place", "region", "capital", "location", "area", "state", "nation", "province", "district", "border"}
_TIME_NOUNS = {"year", "day", "date", "month", "time", "century", "decade", "week", "hour", "season", "period"}
_PERSON_NOUNS = {"person", "leader", "president", "minister", "official", "man", "woman", "spokesman", "spokesperson", "politician", "general", "commander", "ombudsman", "advisor", "adviser", "king", "queen", "author", "player", "people", "group", "organization", "organisation", "company", "agency", "team", "party", "body", "alliance", "ally"}
_COUNT_NOUNS = {"number", "amount", "percentage", "percent", "proportion", "total", "size", "population", "cost", "price", "age"}

_WH = re.compile(
    r"\b(how\s+(?:many|much|long|old|far|large|big|tall|high|often)|when|where|who(?:m|se)?|why|which|what|how)\b",
    re.IGNORECASE,
)
_WORD = re.compile(r"[^\W_]+(?:[.,'’][^\W_]+)*", re.UNICODE)
_QUALIFIER = re.compile(
    r"^(?:about|around|approximately|roughly|nearly|almost|over|more than|less than|fewer than|at least|at most|"
    r"up to|some|only|just|an estimated|estimated)\s+",
    re.IGNORECASE,
)
_CLAUSE_MARKER = re.compile(r"\b(?:because(?: of)?|due to|since|as a result of|in order to|so that|after|amid|following)\b", re.IGNORECASE)
_NUMBER_WORDS = {
    "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7", "eight": "8",
    "nine": "9", "ten": "10", "eleven": "11", "twelve": "12", "twenty": "20", "thirty": "30", "hundred": "100",
    "thousand": "1000", "dozen": "12",
}
# News copy abbreviates months ("Sept. 19") where another article spells them out ("September 19").
_MONTHS = {
    "jan": "january", "feb": "february", "mar": "march", "apr": "april", "jun": "june", "jul": "july",
    "aug": "august", "sep": "september", "sept": "september", "oct": "october", "nov": "november", "dec": "december",
}

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
class QuestionAnalysis:
    qtype: str
    expected: frozenset[str]
    focus: str | None
    keywords: tuple[str, ...]


def analyze_question(question: str, tokenizer: TokenizerConfig | None = None) -> QuestionAnalysis:
    """Question type (count, when, where, who, why, which, what, how, other), expected kinds and focus noun."""
    q = question.strip().lower()
    keywords = tuple(dict.fromkeys(tokenize(question, tokenizer)))
    m = _WH.search(q)
    if not m:
        return QuestionAnalysis("other", frozenset(), None, keywords)
    wh = re.sub(r"\s+", " ", m.group(1))
    after = _WORD.findall(q[m.end() :])
    focus = next((w for w in after if w not in _SKIP_FOCUS), None)
    if wh.startswith("how "):
        if wh in ("how many", "how much"):
            return QuestionAnalysis("count", NUMERIC_KINDS, focus, keywords)
        if wh in ("how long", "how often"):
            return QuestionAnalysis("count", NUMERIC_KINDS | TEMPORAL_KINDS, focus, keywords)
        return QuestionAnalysis("count", NUMERIC_KINDS, focus, keywords)
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
    if noun in _PLACE_NOUNS or (noun and noun.rstrip("s") in _PLACE_NOUNS):
        return QuestionAnalysis("where", PLACE_KINDS, noun, keywords)
    if noun in _TIME_NOUNS or (noun and noun.rstrip("s") in _TIME_NOUNS):
        return QuestionAnalysis("when", TEMPORAL_KINDS, noun, keywords)
    if noun in _PERSON_NOUNS or (noun and noun.rstrip("s") in _PERSON_NOUNS):
        return QuestionAnalysis("who", AGENT_KINDS, noun, keywords)
    if noun in _COUNT_NOUNS:
        return QuestionAnalysis("count", NUMERIC_KINDS, noun, keywords)
    return QuestionAnalysis(wh if wh in ("which", "what") else "other", frozenset(), noun, keywords)


_SKIP_FOCUS = {"is", "was", "are", "were", "do", "does", "did", "the", "a", "an", "of", "kind", "type", "sort", "has", "had", "have", "will", "would", "can", "could"}


def _focus_noun(words: Sequence[str]) -> str | None:
    for w in words[:3]:
        if w in _SKIP_FOCUS:
            continue
        return w
    return None


@lru_cache(maxsize=65536)
def normalize_value(text: str) -> str:
    """Pooling key: "2,000", "2000" and "about 2,000" are one value; case, articles and punctuation ignored."""
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
    t = re.sub(r"[^\w\s.]", " ", t)
    t = re.sub(r"(?<!\d)\.|\.(?!\d)", " ", t)
    words = [_MONTHS.get(w, _NUMBER_WORDS.get(w, w)) for w in t.split()]
    words = [w for w in words if w not in ("the", "a", "an")]
    merged: list[str] = []
    for w in words:  # "two thousand" -> "2000", "three hundred" -> "300"
        if w in ("100", "1000") and merged and merged[-1].isdigit() and 0 < int(merged[-1]) < 100:
            merged[-1] = str(int(merged[-1]) * int(w))
        else:
            merged.append(w)
    return " ".join(merged)


@dataclass
class _Mention:
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
    mentions: list[_Mention] = field(default_factory=list)
    coverage: float = 0.0
    evidence: ReaderEvidence | None = None  # the reader's evidence for its most probable mention


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
        return _sigmoid(a * _logit(pooled_prob) + b * coverage + c)

    def value_confidence(self, value: ScoredValue, best_cosine: float) -> float:
        """The probability that ``value`` is right (the question's best cosine is not a feature here)."""
        return self.confidence(value.prob, value.coverage)


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(min(x, 50.0), -50.0)))


def _logit(prob: float) -> float:
    p = min(max(prob, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def shift_probability(prob: float, shift: float) -> float:
    """``prob`` with ``shift`` added to its logit, exactly: no shift or a probability of 0 or 1 returns it as is,
    so a shift there and back is the identity (``ReaderSettings.prior_shift``)."""
    if shift == 0.0 or not 0.0 < prob < 1.0:
        return prob
    x = math.log(prob) - math.log1p(-prob) + shift
    return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))


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
    cand_tokens = _tokens(cand_text, tokenizer)
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
        focus_tok = _tokens(analysis.focus, tokenizer)
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
        1.0 if re.search(r"\d", cand_text) or any(w in _NUMBER_WORDS for w in cand_text.lower().split()) else 0.0,
        focus_adjacent,
        1.0 if cand.start == sent.start else 0.0,
        min(rarity, 1.5),
        type_mismatch,
    ]


def _coverage(tokens: set[str], keywords: Sequence[str], idf: dict[str, float]) -> float:
    total = sum(idf.get(k, 0.0) for k in keywords)
    if total <= 0:
        return 0.0
    return sum(idf.get(k, 0.0) for k in keywords if k in tokens) / total


@lru_cache(maxsize=65536)
def _tokens(text: str, tokenizer: TokenizerConfig | None) -> tuple[str, ...]:
    return tuple(tokenize(text, tokenizer))


@lru_cache(maxsize=16384)
def _sentence_tokens(text: str, offset: int, tokenizer: TokenizerConfig | None) -> tuple[tuple[int, int, str], ...]:
    out = []
    for m in _WORD.finditer(text):
        toks = _tokens(m.group(0), tokenizer)
        if toks:
            out.append((offset + m.start(), offset + m.end(), toks[0]))
    return tuple(out)


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
        p_tokens = set(_tokens(p.text, tokenizer))
        p_cov = _coverage(p_tokens, analysis.keywords, idf)
        views = []
        for (s, e), cos in zip(p.sentences, cosines):
            text = p.text[s - p.start : e - p.start]
            toks = _sentence_tokens(text, s, tokenizer)
            cov = _coverage({t for _a, _b, t in toks}, analysis.keywords, idf)
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
        sv.mentions.append(_Mention(text, cit, prob, cit.doc_id, cov))
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


# --- trained reader -----------------------------------------------------------------------------------------


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

    def __post_init__(self) -> None:
        if not math.isfinite(self.prior_shift):
            raise ValueError("prior_shift must be a finite number")
        if len(self.confidence_coef) != len(READER_CONFIDENCE_FEATURES) + 1:
            raise ValueError(f"reader confidence needs {len(READER_CONFIDENCE_FEATURES) + 1} coefficients")
        if not 0.0 < self.untyped_reading_weight <= 1.0:
            raise ValueError("untyped_reading_weight must be in (0, 1]")
        if not 0.0 <= self.sentence_weight < math.inf:
            raise ValueError("sentence_weight must be a finite number >= 0")

    def to_json(self) -> dict[str, Any]:
        return {
            "passages": self.passages, "temperature": self.temperature, "retrieval_weight": self.retrieval_weight,
            "confidence_features": list(READER_CONFIDENCE_FEATURES), "confidence": list(self.confidence_coef),
            "threshold": self.threshold, "min_question_cosine": self.min_question_cosine,
            "pool_overlapping": self.pool_overlapping, "untyped_reading_weight": self.untyped_reading_weight,
            "sentence_weight": self.sentence_weight, "prior_shift": self.prior_shift,
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
        )

    def value_confidence(self, value: ScoredValue, best_cosine: float) -> float:
        """The probability that ``value`` is right, from ``confidence_features`` (``best_cosine``: the best dense
        cosine between the question and a retrieved passage)."""
        x = confidence_features(value, best_cosine)
        return _sigmoid(float(np.dot(self.confidence_coef[:-1], x)) + self.confidence_coef[-1] + self.prior_shift)

    def fitted_confidence(self, shown: float) -> float:
        """``shown`` (a ``value_confidence``) back on the fitted curve's scale, before ``prior_shift``."""
        return shift_probability(shown, -self.prior_shift)


def confidence_features(value: ScoredValue, best_cosine: float) -> np.ndarray:
    """The reader confidence's inputs, in the order of ``READER_CONFIDENCE_FEATURES``."""
    ev = value.evidence or ReaderEvidence(0.0, 0.0, 0.0)
    return np.asarray([_logit(value.prob), value.coverage, ev.margin / 10, ev.missing_passage,
                       ev.missing_sentence, best_cosine])


def best_dense_cosine(hits: Sequence[Hit], default: float = 0.0) -> float:
    """The best dense cosine between the question and a retrieved passage (``default`` when none has one)."""
    return max((h.dense_score for h in hits if h.dense_score is not None), default=default)


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


def _missing(tokens: set[str], keywords: Sequence[str], idf: dict[str, float]) -> float:
    """IDF of the rarest keyword absent from ``tokens``, over the IDF of the rarest keyword (0: none absent)."""
    top = max((idf.get(k, 0.0) for k in keywords), default=0.0)
    if top <= 0:
        return 0.0
    return max((idf.get(k, 0.0) for k in keywords if k not in tokens), default=0.0) / top


def reader_rows(
    question: str, hits: Sequence[Hit], spans: Sequence[Any], idf: dict[str, float],
    tokenizer: TokenizerConfig | None = None, sentence_cosines: Sequence[Sequence[float]] | None = None,
) -> list[ReaderRow]:
    """Place reader spans (offsets within ``hits[i].passage.text``) in their documents and sentences.

    ``sentence_cosines[i][j]``: the question's cosine to sentence ``j`` of ``hits[i]`` (``Engine.sentence_cosines``).
    """
    analysis = analyze_question(question, tokenizer)
    keywords, expected = analysis.keywords, analysis.expected - {"CLAUSE"}
    rows: list[ReaderRow] = []
    seen: set[tuple[str, int, int]] = set()
    for span in spans:
        hit = hits[span.context_index]
        p = hit.passage
        start, end = p.start + span.start, p.start + span.end
        if (p.doc_id, start, end) in seen or not span.text.strip():
            continue
        seen.add((p.doc_id, start, end))
        j, (s0, s1) = next(((j, (a, b)) for j, (a, b) in enumerate(p.sentences) if a <= start < b),
                           (None, (p.start, p.end)))
        # the sentence reaches the span's end, even a closing quote the span took along past the full stop
        s1 = max(s1, end, next((b for a, b in p.sentences if a < end <= b), s1))
        sentence = p.text[s0 - p.start : s1 - p.start]
        cosines = sentence_cosines[span.context_index] if sentence_cosines is not None else ()
        sentence_cosine = float(cosines[j]) if j is not None and j < len(cosines) else None
        sentence_tokens = set(_tokens(sentence, tokenizer))
        cov = _coverage(sentence_tokens, keywords, idf)
        evidence = ReaderEvidence(
            span.score - span.null_score, _missing(set(_tokens(p.text, tokenizer)), keywords, idf),
            _missing(sentence_tokens, keywords, idf),
        )
        citation = Citation(
            doc_id=p.doc_id, title=hit.title, start=start, end=end, text=span.text, passage_id=p.passage_id,
            sentence=sentence, sentence_start=s0, sentence_end=s1,
        )
        typed = any(c.start == start and c.end == end and c.kind in expected for c in p.candidates)
        rows.append(ReaderRow(span.text, citation, span.score, span.null_score, hit.rank, cov, evidence, typed,
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
        return max(group, key=lambda i: probs[i] * (1.0 if rows[i].typed else untyped_weight))

    return [rows[named_by(members[h])] for h in heads], [sum(probs[i] for i in members[h]) for h in heads]


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
        sv.mentions.append(_Mention(row.text, row.citation, prob, row.citation.doc_id, row.coverage, row.evidence))
        sv.prob += prob
    for sv in values.values():
        sv.mentions.sort(key=lambda m: -m.prob)
        sv.text = sv.mentions[0].text
        sv.evidence = sv.mentions[0].evidence
        sv.coverage = max(m.coverage for m in sv.mentions)
        sv.prob = min(sv.prob, 1.0)
    return sorted(values.values(), key=lambda v: (-v.prob, v.key))
