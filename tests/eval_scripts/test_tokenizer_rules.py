"""eval/tokenizer_rules.py: BM25 hit@k under two tokenizer rule sets, over all and over the changed questions."""

from __future__ import annotations

import json
from pathlib import Path


def _squad(tmp_path: Path) -> Path:
    paragraphs = [
        ("The US Senate passed the bill on Monday.", "Which US body passed the bill?"),
        ("The u Senate is a fictional body in the game.", "What is the u Senate?"),
        ("Rain fell over the hills all week.", "What fell over the hills?"),
    ]
    data = {"version": "1.1", "data": [{"title": "T", "paragraphs": [
        {"context": c, "qas": [{"id": f"q{i}", "question": q, "answers": [{"text": c.split()[1], "answer_start": 4}]}]}
        for i, (c, q) in enumerate(paragraphs)]}]}
    path = tmp_path / "squad.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_rules_2_finds_the_us_paragraph_that_rules_1_misses(load_eval_script, tmp_path: Path) -> None:
    """Asked with "U.S.", rules 1 makes it "u" (matching the fictional "u Senate") while the text says "US"."""
    module = load_eval_script("tokenizer_rules")
    path = _squad(tmp_path)
    data = json.loads(path.read_text())
    data["data"][0]["paragraphs"][0]["qas"][0]["question"] = "Which U.S. Senate?"
    path.write_text(json.dumps(data), encoding="utf-8")
    result = module.compare(path, 1, 2)
    assert result["changed_questions"]["rules 1"] == {"questions": 1, "hit@1": 0, "hit@10": 1}
    assert result["changed_questions"]["rules 2"] == {"questions": 1, "hit@1": 1, "hit@10": 1}
    assert result["all"]["rules 2"]["questions"] == 3 and result["all"]["rules 2"]["hit@1"] == 3


def test_rules_4_find_the_accented_paragraph_for_a_plain_question(load_eval_script, tmp_path: Path) -> None:
    """A question typed "Zurich" misses the paragraph that says "Zürich" under rules 3 and finds it under rules 4;
    --plain-questions strips the question's own accents first."""
    module = load_eval_script("tokenizer_rules")
    path = _squad(tmp_path)
    data = json.loads(path.read_text())
    data["data"][0]["paragraphs"][0]["context"] = "The bank moved to Zürich."
    data["data"][0]["paragraphs"][0]["qas"][0]["question"] = "Did the bank move its branch to Zürich?"
    data["data"][0]["paragraphs"][1]["context"] = "The bank opened a branch in Geneva."
    data["data"][0]["paragraphs"][1]["qas"][0]["question"] = "Which branch opened in Geneva?"
    path.write_text(json.dumps(data), encoding="utf-8")
    as_written = module.compare(path, 3, 4)
    assert as_written["changed_questions"]["rules 3"]["questions"] == 1  # "zürich" -> "zurich"
    assert as_written["all"]["rules 3"]["hit@1"] == as_written["all"]["rules 4"]["hit@1"] == 3
    plain = module.compare(path, 3, 4, plain_questions=True)
    assert plain["plain_questions"] is True
    assert plain["all"]["rules 3"]["hit@1"] == 2  # "zurich" is not "zürich": the Geneva branch ranks first
    assert plain["all"]["rules 4"]["hit@1"] == 3
