"""Measure the "sources disagree" flag: how often it fires falsely, and how often it catches a real disagreement.

SQuAD has one answer per question, so there is no labelled set of conflicting sources. Two proxies, both on the
visible SQuAD v1.1 dev file, count and date questions only (the only ones the flag applies to):

* **natural** (false alarms): open-corpus answering over all its paragraphs. Another paragraph giving another
  figure is almost always another fact, so a flag on a correctly answered question is counted as a false alarm.
* **planted** (recall on near-identical sources): for each question with a numeric answer, a second "article" is
  made from its paragraph with every occurrence of the answer's figure changed (years move by 7, other figures
  x3+1); the two paragraphs now disagree by construction. Open-corpus answering over these pairs; a catch is an
  answer that is one of the two figures with the other one flagged. This is an upper bound: both copies read
  alike, so the changed figure is the reader's best span in its copy, and the units never differ. Real sources
  word the same fact differently, and are caught less often.

Both are scored under the engine's rule and under the previous rule, from the same answers. The engine's rule is
also scored at several values of ``SearchConfig.conflict_min_ratio`` (how likely, next to the answer, another
figure must be): the engine runs with the ratio at 0, each flag keeps its score, and a floor's count applies the
engine's own test (``likely_enough``: flag score >= floor x answer score, on the confidence's fitted scale) to
them, so it is exact (the rule's other conditions do not depend on the floor).
The previous rule had no reader check and took any two different figures as disagreeing (now "3,100" and
"3,100 civilians", "2023" and "Sept 21, 2023", "1991" and "the 1990s", "$40 million" and "25 percent" agree).
Usage::

    python eval/conflict_probe.py [--bench-data ../shared/bench-data] [--limit 0] [--out eval/results/conflicts.json]
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from rich.progress import track

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from retrieval.question import analyze_question  # noqa: E402
from retrieval.values import normalize_value  # noqa: E402
from retrieval.engine import _NUMERIC_VALUE, Engine, SearchConfig, _one_per_sentence, likely_enough  # noqa: E402
from retrieval.evaluation.datasets import EvalQuestion, load_dataset  # noqa: E402
from retrieval.evaluation.metrics import f1  # noqa: E402
from retrieval.evaluation.runner import index_for_dataset  # noqa: E402
from retrieval.types import Answer, AnswerValue  # noqa: E402

_FIGURE = re.compile(r"\d+(?:,\d{3})*")
MIN_RATIOS = (0.05, 0.1, 0.15, 0.2, 0.3)
SHIPPED_RATIO = SearchConfig().conflict_min_ratio


def _without_flag_floor(engine: Engine) -> Engine:
    """A copy of the engine with no likelihood floor on flags: each flag's score is kept, the floor applied later."""
    unfloored = copy.copy(engine)
    unfloored.search_config = replace(engine.search_config, conflict_min_ratio=0.0)
    return unfloored


def previous_rule(
    best: AnswerValue, others: list[AnswerValue], qtype: str, fitted_scale: Callable[[float], float] | None = None,
) -> list[AnswerValue]:
    """The rule before the reader check (kept here to compare against)."""
    if qtype not in ("count", "when") or not _NUMERIC_VALUE.search(best.text):
        return []
    best_docs = {c.doc_id for c in best.citations}
    return [
        AnswerValue(v.text, v.normalized, v.score, _one_per_sentence(v.citations)) for v in others
        if likely_enough(v.score, best.score, 0.2, fitted_scale) and _NUMERIC_VALUE.search(v.text)
        and {c.doc_id for c in v.citations} - best_docs
    ]


def changed_figure(figure: str) -> str:
    """A different figure of the same kind: years (1000-2099) move by 7, other figures become x3+1 (thousands
    separated, as a writer would)."""
    n = int(figure.replace(",", ""))
    if 1000 <= n <= 2099 and "," not in figure:
        return str(n + 7)
    m = 3 * n + 1
    return f"{m:,}" if "," in figure or m >= 1000 else str(m)  # 1462 would read as a year


def planted_articles(squad: dict, limit: int) -> tuple[list[dict], list[dict]]:
    """SQuAD-format articles: each chosen question's paragraph, and its twin with the answer's figure changed."""
    articles, cases = [], []
    for art in squad["data"]:
        for p_idx, para in enumerate(art["paragraphs"]):
            for qa in para["qas"]:
                if limit and len(cases) >= limit:
                    return articles, cases
                golds = [a["text"] for a in qa["answers"]]
                if analyze_question(qa["question"]).qtype not in ("count", "when"):
                    continue
                figures = _FIGURE.findall(golds[0])
                if len(figures) != 1:
                    continue
                old = figures[0]
                if re.search(rf"{re.escape(old)}s\b", para["context"]):
                    continue  # "the 1990s" would become "the 1997s"
                new = changed_figure(old)
                twin = re.sub(rf"(?<![\d,]){re.escape(old)}(?![\d,])", new, para["context"])
                if twin == para["context"]:
                    continue
                k = len(cases)
                articles.append({"title": f"original {k}: {art['title']}", "paragraphs": [{
                    "context": para["context"], "qas": [{"id": qa["id"], "question": qa["question"],
                                                        "answers": qa["answers"]}]}]})
                articles.append({"title": f"twin {k}: {art['title']}", "paragraphs": [{"context": twin, "qas": []}]})
                cases.append({"id": qa["id"], "question": qa["question"], "original": golds[0],
                              "twin": golds[0].replace(old, new)})
    return articles, cases


def _flags(
    engine: Engine, question: str, scale: Callable[[float], float] | None,
) -> tuple[Answer, list[AnswerValue], list[AnswerValue]]:
    answer = engine.ask(question)
    if answer.text is None:
        return answer, [], []
    return answer, answer.conflicts, previous_rule(answer.alternatives[0], answer.alternatives[1:], answer.question_type,
                                                   scale)


def natural(engine: Engine, questions: list[EvalQuestion]) -> dict:
    """False alarms on open-corpus SQuAD count/date questions."""
    scale = engine.fitted_scale()
    rows = []
    for q in track(questions, description="natural"):
        answer, now, before = _flags(engine, q.question, scale)
        if answer.text is None:
            continue
        rows.append({"id": q.qid, "correct": f1(answer.text, q.answers) >= 0.5, "answer": answer.text,
                     "score": answer.score, "flags_at_0": [v.text for v in now], "before": [v.text for v in before],
                     "flag_scores": [v.score for v in now]})
    correct = [r for r in rows if r["correct"]]
    # the engine lists conflicting values only for answers that state a figure; others cannot be false alarms
    with_figure = [r for r in correct if re.search(r"\d", r["answer"])]

    def flagged(subset: list[dict], ratio: float) -> int:  # the engine's own test
        return sum(any(likely_enough(x, r["score"], ratio, scale) for x in r["flag_scores"]) for r in subset)

    return {
        "questions": len(questions), "answered": len(rows), "answered_correctly": len(correct),
        "answered_correctly_with_a_figure": len(with_figure),
        "flagged_when_correct": {"now": flagged(correct, SHIPPED_RATIO),
                                 "before": sum(bool(r["before"]) for r in correct),
                                 "by_min_ratio": {str(x): flagged(correct, x) for x in MIN_RATIOS}},
        "flagged_when_answered": {"now": flagged(rows, SHIPPED_RATIO),
                                  "before": sum(bool(r["before"]) for r in rows),
                                  "by_min_ratio": {str(x): flagged(rows, x) for x in MIN_RATIOS}},
        "rows": rows,
    }


def planted(engine: Engine, cases: list[dict]) -> dict:
    """Catches of planted disagreements."""
    scale = engine.fitted_scale()
    rows = []
    for c in track(cases, description="planted"):
        answer, now, before = _flags(engine, c["question"], scale)
        key = normalize_value(answer.text or "")
        pair = {normalize_value(c["original"]): normalize_value(c["twin"]),
                normalize_value(c["twin"]): normalize_value(c["original"])}
        other = pair.get(key)
        other_score = max((v.score for v in now if normalize_value(v.text) == other), default=None)
        rows.append({"id": c["id"], "answer": answer.text, "score": answer.score, "one_of_pair": other is not None,
                     "other_flag_score": other_score, "before": any(normalize_value(v.text) == other for v in before)})
    hit = [r for r in rows if r["one_of_pair"]]

    def caught(ratio: float) -> int:  # the engine's own test
        return sum(r["other_flag_score"] is not None and likely_enough(r["other_flag_score"], r["score"], ratio, scale)
                   for r in hit)

    return {"pairs": len(cases), "answered_with_one_of_the_pair": len(hit),
            "caught": {"now": caught(SHIPPED_RATIO), "before": sum(r["before"] for r in hit),
                       "by_min_ratio": {str(x): caught(x) for x in MIN_RATIOS}},
            "rows": rows}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bench-data", default=str(REPO.parent / "shared" / "bench-data"))
    ap.add_argument("--limit", type=int, default=0, help="at most this many questions per part (0: all)")
    ap.add_argument("--out", default=str(REPO / "eval" / "results" / "conflicts.json"))
    args = ap.parse_args()
    path = Path(args.bench_data) / "squad" / "dev-v1.1.visible.json"
    t0 = time.perf_counter()

    ds = load_dataset(path)
    engine = _without_flag_floor(index_for_dataset(ds, path))
    if engine.reader is None:
        raise SystemExit("the trained reader is not installed: the rule measured here is the reader's")
    questions = [q for q in ds.questions if analyze_question(q.question).qtype in ("count", "when")]
    if args.limit:
        questions = questions[: args.limit]
    nat = natural(engine, questions)
    print(f"natural: {nat['answered']} of {len(questions)} count/date questions answered, "
          f"{nat['answered_correctly']} correctly ({nat['answered_correctly_with_a_figure']} of them a figure, the only "
          f"answers that can be flagged); flagged when correct: now {nat['flagged_when_correct']['now']}, "
          f"before {nat['flagged_when_correct']['before']}; by likelihood floor "
          f"{nat['flagged_when_correct']['by_min_ratio']}", flush=True)

    squad = json.loads(path.read_text(encoding="utf-8"))
    articles, cases = planted_articles(squad, args.limit)
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "planted.json"
        src.write_text(json.dumps({"version": "planted", "data": articles}), encoding="utf-8")
        pl = planted(_without_flag_floor(index_for_dataset(load_dataset(src), src, cache_root=Path(tmp))), cases)
    print(f"planted: {pl['answered_with_one_of_the_pair']} of {pl['pairs']} pairs answered with one of the two "
          f"figures; other figure flagged: now {pl['caught']['now']}, before {pl['caught']['before']}; "
          f"by likelihood floor {pl['caught']['by_min_ratio']}", flush=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"natural": nat, "planted": pl, "wall_seconds": time.perf_counter() - t0}, indent=1))
    print(f"wrote {out} ({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
