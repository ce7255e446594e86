"""The reader's synthetic "no answer" questions (eval/train_reader.py): what is swapped and what is not."""

from __future__ import annotations

import importlib.util
import random
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "eval" / "train_reader.py"


@pytest.fixture(scope="module")
def train_reader():
    spec = importlib.util.spec_from_file_location("train_reader", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # the module imports torch only inside main()
    return module


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
