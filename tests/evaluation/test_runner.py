"""Dataset index caching: which cached index a dataset (or a subset of one) gets."""

from __future__ import annotations

import json
from pathlib import Path

from retrieval.evaluation.datasets import (
    article_half,
    article_part,
    load_dataset,
    questions_of_articles,
    subset_by_articles,
)
from retrieval.evaluation.runner import build_config_for, dataset_cache_key


def _squad(path: Path) -> Path:
    data = {"version": "1.1", "data": [
        {"title": title, "paragraphs": [{"context": f"{title} is a place.", "qas": [
            {"id": f"{title}-1", "question": f"What is {title}?", "answers": [{"text": "a place", "answer_start": len(title) + 4}]},
        ]}]}
        for title in ("Alpha", "Beta", "Gamma")
    ]}
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_subsets_of_one_file_never_share_a_cached_index(tmp_path: Path) -> None:
    source = _squad(tmp_path / "squad.json")
    ds = load_dataset(source)
    config = build_config_for(ds.kind)
    a = subset_by_articles(ds, lambda t: t != "Gamma", "part")
    b = subset_by_articles(ds, lambda t: t == "Gamma", "part")  # same name, other documents
    keys = {dataset_cache_key(x, source, config) for x in (ds, a, b)}
    assert len(keys) == 3
    assert dataset_cache_key(subset_by_articles(ds, lambda t: t != "Gamma", "part"), source, config) == \
        dataset_cache_key(a, source, config)


def test_article_parts_refine_the_halves() -> None:
    # titles of the visible SQuAD v2.0 articles; the split is a hash of the title, so it needs no data file
    assert article_part("Geology") == "heldout" == article_half("Geology")
    assert article_part("Southern_California") == "reader"  # stages 1-3's two 'reader' articles are unchanged
    assert article_part("French_and_Indian_War") == "reader"
    assert article_part("Oxygen") == "reader-b"
    assert article_part("Warsaw") == "calibration"
    for title in ("Oxygen", "Warsaw", "Southern_California", "Packet_switching", "Prime_number"):
        assert article_half(title) == "calibration"  # only the non-heldout half is ever split further


def test_scoring_some_articles_keeps_the_whole_corpus_and_its_cached_index(tmp_path: Path) -> None:
    source = _squad(tmp_path / "squad.json")
    ds = load_dataset(source)
    scored = questions_of_articles(ds, lambda t: t == "Beta")
    assert [q.qid for q in scored.questions] == ["Beta-1"]
    assert scored.documents == ds.documents and scored.name == ds.name
    config = build_config_for(ds.kind)
    assert dataset_cache_key(scored, source, config) == dataset_cache_key(ds, source, config)


def test_a_gold_that_normalises_to_nothing_does_not_make_a_question_answerable(tmp_path: Path) -> None:
    from retrieval.evaluation.datasets import EvalQuestion

    assert not EvalQuestion("q", "What?", ["."], ["d"], {}).answerable
    assert EvalQuestion("q", "What?", [".", "renewal of hostilities"], ["d"], {}).answerable
