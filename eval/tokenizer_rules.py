"""BM25 alone under two tokenizer rule sets, on the same documents and questions: does a rules change help?

Each SQuAD paragraph (or BEIR document) is one BM25 document; a question hits when a document it was asked about
is ranked first (hit@1) or among the first ten (hit@10). The figures are given over all questions and over the
questions whose tokens the change alters (the only ones it can move), so a small change is not lost in the
average::

    python eval/tokenizer_rules.py ../shared/bench-data/squad/train-v1.1.json --old 1 --new 2

``--plain-questions`` asks every question with the diacritics of its Latin letters removed, as someone typing
"Zurich" for "Zürich" would (the documents keep theirs)::

    python eval/tokenizer_rules.py ../shared/bench-data/squad/train-v1.1.json --old 3 --new 4 --plain-questions
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
from retrieval.tokenize import TokenizerConfig, fold_latin_accents, tokenize  # noqa: E402


def outcomes(dataset: EvalDataset, rules: int) -> dict[str, tuple[bool, bool]]:
    """Per question with relevance: (its document ranked first, among the first ten) by BM25 under ``rules``."""
    docs = dataset.documents or []
    ids = [d.doc_id for d in docs]
    bm25 = BM25(tokenizer=TokenizerConfig(rules=rules))
    bm25.add([f"{d.title}\n{d.text}" if dataset.kind == "beir" else d.text for d in docs])
    out = {}
    for q in dataset.questions:
        if q.relevance:
            ranked = [ids[i] for i in bm25.search(q.question, k=10)[0].tolist()]
            out[q.qid] = (bool(ranked) and ranked[0] in q.relevance, any(r in q.relevance for r in ranked))
    return out


def _tally(found: dict[str, tuple[bool, bool]], qids: set[str] | None = None) -> dict[str, int]:
    rows = [v for qid, v in found.items() if qids is None or qid in qids]
    return {"questions": len(rows), "hit@1": sum(a for a, _ in rows), "hit@10": sum(b for _, b in rows)}


def compare(path: str | Path, old: int, new: int, plain_questions: bool = False) -> dict[str, Any]:
    dataset = load_dataset(path)
    if not dataset.documents:
        raise SystemExit(f"{path}: needs a dataset with its documents (SQuAD or BEIR)")
    if plain_questions:
        from dataclasses import replace

        dataset = replace(dataset, questions=[replace(q, question=fold_latin_accents(q.question))
                                              for q in dataset.questions])
    old_cfg, new_cfg = TokenizerConfig(rules=old), TokenizerConfig(rules=new)
    changed = {q.qid for q in dataset.questions if tokenize(q.question, old_cfg) != tokenize(q.question, new_cfg)}
    found = {r: outcomes(dataset, r) for r in (old, new)}
    return {
        "dataset": str(path), "rules": [old, new], "plain_questions": plain_questions,
        "all": {f"rules {r}": _tally(found[r]) for r in (old, new)},
        "changed_questions": {f"rules {r}": _tally(found[r], changed) for r in (old, new)},
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", help="SQuAD JSON or BEIR folder")
    parser.add_argument("--old", type=int, default=1)
    parser.add_argument("--new", type=int, default=2)
    parser.add_argument("--plain-questions", action="store_true",
                        help="ask each question without the diacritics of its Latin letters")
    args = parser.parse_args(argv)
    print(json.dumps(compare(args.dataset, args.old, args.new, args.plain_questions), indent=2))


if __name__ == "__main__":
    main()
