"""The reader's synthetic "no answer" questions (eval/train_reader.py): what is swapped and what is not."""

from __future__ import annotations

import random
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def train_reader(load_eval_script):
    return load_eval_script("train_reader")


def test_question_entities_skip_the_opening_word(train_reader) -> None:
    found = [e[2] for e in train_reader.question_entities("When did Nikol Pashinyan visit Moscow in 2023?")]
    assert found == ["Nikol Pashinyan", "Moscow", "2023"]
    assert [e[2] for e in train_reader.question_entities("What did Beyoncé's album sell?")] == ["Beyoncé"]


def test_entity_swap_replaces_a_name_the_context_has_with_one_it_lacks(train_reader) -> None:
    context = "Nikol Pashinyan met officials in Moscow in 2023."
    names = ["Ilham Aliyev", "Paris", "Berlin", "Moscow"]
    for seed in range(20):
        q = train_reader.entity_swap("When did Nikol Pashinyan visit Moscow?", context, names, random.Random(seed))
        assert q is not None and q != "When did Nikol Pashinyan visit Moscow?"
        assert ("Nikol Pashinyan" in q) != ("Moscow" in q)  # exactly one entity replaced ...
        assert "Ilham Aliyev" in q or "Paris" in q or "Berlin" in q  # ... by one the context does not contain


def test_entity_swap_moves_years_and_leaves_plain_questions_alone(train_reader) -> None:
    context = "The ceasefire began in 2023 after talks."
    q = train_reader.entity_swap("In what year did the ceasefire begin, 2023?", context, ["Paris"], random.Random(0))
    assert q is not None and "2023" not in q
    assert train_reader.entity_swap("what did the talks achieve?", context, ["Paris"], random.Random(0)) is None


def test_sentence_spans_cover_each_sentence(train_reader) -> None:
    text = 'Talks were held in Yevlakh. "They ended," he said. 2,000 troops stayed.'
    assert [text[a:b] for a, b in train_reader.sentence_spans(text)] == [
        "Talks were held in Yevlakh.", '"They ended," he said.', "2,000 troops stayed.",
    ]


def test_delete_answer_sentence_removes_only_the_answer_sentence(train_reader) -> None:
    context = "The war began in 1988. Talks were held in Yevlakh on Thursday. Russia mediated them."
    start = context.index("Yevlakh")
    rest = train_reader.delete_answer_sentence(context, start, "Yevlakh")
    assert rest == "The war began in 1988. Russia mediated them."
    # the answer said twice: deleting one sentence would leave it answerable, so no example
    twice = context + " Yevlakh is a city."
    assert train_reader.delete_answer_sentence(twice, start, "Yevlakh") is None
    # nothing of substance left
    assert train_reader.delete_answer_sentence("Talks were held in Yevlakh. Fine.", 19, "Yevlakh") is None


def test_context_entity_swap_uses_another_name_from_the_same_paragraph(train_reader) -> None:
    context = "President Ilham Aliyev of Azerbaijan spoke. Nikol Pashinyan of Armenia answered him in Moscow."
    question = "Who is the president of Azerbaijan?"
    seen = set()
    for seed in range(20):
        q = train_reader.context_entity_swap(question, context, "Ilham Aliyev", random.Random(seed))
        assert q is not None and "Azerbaijan" not in q
        seen.add(q)
    # one-word names only (the swapped name had one word), never the answer, never sentence-initial words
    assert seen <= {"Who is the president of Armenia?", "Who is the president of Moscow?"}
    assert train_reader.context_entity_swap("who spoke?", context, "Ilham Aliyev", random.Random(0)) is None


def test_real_no_answer_questions_come_only_from_the_chosen_article_parts(train_reader, bench_data: Path) -> None:
    import json

    from retrieval.evaluation.datasets import article_part

    v2 = json.loads((bench_data / "squad" / "dev-v2.0.visible.json").read_text(encoding="utf-8"))
    unanswerable = [(qa["question"], article_part(art["title"])) for art in v2["data"] for p in art["paragraphs"]
                    for qa in p["qas"] if not qa["answers"]]
    for parts in (("reader",), ("reader", "reader-b")):
        examples = train_reader.load_examples(bench_data, 5, v2_parts=parts)
        real = sorted(e["q"] for e in examples if e["a"] is None)  # no synthetic kind is on: all are v2.0's own
        assert real == sorted(q for q, part in unanswerable if part in parts)
    assert {part for _q, part in unanswerable} == {"reader", "reader-b", "calibration", "heldout"}


@pytest.mark.parametrize("parts", ["calibration", "reader,heldout", ""])
def test_training_refuses_the_article_parts_kept_for_fitting_and_reporting(train_reader, monkeypatch, parts) -> None:
    monkeypatch.setattr("sys.argv", ["train_reader.py", "--v2-parts", parts])
    with pytest.raises(SystemExit, match="never trained on"):
        train_reader.main()
