"""Speed and agreement of :class:`retrieval.bm25.BM25` against rank_bm25.

Both scorers get the same token lists, so any difference is the scorer's.
Run as ``python -m retrieval.bench_bm25 CORPUS.jsonl QUERIES.jsonl``.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from retrieval.bm25 import BM25
from retrieval.machine import machine_info
from retrieval.tokenize import tokenize_many

__all__ = ["compare_with_rank_bm25", "load_beir_corpus", "load_beir_queries"]

_TOP_K = 10


def _ids_and_texts(path: Path, text_of: Callable[[dict], str]) -> tuple[list[str], list[str]]:
    """(``_id`` values, ``text_of(row)``) over the rows of a JSONL file, read in one pass."""
    ids: list[str] = []
    texts: list[str] = []
    try:
        with open(path, encoding="utf-8-sig") as fh:
            for lineno, line in enumerate(fh, start=1):
                if line.strip():
                    try:
                        row = json.loads(line)
                        ids.append(str(row["_id"]))
                        texts.append(text_of(row))
                    except (json.JSONDecodeError, KeyError, TypeError):
                        raise ValueError(f"{path}:{lineno}: expected a JSON object with '_id' and 'text'") from None
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not UTF-8 text") from None
    if not ids:
        raise ValueError(f"{path}: no records")
    return ids, texts


def load_beir_corpus(path: Path) -> tuple[list[str], list[str]]:
    """(doc ids, texts) from a BEIR corpus.jsonl; text = title + " " + text."""
    return _ids_and_texts(path, lambda row: f"{row.get('title') or ''} {row.get('text') or ''}")


def load_beir_queries(path: Path) -> tuple[list[str], list[str]]:
    """(query ids, texts) from a BEIR queries.jsonl."""
    return _ids_and_texts(path, lambda row: str(row["text"]))


def _rank_bm25_top(scores: np.ndarray, k: int) -> np.ndarray:
    # Stable descending order: ties go to the lower index, as in BM25.search.
    return np.argsort(-scores, kind="stable")[:k]


def compare_with_rank_bm25(
    corpus_jsonl: Path, queries_jsonl: Path, max_queries: int = 300
) -> dict[str, Any]:
    """Build both scorers from the same tokens; report agreement and timings."""
    from rank_bm25 import BM25Okapi  # bench-only dependency

    _, doc_texts = load_beir_corpus(Path(corpus_jsonl))
    _, query_texts = load_beir_queries(Path(queries_jsonl))
    query_texts = query_texts[:max_queries]

    t0 = time.perf_counter()
    doc_tokens = tokenize_many(doc_texts)
    tokenize_s = time.perf_counter() - t0
    query_tokens = tokenize_many(query_texts)

    t0 = time.perf_counter()
    ref = BM25Okapi(doc_tokens)
    ref_build_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    ours = BM25()
    ours.add_tokens(doc_tokens)
    ours_build_s = time.perf_counter() - t0

    # Agreement, over every query: our top-10 must equal rank_bm25's top-10 among the documents it scores above
    # zero (those holding a query term; ours never returns the others), in the same order and just as many.
    agree = 0
    max_abs_diff = 0.0
    for q in query_tokens:
        ref_scores = ref.get_scores(q)
        ids, _ = ours.search(q, _TOP_K)
        ranked = _rank_bm25_top(ref_scores, _TOP_K)
        expected = ranked[ref_scores[ranked] > 0]
        max_abs_diff = max(max_abs_diff, float(np.abs(ours.get_scores(q) - ref_scores).max()))
        agree += int(np.array_equal(ids, expected))

    t0 = time.perf_counter()
    for q in query_tokens:
        _rank_bm25_top(ref.get_scores(q), _TOP_K)
    ref_query_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    for q in query_tokens:
        ours.search(q, _TOP_K)
    ours_query_s = time.perf_counter() - t0

    n_q = max(len(query_tokens), 1)
    ref_ms = 1000.0 * ref_query_s / n_q
    ours_ms = 1000.0 * ours_query_s / n_q
    return {
        "num_docs": len(doc_tokens),
        "num_queries": len(query_tokens),
        "vocabulary_size": ours.vocabulary_size,
        "tokenize_corpus_s": tokenize_s,
        "rank_bm25_build_s": ref_build_s,
        "ours_build_s": ours_build_s,
        "rank_bm25_query_ms": ref_ms,
        "ours_query_ms": ours_ms,
        "speedup": ref_ms / ours_ms if ours_ms > 0 else float("inf"),
        "top10_agreement": agree / len(query_tokens) if query_tokens else 1.0,
        "agreement_queries": len(query_tokens),
        "max_abs_score_diff": max_abs_diff,
        "machine": machine_info(),
    }


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4):
        sys.exit("usage: python -m retrieval.bench_bm25 CORPUS.jsonl QUERIES.jsonl [MAX_QUERIES]")
    result = compare_with_rank_bm25(
        Path(sys.argv[1]), Path(sys.argv[2]), *(int(a) for a in sys.argv[3:])
    )
    print(json.dumps(result, indent=2))
