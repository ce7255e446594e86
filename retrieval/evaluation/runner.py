"""Run the engine over an evaluation dataset: retrieval metrics per method, answer metrics, abstention, latency.

External datasets (SQuAD, BEIR) are turned into a JSONL corpus and indexed once into a cache folder keyed by the
data's hash and the build settings; later runs reuse it.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from retrieval.engine import BuildConfig, Engine
from retrieval.evaluation.datasets import EvalDataset, EvalQuestion, dataset_fingerprint
from retrieval.evaluation.metrics import (
    abstention_summary,
    answer_scores_unanswerable,
    contains_answer,
    doc_recall_at_k,
    exact_match,
    expected_calibration_error,
    f1,
    mrr_at_k,
    ndcg_at_k,
    percentiles,
    real_golds,
    recall_at_k,
    reliability_bins,
)
from retrieval.fusion import FusionMode, fuse
from retrieval.types import Answer, Hit

__all__ = [
    "DOC_RECALL_DEPTH",
    "METHODS",
    "RetrievalRun",
    "build_config_for",
    "dataset_cache_key",
    "default_cache_root",
    "evaluate_answers",
    "evaluate_retrieval",
    "index_for_dataset",
    "run_methods",
]

METHODS = ("bm25", "dense", "hybrid-rrf", "hybrid-convex")
# Passages retrieved for document recall@100: a document ranks by its best passage, so 100 passages cover fewer
# than 100 documents (SciFact: ~2.6 passages a document).
DOC_RECALL_DEPTH = 1000
Progress = Callable[[str, int], Callable[[int], None]]


def default_cache_root() -> Path:
    return Path(os.environ.get("ASK_CACHE", Path(__file__).resolve().parents[2] / ".cache" / "eval"))


def build_config_for(kind: str) -> BuildConfig:
    """BEIR needs passages only (rule splitter, no candidates); answer datasets need the full build."""
    from retrieval.chunking import ChunkerConfig

    if kind == "beir":
        return BuildConfig(chunker=ChunkerConfig(splitter="rules", candidates=False), sentence_vectors=False)
    return BuildConfig()


def dataset_cache_key(dataset: EvalDataset, source: Path, config: BuildConfig) -> str:
    """What a cached dataset index depends on: the source file, the build settings and which of the file's
    documents it holds (two subsets of one file must not share an index, whatever they are named)."""
    if dataset.documents is None:
        raise ValueError("this dataset carries no documents; pass a corpus folder")
    doc_ids = hashlib.sha256("\n".join(d.doc_id for d in dataset.documents).encode()).hexdigest()
    return hashlib.sha256(
        (dataset_fingerprint(source) + json.dumps(config.to_json(), sort_keys=True) + doc_ids).encode()
    ).hexdigest()[:16]


def index_for_dataset(
    dataset: EvalDataset, source: Path, cache_root: Path | None = None, progress: Progress | None = None,
    config: BuildConfig | None = None,
) -> Engine:
    """An index over the dataset's documents, built once per ``dataset_cache_key`` and cached."""
    config = config or build_config_for(dataset.kind)
    root = (cache_root or default_cache_root()) / f"{dataset.name}-{dataset_cache_key(dataset, source, config)}"
    index_dir = root / "index"
    if (index_dir / "manifest.json").exists():
        return Engine.open(index_dir)
    root.mkdir(parents=True, exist_ok=True)
    corpus = root / "corpus"
    corpus.mkdir(exist_ok=True)
    tmp = corpus / "documents.jsonl.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        for d in dataset.documents:
            fh.write(json.dumps({"id": d.doc_id, "title": d.title, "text": d.text}, ensure_ascii=False) + "\n")
    os.replace(tmp, corpus / "documents.jsonl")
    return Engine.build(corpus, index_dir, config=config, progress=progress)


@dataclass
class RetrievalRun:
    """Ranked passage ids per question for one method, with per-stage latencies (ms per question)."""

    method: str
    rankings: list[list[int]]
    stage_ms: dict[str, list[float]]


def run_methods(
    engine: Engine, questions: Sequence[str], methods: Sequence[str] = METHODS, depth: int = 100,
    batch_size: int = 64, progress: Callable[[int], None] | None = None, query_vectors: np.ndarray | None = None,
) -> tuple[dict[str, RetrievalRun], np.ndarray]:
    """Rank passages for every question with each method from one shared encode/BM25/dense pass (``query_vectors``:
    the questions already encoded, say by a shallower run, so they are not encoded again)."""
    cfg = engine.search_config
    n = len(questions)
    vectors = np.zeros((n, engine.dense.dim), dtype=np.float32)
    bm_lists: list[tuple[np.ndarray, np.ndarray]] = []
    dense_ids = np.zeros((n, 0), dtype=np.int64)
    dense_scores = np.zeros((n, 0), dtype=np.float32)
    stage: dict[str, list[float]] = {"encode": [], "bm25": [], "dense": []}
    dense_parts_ids, dense_parts_scores = [], []
    for i in range(0, n, batch_size):
        chunk = list(questions[i : i + batch_size])
        t0 = time.perf_counter()
        qv = query_vectors[i : i + len(chunk)] if query_vectors is not None else engine.encode(chunk)
        t1 = time.perf_counter()
        bm = engine.bm25.search_batch(chunk, depth)
        t2 = time.perf_counter()
        ds, di = engine.dense.search(qv, depth)
        t3 = time.perf_counter()
        vectors[i : i + len(chunk)] = qv
        bm_lists.extend(bm)
        dense_parts_ids.append(di)
        dense_parts_scores.append(ds)
        for name, dt in (("encode", t1 - t0), ("bm25", t2 - t1), ("dense", t3 - t2)):
            stage[name].extend([dt * 1e3 / len(chunk)] * len(chunk))
        if progress:
            progress(len(chunk))
    if dense_parts_ids:
        dense_ids = np.concatenate(dense_parts_ids)
        dense_scores = np.concatenate(dense_parts_scores)
    runs: dict[str, RetrievalRun] = {}
    for method in methods:
        rankings: list[list[int]] = []
        fusion_ms: list[float] = []
        for q in range(n):
            if method == "bm25":
                rankings.append([int(x) for x in bm_lists[q][0]])
            elif method == "dense":
                rankings.append([int(x) for x in dense_ids[q] if x >= 0])
            else:
                mode = FusionMode.RRF if method == "hybrid-rrf" else FusionMode.CONVEX
                t0 = time.perf_counter()
                fused = fuse(bm_lists[q], (dense_ids[q], dense_scores[q]), mode, k=depth, rrf_k=cfg.rrf_k, alpha=cfg.alpha)
                fusion_ms.append((time.perf_counter() - t0) * 1e3)
                rankings.append([f.item_id for f in fused])
        stages = {"encode": stage["encode"], "bm25": stage["bm25"], "dense": stage["dense"]}
        if method == "bm25":
            stages = {"bm25": stage["bm25"]}
        elif method == "dense":
            stages = {"encode": stage["encode"], "dense": stage["dense"]}
        else:
            stages["fusion"] = fusion_ms
        runs[method] = RetrievalRun(method, rankings, stages)
    return runs, vectors


def _doc_ranking(engine: Engine, ranking: Sequence[int]) -> list[str]:
    """Documents ordered by their best passage."""
    seen: dict[str, None] = {}
    for pid in ranking:
        seen.setdefault(engine.passages[pid].doc_id, None)
    return list(seen)


def evaluate_retrieval(
    engine: Engine, questions: Sequence[EvalQuestion], runs: dict[str, RetrievalRun], ks: Sequence[int] = (1, 5, 10, 20, 100),
    deep_runs: dict[str, RetrievalRun] | None = None,
) -> dict[str, dict[str, Any]]:
    """Answer recall@k and MRR (answer strings) or nDCG@10 / recall@100 (graded document relevance).

    A document ranks by its best passage, so 100 passages cover fewer than 100 documents: recall@100 is taken from
    ``deep_runs`` (the same methods retrieving deeper, ``DOC_RECALL_DEPTH`` passages) when given, cut at 100
    documents; ``doc_recall_depth`` says how many passages it read and ``docs_ranked@100`` how many documents it
    reached on average (under 100 only when the passages ran out)."""
    out: dict[str, dict[str, Any]] = {}
    with_answers = [i for i, q in enumerate(questions) if q.answerable]
    with_qrels = [i for i, q in enumerate(questions) if q.relevance and not q.has_answers_field]
    for method, run in runs.items():
        m: dict[str, Any] = {}
        if with_answers:
            flags = [[contains_answer(engine.passages[p].text, questions[i].answers) for p in run.rankings[i]] for i in with_answers]
            for k in ks:
                m[f"answer_recall@{k}"] = float(np.mean([recall_at_k(f, k) for f in flags]))
            m["mrr@10"] = float(np.mean([mrr_at_k(f, 10) for f in flags]))
            top5 = [_doc_ranking(engine, run.rankings[i])[:5] for i in with_answers]
            gold_docs = [set(questions[i].doc_ids) for i in with_answers]
            # hit: some gold document in the top 5; recall: the share of the gold documents there (the seeds
            # often give 2-5 articles that state the answer)
            m["doc_hit@5"] = float(np.mean([bool(g & set(d)) for d, g in zip(top5, gold_docs)]))
            m["doc_recall@5"] = float(np.mean([len(g & set(d)) / len(g) if g else 0.0 for d, g in zip(top5, gold_docs)]))
        if with_qrels:
            docs = [_doc_ranking(engine, run.rankings[i]) for i in with_qrels]
            m["ndcg@10"] = float(np.mean([ndcg_at_k(d, questions[i].relevance, 10) for d, i in zip(docs, with_qrels)]))
            source = run
            if deep_runs is not None:
                source = deep_runs[method]
                docs = [_doc_ranking(engine, source.rankings[i]) for i in with_qrels]
            m["recall@100"] = float(np.mean([doc_recall_at_k(d, questions[i].relevance, 100) for d, i in zip(docs, with_qrels)]))
            m["docs_ranked@100"] = float(np.mean([min(len(d), 100) for d in docs]))
            m["doc_recall_depth"] = max((len(source.rankings[i]) for i in with_qrels), default=0)
        m["latency_ms"] = {stage: percentiles(v) for stage, v in run.stage_ms.items()}
        m["questions"] = len(with_answers) or len(with_qrels)
        out[method] = m
    return out


def _gold_hits(engine: Engine, q: EvalQuestion, qv: np.ndarray) -> list[Hit]:
    """Reading comprehension: the gold document's passages, ranked by cosine to the question."""
    pids = [pid for d in q.doc_ids for pid in engine.passage_ids_of(d)]
    if not pids:
        return []
    vecs = engine.dense.reconstruct(pids)
    sims = vecs @ qv
    order = np.argsort(-sims, kind="stable")
    return [
        Hit(engine.passages[pids[j]], float(sims[j]), rank, dense_score=float(sims[j]), dense_rank=rank,
            title=engine.titles.get(engine.passages[pids[j]].doc_id, ""))
        for rank, j in enumerate(order.tolist(), start=1)
    ]


def evaluate_answers(
    engine: Engine, questions: Sequence[EvalQuestion], mode: str = "open", k: int = 10,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """EM/F1 (SQuAD official), abstention and calibration for ``open`` corpus or ``gold`` passage answering.

    ``forced`` scores take the best candidate even when the engine would abstain; the plain scores count an
    abstention as an empty answer (right for unanswerable questions, wrong otherwise). Golds that normalise to
    nothing (a lone ".") are dropped, as the v2.0 script does. In ``gold`` mode a question without a gold document
    (the seeds' unanswerable ones) has nothing to read, so it is left out rather than counted as a free abstention.
    Each question is encoded, searched and answered alone, so ``latency_ms`` is one question's end-to-end time.
    """
    if mode == "gold":
        questions = [q for q in questions if q.doc_ids]
    preds: list[str | None] = []
    forced: list[str] = []
    confidences: list[float] = []
    times: list[float] = []
    for q in questions:
        t0 = time.perf_counter()
        qv = engine.encode([q.question])
        if mode == "gold":
            hits = _gold_hits(engine, q, qv[0])
        else:
            hits = engine.search_batch([q.question], k, engine.search_config.fusion, query_vectors=qv)[0]
        answer: Answer = engine.answer_from_hits(q.question, hits, qv[0])
        times.append((time.perf_counter() - t0) * 1e3)
        preds.append(answer.text)
        forced.append(answer.alternatives[0].text if answer.alternatives else "")
        confidences.append(answer.score)
        if progress:
            progress(1)
    golds = [real_golds(q.answers) for q in questions]
    answerable = [i for i, g in enumerate(golds) if g]
    res: dict[str, Any] = {"mode": mode, "questions": len(questions), "answerable": len(answerable)}
    if answerable:
        res["forced_em"] = 100 * float(np.mean([exact_match(forced[i], golds[i]) for i in answerable]))
        res["forced_f1"] = 100 * float(np.mean([f1(forced[i], golds[i]) for i in answerable]))
        res["em"] = 100 * float(np.mean([exact_match(preds[i] or "", golds[i]) for i in answerable]))
        res["f1"] = 100 * float(np.mean([f1(preds[i] or "", golds[i]) for i in answerable]))
    both = [answer_scores_unanswerable(p, g) for p, g in zip(preds, golds)]
    res["overall_em"] = 100 * float(np.mean([b[0] for b in both])) if both else 0.0
    res["overall_f1"] = 100 * float(np.mean([b[1] for b in both])) if both else 0.0
    res["abstention"] = abstention_summary(preds, golds)
    correct = [
        (1.0 if (f1(forced[i], golds[i]) >= 0.5) else 0.0) if golds[i] else 0.0 for i in range(len(questions))
    ]
    res["ece"] = expected_calibration_error(confidences, correct)
    res["reliability"] = reliability_bins(confidences, correct)
    res["latency_ms"] = {"answer_total": percentiles(times)}
    res["predictions"] = [  # for error analysis: what was asked, expected, answered and how sure
        {"id": q.qid, "question": q.question, "gold": q.answers, "answer": p, "forced": fa, "confidence": round(c, 4)}
        for q, p, fa, c in zip(questions, preds, forced, confidences)
    ]
    return res
