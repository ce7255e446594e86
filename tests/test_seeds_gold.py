"""Sanity checks for the hand-written gold question set over seeds/*.txt."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
GOLD = REPO / "eval" / "seeds_gold.jsonl"
SEEDS = REPO / "seeds"

MIN_QUESTIONS = 60
MIN_UNANSWERABLE = 10


def _load() -> list[dict]:
    rows = []
    with GOLD.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:  # pragma: no cover - reported by test
                pytest.fail(f"{GOLD.name} line {lineno} is not valid JSON: {exc}")
    return rows


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    assert GOLD.is_file(), f"missing {GOLD}"
    return _load()


@pytest.fixture(scope="module")
def seed_texts() -> dict[str, str]:
    texts = {p.stem: p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt"))}
    assert texts, f"no seed documents in {SEEDS}"
    return texts


def test_every_line_parses():
    with GOLD.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            assert line.strip(), f"blank line {lineno} in {GOLD.name}"
            obj = json.loads(line)
            assert isinstance(obj, dict), f"line {lineno} is not a JSON object"


def test_fields_present_and_typed(rows):
    for row in rows:
        rid = row.get("id")
        assert isinstance(rid, str) and rid, f"bad id in {row!r}"
        assert isinstance(row.get("question"), str) and row["question"].strip(), f"{rid}: bad question"
        answers = row.get("answers")
        docs = row.get("docs")
        assert isinstance(answers, list), f"{rid}: answers must be a list"
        assert isinstance(docs, list), f"{rid}: docs must be a list"
        for a in answers:
            assert isinstance(a, str) and a.strip(), f"{rid}: bad answer {a!r}"
        for d in docs:
            assert isinstance(d, str) and d.strip(), f"{rid}: bad doc id {d!r}"
        assert bool(answers) == bool(docs), f"{rid}: answers and docs must be both empty or both non-empty"


def test_ids_unique(rows):
    ids = [r["id"] for r in rows]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    assert not dupes, f"duplicate ids: {dupes}"


def test_enough_questions(rows):
    assert len(rows) >= MIN_QUESTIONS, f"only {len(rows)} questions (need >= {MIN_QUESTIONS})"


def test_enough_unanswerable(rows):
    unanswerable = [r["id"] for r in rows if r["answers"] == [] and r["docs"] == []]
    assert len(unanswerable) >= MIN_UNANSWERABLE, (
        f"only {len(unanswerable)} unanswerable questions (need >= {MIN_UNANSWERABLE})"
    )


def test_answerable_docs_exist(rows, seed_texts):
    for row in rows:
        if not row["answers"]:
            continue
        assert row["docs"], f"{row['id']}: answerable question lists no docs"
        missing = [d for d in row["docs"] if d not in seed_texts]
        assert not missing, f"{row['id']}: docs not found in seeds/: {missing}"


def test_answers_occur_verbatim(rows, seed_texts):
    failures = []
    for row in rows:
        for answer in row["answers"]:
            texts = [seed_texts.get(d, "") for d in row["docs"]]
            if not any(answer in t for t in texts):
                failures.append(f"{row['id']}: answer {answer!r} not found verbatim in any of {row['docs']}")
    assert not failures, "\n".join(failures)


DESCRIBE = REPO / "eval" / "seeds_describe.jsonl"


def test_the_describe_set_asks_what_named_subjects_are_and_quotes_the_seeds(seed_texts):
    """eval/seeds_describe.jsonl: "who/what is <name>?" questions (written from the seeds without the engine's
    answers), each answer verbatim in one of its docs and naming no word of its subject."""
    rows = [json.loads(line) for line in DESCRIBE.read_text(encoding="utf-8").splitlines()]
    assert len({r["id"] for r in rows}) == len(rows) >= 10
    for r in rows:
        assert r["question"].split()[0] in ("Who", "What") and r["answers"] and r["docs"], r["id"]
        subject = r["question"].rstrip("?").split(maxsplit=2)[2].removeprefix("the ").lower().split()
        for answer in r["answers"]:
            assert any(answer in seed_texts[d] for d in r["docs"]), f"{r['id']}: {answer!r} not in its docs"
            if r["question"].startswith("Who"):
                assert not set(subject) & set(answer.lower().split()), f"{r['id']}: {answer!r} names its subject"
