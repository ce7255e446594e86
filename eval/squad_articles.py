"""Write SQuAD articles as a folder of article files plus a gold question set, to measure the engine as it is used.

The eval suite reads SQuAD as one document per paragraph, which is how the targets are defined (the gold
paragraph, or open corpus over all paragraphs). A user's corpus is one file per article: ingest decides what is
headline and furniture, and passages of up to 100 words run across paragraph breaks. This script writes each
article as ``<out>/corpus/<slug>.txt`` (the title, a blank line, the paragraphs separated by blank lines) and the
questions as ``<out>/gold.jsonl`` in the seeds format (``docs``: the article), so that the same commands a user
runs measure it::

    python eval/squad_articles.py ../shared/bench-data/squad/dev-v2.0.visible.json --articles heldout --out /tmp/sq
    ask-engine build --corpus /tmp/sq/corpus --index /tmp/sq/index
    ask-engine eval /tmp/sq/gold.jsonl --index /tmp/sq/index --answers both

There, "gold passage" answering reads the best passages of the question's article, not its paragraph.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from retrieval.evaluation.datasets import ARTICLE_PARTS, DatasetFormatError, article_part, detect_format  # noqa: E402

PARTS = ("all", *ARTICLE_PARTS)  # as `ask-engine eval --articles` splits them (article_part)


def slug(title: str, taken: set[str]) -> str:
    """A file name for ``title``: letters, digits, '-' and '_' only, unique among ``taken``."""
    base = re.sub(r"[^A-Za-z0-9_-]+", "_", title).strip("_")[:80] or "article"
    name, n = base, 2
    while name.lower() in taken:  # case-insensitive file systems
        name, n = f"{base}_{n}", n + 1
    taken.add(name.lower())
    return name


def article_files(data: dict, part: str = "all") -> tuple[dict[str, str], list[dict]]:
    """(file name -> text, gold records) for the articles of ``part`` (``article_part``'s split, or all)."""
    if part not in PARTS:
        raise ValueError(f"part must be one of {', '.join(PARTS)}")
    files: dict[str, str] = {}
    gold: list[dict] = []
    taken: set[str] = set()
    for article in data["data"]:
        title = article["title"]
        if part != "all" and article_part(title) != part:
            continue
        name = slug(title, taken)
        paragraphs = [" ".join(p["context"].split()) for p in article["paragraphs"]]
        files[name] = "\n\n".join([title.replace("_", " ")] + paragraphs) + "\n"
        for p in article["paragraphs"]:
            for qa in p.get("qas", []):
                answers = [] if qa.get("is_impossible", False) else [a["text"] for a in qa.get("answers", [])]
                gold.append({"id": str(qa["id"]), "question": qa["question"],
                             "answers": list(dict.fromkeys(answers)), "docs": [name]})
    return files, gold


def write_articles(files: dict[str, str], gold: list[dict], out: Path) -> None:
    """Write ``corpus/`` and ``gold.jsonl`` under ``out`` atomically (a temporary folder renamed into place)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        (tmp / "corpus").mkdir()
        for name, text in files.items():
            (tmp / "corpus" / f"{name}.txt").write_text(text, encoding="utf-8")
        with (tmp / "gold.jsonl").open("w", encoding="utf-8") as fh:
            for rec in gold:
                fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("squad", type=Path, help="a SQuAD v1.1 or v2.0 JSON file")
    ap.add_argument("--articles", choices=PARTS, default="all", help="which articles (as ask-engine eval --articles)")
    ap.add_argument("--out", type=Path, required=True, help="a folder that does not exist yet")
    args = ap.parse_args(argv)
    if args.out.exists():
        print(f"error: {args.out} already exists; choose a new folder", file=sys.stderr)
        return 2
    try:
        if not args.squad.is_file() or detect_format(args.squad) != "squad":
            raise DatasetFormatError(f"{args.squad}: not a SQuAD JSON file")
        data = json.loads(args.squad.read_text(encoding="utf-8"))
        files, gold = article_files(data, args.articles)
    except (DatasetFormatError, OSError, ValueError, KeyError, TypeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not files:
        print(f"error: no articles in part {args.articles!r}", file=sys.stderr)
        return 2
    try:
        write_articles(files, gold, args.out)
    except OSError as exc:
        print(f"error: cannot write {args.out}: {exc}", file=sys.stderr)
        return 2
    unanswerable = sum(1 for g in gold if not g["answers"])
    print(f"{len(files)} articles, {len(gold)} questions ({unanswerable} unanswerable) -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
