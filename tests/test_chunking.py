from __future__ import annotations

from pathlib import Path

import pytest

from retrieval.chunking import HARD_MAX_WORDS, ChunkerConfig, annotate_documents, chunk_document, chunk_documents, count_words
from retrieval.ingest import load_corpus
from retrieval.types import Document


@pytest.fixture(scope="module")
def seeds_passages(seeds_dir: Path):
    docs = load_corpus(seeds_dir)
    cfg = ChunkerConfig()
    return docs, chunk_documents(docs, annotate_documents(docs, cfg), cfg)


def test_passages_are_exact_slices_of_the_original(seeds_passages) -> None:
    docs, passages = seeds_passages
    by_id = {d.doc_id: d for d in docs}
    assert passages
    for p in passages:
        assert by_id[p.doc_id].text[p.start : p.end] == p.text
        assert count_words(p.text) <= 100 or len(p.sentences) == 1
        for s, e in p.sentences:
            assert p.start <= s < e <= p.end
        for c in p.candidates:
            assert p.start <= c.start < c.end <= p.end
    assert [p.passage_id for p in passages] == list(range(len(passages)))


def test_passages_never_include_boilerplate(seeds_passages) -> None:
    _docs, passages = seeds_passages
    text = "\n".join(p.text for p in passages)
    assert "Your support" not in text and "Exit mobile version" not in text and "Source: http" not in text


def test_candidates_include_entities_and_numbers(seeds_passages) -> None:
    _docs, passages = seeds_passages
    found = {(p.text[c.start - p.start : c.end - p.start], c.kind) for p in passages for c in p.candidates}
    assert ("Yevlakh", "GPE") in found or ("Yevlakh", "LOC") in found
    assert any(t == "2,000" for t, _k in found)


def test_long_unpunctuated_text_is_cut_below_the_hard_limit() -> None:
    text = " ".join(f"word{i}" for i in range(1000))
    doc = Document("d", "t", text, "d.txt", ((0, len(text)),))
    cfg = ChunkerConfig(max_words=150, splitter="rules", candidates=False)
    (ann,) = annotate_documents([doc], cfg)
    passages = chunk_document(doc, ann, cfg)
    assert all(count_words(p.text) <= HARD_MAX_WORDS for p in passages)
    assert " ".join(p.text for p in passages) == text


@pytest.mark.parametrize("splitter", ["spacy", "rules"])
def test_a_sentence_never_crosses_a_paragraph_break(splitter: str) -> None:
    """A headline without a full stop ran into its dateline and lead as one "sentence" (a citation's sentence
    was the headline, a blank line and the lead); a closing quote stays with its sentence."""
    text = (
        "Volcano erupts on remote island\n\n"
        "REYKJAVIK, Iceland \u2014 A volcano on the island of Grimsey erupted early on Saturday, the office said.\n\n"
        "The mayor said the town had been restored \u201cwith an iron fist.\u201d\n\n"
        "About 300 residents were evacuated by ferry overnight."
    )
    doc = Document("d", "t", text, "d.txt", ((0, len(text)),))
    (ann,) = annotate_documents([doc], ChunkerConfig(splitter=splitter, candidates=False))
    sentences = [text[a:b] for a, b in ann.sentences]
    assert sentences[0] == "Volcano erupts on remote island"
    assert sentences[1].startswith("REYKJAVIK") and sentences[1].endswith("the office said.")
    assert "The mayor said the town had been restored \u201cwith an iron fist.\u201d" in sentences
    assert all("\n\n" not in s for s in sentences) and sentences[-1].startswith("About 300")


def test_an_abbreviation_before_a_lowercase_word_ends_no_sentence() -> None:
    """spaCy cut "struck at 11:56 a.m. local time (0611 GMT)." after "a.m.", so the time's citation lost its
    sentence and one moment became two competing values; a capital after the abbreviation, or a line break, still
    ends the sentence."""
    text = (
        "The quake struck at 11:56 a.m. local time (0611 GMT). It was the worst in 80 years. "
        "Apple Inc. said it would help. Rescuers left at 9 a.m.\nThe U.S. sent a team."
    )
    doc = Document("d", "t", text, "d.txt", ((0, len(text)),))
    (ann,) = annotate_documents([doc], ChunkerConfig(candidates=False))
    sentences = [text[a:b] for a, b in ann.sentences]
    assert "The quake struck at 11:56 a.m. local time (0611 GMT)." in sentences
    assert "Apple Inc. said it would help." in sentences
    assert sentences[-2:] == ["Rescuers left at 9 a.m.", "The U.S. sent a team."]


def test_overlap_repeats_sentences() -> None:
    text = " ".join(f"Sentence number {i} is here with words." for i in range(40))
    doc = Document("d", "t", text, "d.txt", ((0, len(text)),))
    cfg = ChunkerConfig(max_words=20, overlap_sentences=1, splitter="rules", candidates=False)
    (ann,) = annotate_documents([doc], cfg)
    passages = chunk_document(doc, ann, cfg)
    for a, b in zip(passages, passages[1:]):
        assert a.sentences[-1] == b.sentences[0]


@pytest.mark.parametrize("kwargs", [{"max_words": 5}, {"max_words": 201}, {"overlap_sentences": -1}, {"splitter": "x"},
                                    {"splitter": "rules", "candidates": True}])
def test_config_is_validated(kwargs) -> None:
    with pytest.raises(ValueError):
        ChunkerConfig(**kwargs)
