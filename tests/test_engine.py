"""End-to-end behaviour on the seeds corpus (one build per session)."""

from __future__ import annotations

import copy
import dataclasses
import sys
from pathlib import Path

import numpy as np
import pytest

from retrieval.values import normalize_value
from retrieval.engine import Engine
from retrieval.store import IndexCorrupt, IndexMissing

pytestmark = pytest.mark.slow


def test_search_returns_evidence_of_both_retrievers(seeds_engine: Engine) -> None:
    hits = seeds_engine.search("where were talks held?", k=5)
    assert len(hits) == 5
    assert [h.rank for h in hits] == [1, 2, 3, 4, 5]
    assert all(h.score >= hits[-1].score for h in hits)
    assert any(h.bm25_rank is not None and h.dense_rank is not None for h in hits)
    for h in hits:
        assert h.title


def _assert_cited_exactly(citations, seeds_dir: Path, needle: str) -> None:
    assert citations
    assert {c.doc_id for c in citations} & {"001_44ea67f2eb9612b6", "004_c003e6eed48f7ba6"}
    for c in citations:
        original = (seeds_dir / f"{c.doc_id}.txt").read_text(encoding="utf-8")
        assert original[c.start : c.end] == c.text and needle in c.text
        assert original[c.sentence_start : c.sentence_end] == c.sentence


def test_yevlakh_answer_is_cited_at_exact_offsets(seeds_engine: Engine, seeds_dir: Path) -> None:
    answer = seeds_engine.ask("Which city hosted the talks on reintegrating Karabakh into Azerbaijan?")
    assert answer.text == "Yevlakh" and answer.abstain_reason is None
    _assert_cited_exactly(answer.citations, seeds_dir, "Yevlakh")
    assert 0.0 <= answer.score <= 1.0


def test_a_withheld_answer_keeps_its_best_guess_cited(seeds_engine: Engine, seeds_dir: Path) -> None:
    """The four-word headline question is answered (Yevlakh, above the threshold); with a threshold above its
    confidence the same answer is withheld as "low_confidence", and the best guess is still Yevlakh, cited
    exactly, with the same confidence."""
    question = "where were talks held?"
    answered = seeds_engine.ask(question)
    assert answered.text == "Yevlakh" and answered.abstain_reason is None
    _assert_cited_exactly(answered.citations, seeds_dir, "Yevlakh")
    settings = seeds_engine.answer_model.reader
    assert settings is not None and settings.threshold <= answered.score < 0.999
    strict = copy.copy(seeds_engine)
    strict.answer_model = dataclasses.replace(seeds_engine.answer_model,
                                              reader=dataclasses.replace(settings, threshold=0.999))
    withheld = strict.ask(question)
    assert withheld.text is None and withheld.abstain_reason == "low_confidence" and withheld.citations == []
    assert withheld.score == pytest.approx(answered.score)
    best = withheld.alternatives[0]
    assert best.text == "Yevlakh" and best.score == withheld.score
    _assert_cited_exactly(best.citations, seeds_dir, "Yevlakh")


def test_peacekeepers_pooled_across_articles(seeds_engine: Engine) -> None:
    answer = seeds_engine.ask("how many peacekeepers?")
    assert answer.text is not None and answer.text.replace(",", "").endswith("2000")
    assert len({c.doc_id for c in answer.citations}) > 1


def test_disagreeing_sources_are_reported_and_agreeing_figures_are_not(seeds_engine: Engine) -> None:
    """The articles give different evacuation figures (10,000 from a separatist official, 3,100 from Russia's
    defence ministry); "1991" and "the early 1990s" do not disagree. The 3,100 reading sits near the shipped
    likelihood floor (0.22 of the answer's confidence with the shipped reader, 0.19 with the previous one; the floor
    of 0.2 is chosen by ``eval/conflict_probe.py``), so the claim and agreement checks are exercised with the floor
    at 0.1, where it is listed whichever reader ships."""
    question = "How many people have been evacuated from Nagorno-Karabakh?"
    default = seeds_engine.ask(question)
    engine = copy.copy(seeds_engine)
    engine.search_config = dataclasses.replace(seeds_engine.search_config, conflict_min_ratio=0.1)
    answer = engine.ask(question)
    assert answer.text is not None and answer.text == default.text
    figures = {normalize_value(answer.text).split()[0]} | {v.normalized.split()[0] for v in answer.conflicts}
    assert {"10000", "3100"} <= figures  # the answer is one, the other is reported as disagreeing
    answer_docs = {c.doc_id for c in answer.citations}
    for value in answer.conflicts:
        assert value.citations and {c.doc_id for c in value.citations} - answer_docs
    floor = seeds_engine.search_config.conflict_min_ratio
    scale = seeds_engine.answer_model.reader.fitted_confidence  # the floor's scale, before the prior shift
    assert all(scale(v.score) >= floor * scale(default.score) for v in default.conflicts)
    assert {v.normalized for v in default.conflicts} <= {v.normalized for v in answer.conflicts}
    collapse = seeds_engine.ask("What year did the Soviet Union collapse?")
    assert collapse.text == "1991" and collapse.conflicts == []


def test_the_prior_shift_changes_shown_confidences_and_nothing_else(seeds_engine: Engine) -> None:
    """Answers, abstentions and conflict listings are the same with the curve unshifted (and its threshold
    unshifted with it); only the probabilities shown move."""
    from retrieval.values import shift_probability

    settings = seeds_engine.answer_model.reader
    assert settings is not None and settings.prior_shift != 0.0
    shifted, unshifted = copy.copy(seeds_engine), copy.copy(seeds_engine)
    unshifted.answer_model = dataclasses.replace(seeds_engine.answer_model, reader=dataclasses.replace(
        settings, prior_shift=0.0, threshold=shift_probability(settings.threshold, -settings.prior_shift)))
    # a floor between the evacuation figure's fitted ratio (0.22) and its shown one (0.33): listed by neither, unless
    # the floor were applied to shown confidences
    for engine in (shifted, unshifted):
        engine.search_config = dataclasses.replace(seeds_engine.search_config, conflict_min_ratio=0.27)
    questions = ["How many people have been evacuated from Nagorno-Karabakh?", "where were talks held?",
                 "How many Azerbaijani troops took part in the offensive?", "Who is the president of Armenia?",
                 "How many peacekeepers did Russia have in the region?", "What is the capital of France?"]
    for question in questions:
        shown, fitted = shifted.ask(question), unshifted.ask(question)
        assert (shown.text, shown.abstain_reason) == (fitted.text, fitted.abstain_reason)
        assert [v.text for v in shown.conflicts] == [v.text for v in fitted.conflicts]
        assert settings.fitted_confidence(shown.score) == pytest.approx(fitted.score, abs=1e-9)


def test_reader_rows_carry_each_sentences_cosine_to_the_question(
    seeds_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The engine hands the reader's selection the stored sentence vectors' cosines, aligned with the passages
    read, so the fitted ``sentence_weight`` acts on the query path."""
    import retrieval.engine as engine_module

    if seeds_engine.reader is None:
        pytest.skip("no trained reader installed")
    settings = seeds_engine.answer_model.reader
    assert settings is not None and settings.sentence_weight > 0  # the shipped fit uses it
    seen = []
    real = engine_module.reader_rows

    def spy(question, hits, spans, idf, tokenizer=None, sentence_cosines=None, subject=None):  # noqa: ANN001, ANN202
        rows = real(question, hits, spans, idf, tokenizer, sentence_cosines, subject=subject)
        seen.append((hits, sentence_cosines, rows))
        return rows

    monkeypatch.setattr(engine_module, "reader_rows", spy)
    question = "Which city hosted the talks on reintegrating Karabakh into Azerbaijan?"
    seeds_engine.ask(question)
    ((hits, cosines, rows),) = seen
    qv = seeds_engine.encode([question])[0]
    assert cosines == seeds_engine.sentence_cosines(qv, hits)
    assert rows
    for r in rows:  # each span carries the cosine of the stored sentence it starts in
        c = r.citation
        own = seeds_engine._sentence_cosine(seeds_engine.passages[c.passage_id], c.sentence_start, qv)
        assert own is not None and r.sentence_cosine == pytest.approx(own, abs=1e-6)


@pytest.mark.parametrize("question", ["Who is Pashinyan?", "who is pashinyan"])
def test_who_is_a_surname_is_answered_by_what_the_person_is(seeds_engine: Engine, question: str) -> None:
    answer = seeds_engine.ask(question)  # before: "Mr", read from "Mr Pashinyan"
    best = answer.alternatives[0]
    assert "prime minister" in best.text.lower() and "pashinyan" not in best.text.lower()
    cited = best.citations[0]
    assert "Pashinyan" in cited.sentence


def test_a_question_about_a_name_the_corpus_uses_is_on_topic(seeds_engine: Engine) -> None:
    answer = seeds_engine.ask("What does CSTO stand for?")  # before: stopped as off topic ("stand" is unseen)
    assert answer.abstain_reason != "off_topic"
    assert answer.alternatives[0].text == "Collective Security Treaty Organization"


def test_off_topic_question_abstains(seeds_engine: Engine) -> None:
    answer = seeds_engine.ask("who won the 2022 World Cup?")
    assert answer.text is None and answer.abstain_reason == "off_topic"
    assert answer.hits  # still shows the closest passages


def test_the_heuristic_answerer_has_the_off_topic_gate_too(seeds_engine: Engine) -> None:
    """The gate measures retrieval (cosine, keyword share), not the reader: without it the heuristic answerer
    answered "who won the 2022 World Cup?" from a war corpus."""
    from retrieval.engine import SearchConfig

    engine = copy.copy(seeds_engine)
    engine.search_config = SearchConfig(answerer="heuristic")
    assert engine.reader is None
    answer = engine.ask("who won the 2022 World Cup?")
    assert answer.text is None and answer.abstain_reason == "off_topic"
    assert engine.ask("where were talks held?").abstain_reason != "off_topic"


def test_a_question_whose_words_a_passage_holds_is_not_off_topic(seeds_engine: Engine) -> None:
    """The gate's exception: with every question below the cosine gate, one whose keywords a retrieved passage
    holds gets an answer or a best guess, while one about something else is still stopped."""
    settings = seeds_engine.answer_model.reader
    assert settings is not None and 0.0 < settings.min_question_coverage < 1.0
    strict = copy.copy(seeds_engine)

    def with_gate(min_question_coverage: float) -> Engine:
        strict.answer_model = dataclasses.replace(seeds_engine.answer_model, reader=dataclasses.replace(
            settings, min_question_cosine=1.0, min_question_coverage=min_question_coverage))
        return strict

    on_topic, off_topic = "who is the president of Azerbaijan?", "who won the 2022 World Cup?"
    assert with_gate(settings.min_question_coverage).ask(on_topic).abstain_reason != "off_topic"
    assert with_gate(settings.min_question_coverage).ask(off_topic).abstain_reason == "off_topic"
    assert with_gate(1.0).ask(on_topic).abstain_reason == "off_topic"  # no exception: the cosine alone decides


def test_an_off_topic_question_is_said_to_be_off_topic_even_when_nothing_reads_as_an_answer(
    seeds_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The gate comes first: "no candidate" would say the corpus does not answer a question it is not about."""
    engine = copy.copy(seeds_engine)
    settings = seeds_engine.answer_model.reader
    assert settings is not None
    monkeypatch.setattr(engine, "_reader_values", lambda *_a: ([], settings, set()))
    assert engine.ask("who won the 2022 World Cup?").abstain_reason == "off_topic"
    assert engine.ask("who is the president of Azerbaijan?").abstain_reason == "no_candidate"


def test_every_stage_of_an_answer_is_timed(seeds_engine: Engine) -> None:
    answer = seeds_engine.ask("where were talks held?", k=1)
    assert {"encode_ms", "bm25_ms", "dense_ms", "fusion_ms", "answer_ms", "total_ms"} <= set(answer.timings)


def test_asking_for_a_reader_that_is_not_installed_is_an_error_not_a_silent_fallback(
    seeds_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    import retrieval.reader
    from retrieval.reader import ReaderMissing

    no_settings = copy.copy(seeds_engine)
    no_settings.answer_model = dataclasses.replace(seeds_engine.answer_model, reader=None)
    no_settings.search_config = dataclasses.replace(seeds_engine.search_config, answerer="reader")
    with pytest.raises(ReaderMissing, match="no fitted reader settings"):
        no_settings.ask("where were talks held?")
    no_model = copy.copy(seeds_engine)
    no_model._reader = None
    no_model.search_config = no_settings.search_config
    monkeypatch.setattr(retrieval.reader, "bundled_reader_paths", lambda: None)
    with pytest.raises(ReaderMissing, match="no trained reader is installed"):
        no_model.ask("where were talks held?")
    no_model.search_config = dataclasses.replace(seeds_engine.search_config, answerer="auto")
    assert no_model.ask("where were talks held?").text  # "auto" falls back to the heuristic answerer


def test_onnx_query_encoder_matches_sentence_transformers(seeds_engine: Engine) -> None:
    from retrieval.encoders import SentenceTransformerEncoder

    texts = ["where were talks held?", "Both sides said talks would be held on Thursday in the city of Yevlakh.",
             "ünïcödé and emoji 🙂", "x " * 400]
    onnx = seeds_engine.encode(texts)
    st = SentenceTransformerEncoder().encode(texts)
    cos = (onnx * st).sum(1)
    assert cos.min() >= 0.9999


def test_query_path_does_not_import_heavy_libraries(seeds_engine: Engine) -> None:
    import subprocess

    code = (
        "import sys; from retrieval.engine import Engine; "
        f"e = Engine.open({str(seeds_engine.directory)!r}); e.ask('where were talks held?'); "
        "bad = [m for m in ('torch', 'sentence_transformers', 'spacy', 'transformers') if m in sys.modules]; "
        "print(','.join(bad)); sys.exit(1 if bad else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_reopen_gives_identical_results(seeds_engine: Engine) -> None:
    again = Engine.open(seeds_engine.directory)
    a = [(h.passage.passage_id, round(h.score, 9)) for h in seeds_engine.search("peacekeepers killed", k=10)]
    b = [(h.passage.passage_id, round(h.score, 9)) for h in again.search("peacekeepers killed", k=10)]
    assert a == b
    assert np.array_equal(again.sentence_vectors, seeds_engine.sentence_vectors)


def test_manifest_records_what_built_it(seeds_engine: Engine) -> None:
    m = seeds_engine.manifest
    assert m["format_version"] == 1
    assert m["model"]["name"] == "all-MiniLM-L6-v2" and len(m["model"]["sha256"]) == 64
    assert len(m["corpus"]["files"]) == 5
    assert {"passages.jsonl", "dense.faiss", "encoder.onnx", "bm25_weights.npy"} <= set(m["files"])
    assert m["build"]["chunker"]["max_words"] == 100


def test_damaged_file_is_detected(seeds_engine: Engine, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(seeds_engine.directory, copy)
    with open(copy / "bm25_weights.npy", "r+b") as fh:
        fh.seek(200)
        byte = fh.read(1)
        fh.seek(200)
        fh.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(IndexCorrupt, match="bm25_weights.npy"):
        Engine.open(copy)
    with pytest.raises(IndexMissing):
        Engine.open(tmp_path / "nothing")


def test_changed_corpus_is_noticed(seeds_engine: Engine, seeds_dir: Path, tmp_path: Path) -> None:
    import shutil

    corpus = tmp_path / "corpus"
    shutil.copytree(seeds_dir, corpus)
    assert seeds_engine.corpus_is_stale(seeds_dir) is False
    (corpus / "extra.txt").write_text("A new headline with enough words\nNew body text here.\n")
    assert seeds_engine.corpus_is_stale(corpus) is True


def test_a_hard_wrapped_copy_of_the_seeds_answers_like_the_seeds(seeds_dir: Path, tmp_path: Path) -> None:
    """Files wrapped at 72 columns: read line by line, their short unpunctuated lines looked like page furniture and
    four fifths of the text was dropped (a 72-column copy of the seeds fell to F1 7.5 on the gold set)."""
    import textwrap

    corpus = tmp_path / "wrapped"
    corpus.mkdir()
    for path in sorted(seeds_dir.glob("*.txt")):
        lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        (corpus / path.name).write_text("\n".join(textwrap.fill(line, 72) for line in lines) + "\n", encoding="utf-8")
    engine = Engine.build(corpus, tmp_path / "index")
    answer = engine.ask("which city hosted the talks on reintegrating Karabakh into Azerbaijan?")
    assert answer.text == "Yevlakh"
    for c in answer.citations:
        text = (corpus / f"{c.doc_id}.txt").read_text(encoding="utf-8")
        assert text[c.start : c.end] == c.text == "Yevlakh"
        assert text[c.sentence_start : c.sentence_end] == c.sentence and "\n" in c.sentence  # wrapped, kept exact
    across = engine.ask("when were talks on reintegrating the breakaway territory to be held?")
    assert across.text is not None and "Thursday" in across.text


def test_a_one_article_corpus_is_not_off_topic_to_its_own_questions(tmp_path: Path) -> None:
    """With one passage BM25's idf is negative for every word, so the question's words weighed nothing and the
    off-topic gate's keyword exception never applied: every question to a one-article corpus was "off topic"."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "bridge.txt").write_text(
        "Harbour bridge reopens after three-year repair\n\n"
        "The Tamar Harbour Bridge reopened to traffic on Monday after a three-year repair programme that cost 412 "
        "million pounds, officials said.\n\n"
        "The contractor, Halvorsen Civil, employed roughly 650 workers on the project at its peak.\n",
        encoding="utf-8",
    )
    engine = Engine.build(corpus, tmp_path / "index")
    assert len(engine.passages) == 1 and max(engine.bm25.idf_map().values()) < 0
    assert min(engine.idf.values()) > 0
    answer = engine.ask("who was the contractor?")
    assert answer.abstain_reason != "off_topic"
    assert answer.text == "Halvorsen Civil"
    assert engine.ask("who won the 2022 FIFA World Cup?").abstain_reason == "off_topic"


def test_api_misuse_is_a_clear_error_before_any_work(seeds_engine: Engine) -> None:
    from retrieval.engine import BuildConfig, SearchConfig
    from retrieval.fusion import FusionMode

    with pytest.raises(TypeError, match="not a single str"):
        seeds_engine.search_batch("where were talks held?")  # would search each character
    with pytest.raises(TypeError, match="not a single str"):
        seeds_engine.encode("abc")
    with pytest.raises(ValueError, match="1 rows for 2 questions"):
        seeds_engine.search_batch(["a talk", "a truce"], query_vectors=np.zeros((1, 384), np.float32))
    with pytest.raises(TypeError, match="a question must be a str"):
        seeds_engine.ask(None)  # type: ignore[arg-type]
    for k in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="k must be an int >= 1"):
            seeds_engine.search("where were talks held?", k=k)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="fusion must be one of"):
        SearchConfig(fusion="bogus")  # type: ignore[arg-type]
    assert SearchConfig(fusion="rrf").fusion is FusionMode.RRF  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="depth and rrf_k must be ints"):
        SearchConfig(depth=2.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="bm25_k1"):
        BuildConfig(bm25_k1=-1)  # failed only inside build, after ingest and embedding
    with pytest.raises(ValueError, match="batch_size"):
        BuildConfig(batch_size=0)
    with pytest.raises(ValueError, match="sentence_vectors"):
        BuildConfig(sentence_vectors="no")  # type: ignore[arg-type]
    assert seeds_engine.search_batch([]) == []
    vector = seeds_engine.encode(["where were talks held?"])[0]  # one question's vector, not a row of one
    assert seeds_engine.search_batch(["where were talks held?"], query_vectors=vector)[0][0].passage.passage_id == \
        seeds_engine.search("where were talks held?")[0].passage.passage_id


def test_public_names_do_not_depend_on_import_order() -> None:
    """``tokenize`` is a function and a submodule's name: importing BM25 first used to leave the module there."""
    import subprocess

    code = ("from retrieval import BM25\nfrom retrieval import tokenize, IndexMissing, CorpusError\n"
            "import retrieval\nassert callable(tokenize) and tokenize('Hello worlds') == ['hello', 'world']\n"
            "assert {'Engine', 'tokenize', 'IndexMissing'} <= set(dir(retrieval))\n"
            "import retrieval.tokenize as module\nassert module.TokenizerConfig().stemmer == 'light'\n"
            "import pytest\nwith pytest.MonkeyPatch.context() as mp:\n"
            "    mp.setattr('retrieval.tokenize.tokenize', lambda *a, **k: ['patched'])\n"
            "    assert module.tokenize('x') == ['patched']\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_an_answer_reads_back_from_its_json(seeds_engine: Engine) -> None:
    """What ``ask --json`` prints comes back as the typed Answer (the passages without their sentence spans)."""
    import json

    from retrieval.types import Answer, Hit

    for question in ("how many peacekeepers died?", "who won the 2022 World Cup?", "where were talks held?"):
        answer = seeds_engine.ask(question)
        obj = json.loads(json.dumps(answer.to_json()))
        again = Answer.from_json(obj)
        assert again.to_json() == obj
        assert again.text == answer.text and again.citations == answer.citations
        assert [a.citations for a in again.alternatives] == [a.citations for a in answer.alternatives]
        assert [h.passage.text for h in again.hits] == [h.passage.text for h in answer.hits]
    hits = seeds_engine.search("peacekeepers", k=3)
    assert [Hit.from_json(h.to_json()).to_json() for h in hits] == [h.to_json() for h in hits]
