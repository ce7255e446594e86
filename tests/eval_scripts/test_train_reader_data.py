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


def test_partial_name_swap_changes_one_word_of_a_name_into_one_the_context_lacks(train_reader) -> None:
    context = "The fighters of the Warsaw Ghetto Uprising held out for almost a month against German troops."
    question = "How long did the fighters of the Warsaw Ghetto Uprising hold out?"
    words = train_reader.name_words(["Berlin Wall", "German Empire", "Ghetto Uprising", "Paris"])
    assert words == ["Berlin", "Empire", "German", "Ghetto", "Uprising", "Wall"]  # single-word names give none
    for seed in range(20):
        q = train_reader.partial_name_swap(question, context, words, random.Random(seed))
        assert q is not None and q != question
        name = q[len("How long did the fighters of the "):-len(" hold out?")]
        old, new = "Warsaw Ghetto Uprising".split(), name.split()
        assert len(new) == 3 and sum(a != b for a, b in zip(old, new)) == 1  # one word changed
        assert name.lower() not in context.lower()
    # neither "The" nor a word already in the name replaces a word of it
    assert train_reader.name_words(["The Hague Convention"]) == ["Convention", "Hague"]
    for seed in range(10):
        q = train_reader.partial_name_swap("Who founded the Warsaw Chopin Society?", "The Warsaw Chopin Society met.",
                                           ["The", "Chopin", "Society", "Warsaw"], random.Random(seed))
        assert q is None
    # no multi-word name the context has: nothing to change
    assert train_reader.partial_name_swap("When did Warsaw fall?", context, words, random.Random(0)) is None
    assert train_reader.partial_name_swap("Who led the Berlin Wall protests?", context, words, random.Random(0)) is None


def test_antonym_swap_flips_one_word_the_context_never_flips(train_reader) -> None:
    context = "Baku is the largest city in the east of the country."
    q = train_reader.antonym_swap("What is the largest city?", context, random.Random(0))
    assert q == "What is the smallest city?"
    assert train_reader.antonym_swap("Largest city?", context, random.Random(0)) == "Smallest city?"
    # the context names the mirror-image fact too: swapping would not make the question unanswerable
    both = "Baku is the largest city and Lankaran the smallest."
    assert train_reader.antonym_swap("What is the largest city?", both, random.Random(0)) is None
    assert train_reader.antonym_swap("Who applied for Early Action?", context, random.Random(0)) is None  # a name
    assert train_reader.antonym_swap("Who founded the city?", context, random.Random(0)) is None
    assert train_reader.antonym_swap("Why won't it start?", context, random.Random(0)) is None  # not "won" of "won't"
    assert train_reader.antonym_swap("How long did the war last?", context, random.Random(0)) is None  # "last", a verb


def test_antonym_pairs_are_each_words_only_pair_and_never_map_a_word_to_itself(train_reader) -> None:
    words = [w for pair in train_reader._ANTONYM_PAIRS for w in pair]
    assert len(words) == len(set(words))
    assert not set(train_reader._ONE_WAY_ANTONYMS) & set(words)
    assert all(a != b for a, b in train_reader._ANTONYMS.items())
    assert all(train_reader._ANTONYMS[b] == a for a, b in train_reader._ANTONYM_PAIRS)


def test_negate_question_negates_the_first_auxiliary_unless_anything_already_negates(train_reader) -> None:
    context = "The college was founded in 1842."
    assert train_reader.negate_question("What year was the college founded?", context) == (
        "What year wasn't the college founded?")
    assert train_reader.negate_question("Where can you find it?", context) == "Where can't you find it?"
    assert train_reader.negate_question("Who won the cup?", context) is None  # no auxiliary
    assert train_reader.negate_question("Was it founded in 1842?", context) is None  # the auxiliary opens it
    assert train_reader.negate_question("What year wasn't it founded?", context) is None
    assert train_reader.negate_question("What year was it founded?", "It was not founded before 1842.") is None
    assert train_reader.negate_question("Did the team that was founded win?", context) is None  # a yes/no question
    assert train_reader.negate_question("What year was it founded?", "They don\u2019t know.") is None
    assert train_reader.negate_question("What year was it founded?", "It cannot be dated.") is None


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


def test_hardest_paragraph_is_the_closest_one_that_lacks_the_answer(train_reader) -> None:
    paragraphs = [
        "Talks on reintegration were held in Yevlakh on Thursday.",  # the question's own paragraph
        "The weather in Baku was mild.",
        "Talks on reintegration were planned for Thursday, officials said.",  # closest without the answer
        "Reintegration talks ended in Yevlakh.",  # close, but it has the answer
    ]
    question = "Where were talks on reintegration held on Thursday?"
    assert train_reader.hardest_paragraph(question, "Yevlakh", paragraphs, own=0) == paragraphs[2]
    assert train_reader.hardest_paragraph(question, "Yevlakh", [paragraphs[0], paragraphs[3]], own=0) is None
    # sharing no word with the question is not close, whatever its place in the article
    assert train_reader.hardest_paragraph(question, "Yevlakh", paragraphs[:2], own=0) is None


def test_hard_distractors_add_records_and_change_no_other(train_reader, bench_data: Path) -> None:
    import json

    settings = dict(distractors=0.15, skip=26000, swaps=0.4, deletions=0.25, context_swaps=0.2, antonyms=1.0,
                    negations=0.25, v2_parts=("reader", "reader-b"))
    without = train_reader.load_examples(bench_data, 200, **settings)
    with_hard = train_reader.load_examples(bench_data, 200, hard_distractors=0.3, **settings)

    def key(record: dict) -> str:
        return json.dumps(record, sort_keys=True)

    added = sorted(map(key, with_hard))
    for record in map(key, without):
        added.remove(record)  # every earlier record is still there, once
    assert 30 <= len(added) <= 90  # about 0.3 of 200 questions, less those with no close paragraph
    assert all(json.loads(r)["a"] is None for r in added)


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


def _paragraphs() -> list[dict]:
    return [{"context": "Yevlakh hosted the talks on Thursday."}, {"context": "Baku said the war was over."},
            {"context": "Stepanakert's airport was crowded."}, {"context": "The talks were in Yevlakh, officials said."}]


def test_shared_groups_pair_the_gold_paragraph_with_others_that_lack_the_answer(train_reader) -> None:
    pos = [{"q": "Where were the talks?", "c": _paragraphs()[0]["context"], "s": 0, "a": "Yevlakh", "art": 0, "par": 0}]
    out = train_reader.shared_groups(pos * 3, 1.0, 3, lambda ex: _paragraphs(), random.Random(0))
    assert {o["group"] for o in out} == {0, 1, 2}
    for gid in range(3):
        group = [o for o in out if o["group"] == gid]
        assert [o["a"] for o in group] == ["Yevlakh", None, None]  # the gold record, then two "no answer" ones
        assert all("Yevlakh" not in o["c"] for o in group[1:])  # paragraph 3 also says Yevlakh: never a negative
    rng = random.Random(0)
    state = rng.getstate()
    assert train_reader.shared_groups(pos, 0.0, 3, lambda ex: _paragraphs(), rng) == []
    assert rng.getstate() == state  # no draws: runs without --shared keep the data of earlier stages


def test_group_batches_keep_each_group_whole_and_every_window_once(train_reader) -> None:
    rng = random.Random(0)
    feats = [{"ids": [0] * rng.randint(5, 40), "g": g} for g in range(12) for _ in range(rng.randint(1, 5))]
    feats += [{"ids": [0] * 7, "g": -1 - k} for k in range(9)]  # singletons
    feats += [{"ids": [0] * 9, "g": 99} for _ in range(12)]  # larger than a batch: a batch of its own
    out = train_reader.group_batches(feats, 8, random.Random(1))
    assert sorted(id(f) for b in out for f in b) == sorted(id(f) for f in feats)
    home = {}
    for i, b in enumerate(out):
        assert len(b) <= 8 or {f["g"] for f in b} == {99}
        for f in b:
            assert home.setdefault(f["g"], i) == i


def test_shared_norm_loss_is_cross_entropy_for_single_windows(train_reader) -> None:
    torch = pytest.importorskip("torch")
    g = torch.Generator().manual_seed(0)
    start, end = torch.randn(4, 10, generator=g), torch.randn(4, 10, generator=g)
    s, e = torch.tensor([3, 0, 5, 1]), torch.tensor([4, 0, 7, 2])
    mask = torch.ones(4, 10, dtype=torch.long)
    ce = torch.nn.functional.cross_entropy
    expected = (ce(start, s) + ce(end, e)) / 2
    got = train_reader.shared_norm_loss(start, end, mask, s, e, torch.tensor([-1, -2, -3, -4]))
    assert torch.allclose(got, expected, atol=1e-6)


def test_shared_norm_loss_normalises_over_the_group_and_ignores_padding(train_reader) -> None:
    torch = pytest.importorskip("torch")
    g = torch.Generator().manual_seed(1)
    start, end = torch.randn(3, 6, generator=g), torch.randn(3, 6, generator=g)
    mask = torch.tensor([[1] * 6, [1] * 4 + [0] * 2, [1] * 5 + [0]])
    s, e = torch.tensor([2, 0, 0]), torch.tensor([3, 0, 0])  # the answer is in window 0 only
    groups = torch.tensor([7, 7, 7])

    def nll(logits, row, pos):
        flat = torch.cat([logits[r, : int(mask[r].sum())] for r in range(3)])
        return torch.logsumexp(flat, 0) - logits[row, pos]

    expected = (nll(start, 0, 2) + nll(end, 0, 3)) / 2
    assert torch.allclose(train_reader.shared_norm_loss(start, end, mask, s, e, groups), expected, atol=1e-6)
    # no window holds the answer: the target is every window's [CLS]
    zero = torch.zeros(3, dtype=torch.long)
    flat = [torch.cat([x[r, : int(mask[r].sum())] for r in range(3)]) for x in (start, end)]
    no_answer = sum(torch.logsumexp(f, 0) - torch.logsumexp(x[:, 0], 0) for f, x in zip(flat, (start, end))) / 2
    assert torch.allclose(train_reader.shared_norm_loss(start, end, mask, zero, zero, groups), no_answer, atol=1e-6)


def test_featurize_gives_grouped_windows_their_group_and_every_other_window_its_own(train_reader) -> None:
    pytest.importorskip("transformers")
    from transformers import AutoTokenizer

    from retrieval.encoders import bundled_model_dir

    tokenizer = AutoTokenizer.from_pretrained(str(bundled_model_dir()))
    long_context = " ".join(["Talks on the future of the region were held in Yevlakh on Thursday."] * 40)
    examples = [
        {"q": "Where were talks held?", "c": long_context, "s": 47, "a": "Yevlakh", "group": 0},
        {"q": "Where were talks held?", "c": "Baku said the war was over.", "s": -1, "a": None, "group": 0},
        {"q": "Where were talks held?", "c": long_context, "s": 47, "a": "Yevlakh"},
        {"q": "Where were talks held?", "c": "Baku said the war was over.", "s": -1, "a": None},
    ]
    feats = train_reader.featurize(tokenizer, examples)
    long_windows = sum(1 for f in feats if f["g"] == 0) - 1
    assert long_windows > 1  # the long paragraph was cut into strided windows
    ungrouped = [f["g"] for f in feats if f["g"] != 0]
    assert len(ungrouped) == long_windows + 1 and len(set(ungrouped)) == len(ungrouped)
    assert all(g < 0 for g in ungrouped)  # never a group id
    # under --distill every window of the answerable question is held to the teacher, the strided ones that miss the
    # answer included (behaviour to keep); the "no answer" record's window learns freely
    assert [f["anchor"] for f in feats if f["g"] != 0] == [True] * long_windows + [False]


def test_anchor_loss_is_the_mean_squared_logit_gap_over_anchored_unpadded_positions(train_reader) -> None:
    torch = pytest.importorskip("torch")
    g = torch.Generator().manual_seed(2)
    start, end, t_start, t_end = (torch.randn(3, 5, generator=g) for _ in range(4))
    mask = torch.tensor([[1] * 5, [1] * 3 + [0] * 2, [1] * 5])
    anchored = torch.tensor([True, True, False])
    gaps = [(start[0] - t_start[0]), (start[1, :3] - t_start[1, :3]), (end[0] - t_end[0]), (end[1, :3] - t_end[1, :3])]
    expected = torch.cat(gaps).pow(2).mean()
    got = train_reader.anchor_loss(start, end, t_start, t_end, mask, anchored)
    assert torch.allclose(got, expected, atol=1e-6)
    # padding and unanchored rows never count, whatever their logits
    start2, end2 = start.clone(), end.clone()
    start2[1, 3:], end2[2] = 99.0, -99.0
    assert torch.allclose(train_reader.anchor_loss(start2, end2, t_start, t_end, mask, anchored), expected, atol=1e-6)
    assert float(train_reader.anchor_loss(start, end, start, end, mask, anchored)) == 0.0
    none = train_reader.anchor_loss(start, end, t_start, t_end, mask, torch.zeros(3, dtype=torch.bool))
    assert float(none) == 0.0


def test_abstention_at_kept_f1_stops_before_losing_too_much(train_reader) -> None:
    # margins: the two unanswerable questions sit below every answerable one -> both withheld, no F1 lost
    rows = [(2.0, 1.0), (1.0, 1.0), (0.0, None), (-1.0, None)]
    assert train_reader.abstention_at_kept_f1(rows) == 1.0
    # an answerable question (F1 1 of 2) below the only unanswerable one: withholding it loses half the F1
    assert train_reader.abstention_at_kept_f1([(1.0, 1.0), (0.0, None), (-1.0, 1.0)]) == 0.0
    # 0.5 kept is allowed: then the unanswerable one behind it is withheld too
    assert train_reader.abstention_at_kept_f1([(1.0, 1.0), (0.0, None), (-1.0, 1.0)], kept=0.5) == 1.0
    assert train_reader.abstention_at_kept_f1([(1.0, 1.0)]) == 0.0
