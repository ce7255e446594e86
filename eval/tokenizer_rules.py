"""BM25 alone under two tokenizer rule sets, on the same documents and questions: does a rules change help?

Each SQuAD paragraph (or BEIR document) is one BM25 document; a question hits when a document it was asked about
is ranked first (hit@1) or among the first ten (hit@10). The figures are given over all questions and over the
questions whose tokens the change alters (the only ones it can move), so a small change is not lost in the
average::

    python eval/tokenizer_rules.py ../shared/bench-data/squad/train-v1.1.json --old 1 --new 2
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from retrieval.bm25 import BM25  # noqa: E402
from retrieval.evaluation.datasets import EvalDataset, load_dataset  # noqa: E402
from retrieval.tokenize import TokenizerConfig, tokenize  # noqa: E402


def hits(dataset: EvalDataset, rules: int, only: set[str] | None = None) -> dict[str, Any]:
    """hit@1 and hit@10 of BM25 under tokenizer ``rules`` (over the questions in ``only``, or all of them)."""
    cfg = TokenizerConfig(rules=rules)
    docs = dataset.documents or []
    ids = [d.doc_id for d in docs]
    bm25 = BM25(tokenizer=cfg)
    bm25.add_tokens([tokenize(f"{d.title}\n{d.text}" if dataset.kind == "beir" else d.text, cfg) for d in docs])
    at1 = at10 = n = 0
    for q in dataset.questions:
        if not q.relevance or (only is not None and q.qid not in only):
            continue
        found, _ = bm25.search(tokenize(q.question, cfg), k=10)
        ranked = [ids[i] for i in found.tolist()]
        n += 1
        at1 += bool(ranked) and ranked[0] in q.relevance
        at10 += any(r in q.relevance for r in ranked)
    return {"questions": n, "hit@1": at1, "hit@10": at10}


def compare(path: str | Path, old: int, new: int) -> dict[str, Any]:
    dataset = load_dataset(path)
    if not dataset.documents:
        raise SystemExit(f"{path}: needs a dataset with its documents (SQuAD or BEIR)")
    old_cfg, new_cfg = TokenizerConfig(rules=old), TokenizerConfig(rules=new)
    changed = {q.qid for q in dataset.questions if tokenize(q.question, old_cfg) != tokenize(q.question, new_cfg)}
    return {
        "dataset": str(path), "rules": [old, new],
        "all": {f"rules {r}": hits(dataset, r) for r in (old, new)},
        "changed_questions": {f"rules {r}": hits(dataset, r, changed) for r in (old, new)},
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", help="SQuAD JSON or BEIR folder")
    parser.add_argument("--old", type=int, default=1)
    parser.add_argument("--new", type=int, default=2)
    args = parser.parse_args(argv)
    print(json.dumps(compare(args.dataset, args.old, args.new), indent=2))


if __name__ == "__main__":
    main()
