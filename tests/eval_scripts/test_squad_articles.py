"""SQuAD as a folder of article files (eval/squad_articles.py): what a user's corpus looks like, with its gold set."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from retrieval.evaluation.datasets import article_part, load_dataset


@pytest.fixture(scope="module")
def squad_articles(load_eval_script):
    return load_eval_script("squad_articles")


SQUAD = {"version": "v2.0", "data": [
    {"title": "Ferry_services", "paragraphs": [
        {"context": "The ferry  runs\ndaily.", "qas": [
            {"id": "q1", "question": "How often does the ferry run?", "answers": [{"text": "daily", "answer_start": 16},
                                                                                 {"text": "daily", "answer_start": 16}]},
            {"id": "q2", "question": "Who owns the ferry?", "answers": [], "is_impossible": True}]},
        {"context": "It was built in 1990.", "qas": [
            {"id": "q3", "question": "When was it built?", "answers": [{"text": "1990", "answer_start": 16}]}]}]},
    {"title": "Ferry/services", "paragraphs": [{"context": "Another article.", "qas": []}]},
]}


def test_articles_become_files_and_questions_name_their_article(squad_articles) -> None:
    files, gold = squad_articles.article_files(SQUAD)
    assert list(files) == ["Ferry_services", "Ferry_services_2"]  # same slug twice: made unique
    assert files["Ferry_services"] == "Ferry services\n\nThe ferry runs daily.\n\nIt was built in 1990.\n"
    assert gold == [
        {"id": "q1", "question": "How often does the ferry run?", "answers": ["daily"], "docs": ["Ferry_services"]},
        {"id": "q2", "question": "Who owns the ferry?", "answers": [], "docs": ["Ferry_services"]},
        {"id": "q3", "question": "When was it built?", "answers": ["1990"], "docs": ["Ferry_services"]},
    ]
    def headlines(part: str) -> set[str]:
        return {text.split("\n")[0] for text in squad_articles.article_files(SQUAD, part)[0].values()}

    part = article_part("Ferry_services")
    assert "Ferry services" in headlines(part)
    assert all("Ferry services" not in headlines(p) for p in squad_articles.PARTS[1:] if p != part)
    with pytest.raises(ValueError, match="part must be"):
        squad_articles.article_files(SQUAD, "train")


def test_main_writes_a_corpus_and_a_gold_set_the_eval_suite_reads(squad_articles, tmp_path: Path, capsys) -> None:
    src = tmp_path / "dev.json"
    src.write_text(json.dumps(SQUAD), encoding="utf-8")
    out = tmp_path / "sq"
    assert squad_articles.main([str(src), "--out", str(out)]) == 0
    assert "2 articles, 3 questions (1 unanswerable)" in capsys.readouterr().out
    assert sorted(p.name for p in (out / "corpus").iterdir()) == ["Ferry_services.txt", "Ferry_services_2.txt"]
    ds = load_dataset(out / "gold.jsonl")
    assert ds.kind == "seeds" and [q.answers for q in ds.questions] == [["daily"], [], ["1990"]]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary folder left
    assert squad_articles.main([str(src), "--out", str(out)]) == 2  # never over an existing folder
    assert squad_articles.main([str(tmp_path / "missing.json"), "--out", str(tmp_path / "x")]) == 2
    assert "error:" in capsys.readouterr().err and not (tmp_path / "x").exists()
