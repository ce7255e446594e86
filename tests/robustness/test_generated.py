"""Generated input (hypothesis, derandomized): questions and corpus texts through ask, ingest, chunking, build, CLI.

No generated input may raise anything but the documented errors (CorpusError for a corpus with nothing usable, exit
code 2 for an empty or over-long question), and every offset reported must slice the original text exactly.
Fast variants run a few hundred examples in CI; the slow ones (``-m slow``) run more than 10,000 in all.
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path
from unittest import mock

import pytest
from _support import (
    ARTICLES,
    FIGURES,
    HashEncoder,
    check_offsets,
    document_texts,
    link_copy,
    rules_config,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from retrieval.chunking import (
    ChunkerConfig,
    annotate_documents,
    chunk_documents,
    count_words,
)
from retrieval.cli import MAX_QUESTION_CHARS, ask_app
from retrieval.engine import Engine
from retrieval.ingest import (
    CorpusError,
    IngestReport,
    find_content_spans,
    guess_title,
    load_corpus,
    split_rough_sentences,
)

runner = CliRunner()


def _settings(n: int) -> settings:
    return settings(
        max_examples=n, deadline=None, derandomize=True, database=None, print_blob=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much,
                               HealthCheck.large_base_example],
    )


# ---- strategies -------------------------------------------------------------------------------------------------

VOCAB = sorted(set(re.findall(r"[\w',.]+", " ".join(ARTICLES.values())))) + [
    "where", "who", "how", "many", "when", "what", "which", "did", "were", "held", "Mr.", "U.S.", "e.g.", "2,000",
]
ODD = ["🙂", "\x00", "\u200b", "\u202e", "会谈", "Где", "أين", "\t", "\n", "\r\n", "[/x]", "[bold]", "\\", "'", '"',
       "“", "”", "’", "%s", "{0}", "\ufeff", "e\u0301", "👩\u200d👩\u200d👧", "-", "--", "???", "...", "•", "|",
       "https://example.com/a?b=c", "\x1b[31m", "\u0000\u0001", "\U0010ffff", "\ufffd"]
words = st.sampled_from(VOCAB)
tokens = st.one_of(words, words, st.sampled_from(ODD), st.text(max_size=6))

questions = st.one_of(
    st.text(max_size=300),
    st.lists(tokens, max_size=30).map(" ".join),
    st.lists(words, min_size=1, max_size=12).map(lambda ws: " ".join(ws) + "?"),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1000, max_size=4000),
    st.builds(lambda w, n: (w + " ") * n, words, st.integers(100, 3000)),
)

sentence = st.lists(words, min_size=3, max_size=30).map(lambda ws: " ".join(ws).capitalize() + ".")
furniture = st.sampled_from([
    "Home | News | Sport | Weather", "• Share", "Read more: https://example.com/storm", "21 Sep 2023, 09:55",
    "Advertisement", "", "   ", "Your support helps us to tell the story.", '"We lost everything," said a resident.',
    "Subscribe to our newsletter and never miss a story from us.", "1. Home", "Photo: AFP",
])
line = st.one_of(
    st.lists(sentence, min_size=1, max_size=5).map(" ".join),
    st.lists(sentence, min_size=1, max_size=3).map("".join),  # glued sentences ("end.Start")
    furniture,
    st.text(max_size=120),
    st.lists(tokens, min_size=1, max_size=40).map(" ".join),
)
article = st.builds(
    lambda head, lines, nl: head + nl + nl.join(lines) + nl,
    st.lists(words, min_size=1, max_size=12).map(" ".join),
    st.lists(line, max_size=15),
    st.sampled_from(["\n", "\r\n", "\n\n", "\r"]),
)
texts = st.one_of(article, article, st.text(max_size=1500))


# ---- Engine.ask -------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_texts(tiny) -> dict[str, str]:
    return document_texts(tiny.corpus)


def _ask(engine, texts: dict[str, str], q: str) -> None:
    if not q.strip():  # a blank question is a one-line ValueError, as in the CLI
        with pytest.raises(ValueError, match="^a question is empty$"):
            engine.ask(q)
        FIGURES["generated questions through Engine.ask"] += 1
        return
    answer = engine.ask(q)
    check_offsets(answer, texts)
    assert answer.question == q
    FIGURES["generated questions through Engine.ask"] += 1


@_settings(150)
@given(q=questions)
def test_generated_questions_engine_ask_fast(tiny_engine, tiny_texts, q: str) -> None:
    _ask(tiny_engine, tiny_texts, q)


@pytest.mark.slow
@_settings(3000)
@given(q=questions)
def test_generated_questions_engine_ask_3000(tiny_engine, tiny_texts, q: str) -> None:
    _ask(tiny_engine, tiny_texts, q)


# ---- CLI --------------------------------------------------------------------------------------------------------


def _cli(engine, texts: dict[str, str], q: str, as_json: bool) -> None:
    with mock.patch("retrieval.cli.open_or_build", return_value=engine):
        result = runner.invoke(ask_app, ["--json" if as_json else "--passages", "--", q])
    _check_cli(result, texts, q, as_json)
    FIGURES["generated questions through the CLI (engine patched in)"] += 1


def _check_cli(result, texts: dict[str, str], q: str, as_json: bool) -> None:
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    cleaned = "".join(ch if ch.isprintable() or ch in "\t\n" else " " for ch in q).strip()
    if not cleaned or len(cleaned) > MAX_QUESTION_CHARS:
        assert result.exit_code == 2
        assert len(result.stderr.strip().splitlines()) == 1 and result.stderr.startswith("error: the question")
        return
    assert result.exit_code == 0, result.output
    if as_json:
        obj = json.loads(result.stdout)
        assert obj["question"] == cleaned
        for c in obj["citations"]:
            assert texts[c["doc_id"]][c["start"] : c["end"]] == c["text"]
        for p in obj["passages"]:
            assert texts[p["doc_id"]][p["start"] : p["end"]] == p["text"]
    else:
        assert "Retrieved passages" in result.stdout


@_settings(60)
@given(q=questions, as_json=st.booleans())
def test_generated_questions_cli_fast(tiny_engine, tiny_texts, q: str, as_json: bool) -> None:
    _cli(tiny_engine, tiny_texts, q, as_json)


@pytest.mark.slow
@_settings(500)
@given(q=questions, as_json=st.booleans())
def test_generated_questions_cli_500(tiny_engine, tiny_texts, q: str, as_json: bool) -> None:
    _cli(tiny_engine, tiny_texts, q, as_json)


@pytest.fixture(scope="module")
def cli_index(tiny, tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    link = link_copy(tiny.version, tmp_path_factory.mktemp("generated-cli"))
    return ["--index", str(link), "--corpus", str(tiny.corpus)]


@pytest.mark.slow
@_settings(25)
@given(q=questions)
def test_generated_questions_real_cli_25(cli_index, tiny_texts, q: str) -> None:
    """The whole CLI path (open the index, check the corpus, ask, print JSON) without patching."""
    result = runner.invoke(ask_app, ["--json", *cli_index, "--", q])
    _check_cli(result, tiny_texts, q, True)
    FIGURES["generated questions through the real CLI"] += 1


# ---- ingest and chunking ----------------------------------------------------------------------------------------


def _spans(text: str) -> None:
    title, title_span = guess_title(text)
    if title_span is None:
        assert title == "" and not text.strip()
    else:
        a, b = title_span
        assert 0 <= a < b <= len(text) and text[a:b].strip() == text[a:b]
    spans = find_content_spans(text, title_span)
    last = -1
    for a, b in spans:
        assert last <= a < b <= len(text), spans
        assert text[a:b] == text[a:b].strip()
        last = b
    for a, b in spans:
        sents = split_rough_sentences(text, a, b)
        prev = a
        for s, e in sents:
            assert prev <= s < e <= b and text[s:e] == text[s:e].strip()
            prev = e
    FIGURES["generated texts through guess_title/find_content_spans/split_rough_sentences"] += 1


@_settings(300)
@given(text=texts)
def test_generated_texts_spans_fast(text: str) -> None:
    _spans(text)


@pytest.mark.slow
@_settings(2500)
@given(text=texts)
def test_generated_texts_spans_2500(text: str) -> None:
    _spans(text)


names = st.text(alphabet="abcXYZ019 _-.éü記", min_size=1, max_size=12)
suffixes = st.sampled_from([".txt", ".md", ".jsonl", ".TXT", ".Md", ".pdf", ""])
records = st.lists(
    st.one_of(
        st.fixed_dictionaries({"id": st.one_of(names, st.integers()), "text": texts},
                              optional={"title": st.one_of(st.text(max_size=30), st.none(), st.integers())}),
        st.dictionaries(st.text(max_size=5), st.one_of(st.text(max_size=20), st.integers()), max_size=3),
        st.just("{broken"),
    ),
    max_size=5,
).map(lambda rs: "\n".join(r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in rs))
contents = st.one_of(
    texts.map(lambda t: t.encode("utf-8")),
    texts.map(lambda t: t.encode("utf-16")),
    texts.map(lambda t: t.encode("latin-1", "replace")),
    st.binary(max_size=600),
    records.map(lambda t: t.encode("utf-8")),
    st.just(b""),
)
corpora = st.lists(st.tuples(names, suffixes, contents), min_size=0, max_size=5)


def _write(folder: Path, files: list[tuple[str, str, bytes]]) -> None:
    for i, (name, suffix, data) in enumerate(files):
        sub = folder / ("sub" if i % 3 == 2 else "")
        sub.mkdir(exist_ok=True)
        path = sub / (name.strip(" .") or "x")
        (path.with_name(path.name + suffix)).write_bytes(data)


def _load_and_chunk(files: list[tuple[str, str, bytes]], max_words: int, overlap: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "corpus"
        folder.mkdir()
        _write(folder, files)
        report = IngestReport()
        try:
            docs = load_corpus(folder, report)
        except CorpusError as exc:
            assert "no usable" in str(exc)
            FIGURES["generated corpora through load_corpus + rules chunking"] += 1
            return
        assert report.loaded == len(docs) == len({d.doc_id for d in docs})
        for doc in docs:
            source = folder / doc.source.split("#")[0]
            if not doc.source.endswith(".jsonl") and "#" not in doc.source:
                raw = source.read_bytes().decode("utf-8")
                assert doc.text == (raw.removeprefix("\ufeff"))
            for a, b in doc.content_spans:
                assert 0 <= a < b <= len(doc.text)
        config = ChunkerConfig(splitter="rules", candidates=False, max_words=max_words, overlap_sentences=overlap)
        passages = chunk_documents(docs, annotate_documents(docs, config), config)
        by_id = {d.doc_id: d for d in docs}
        for i, p in enumerate(passages):
            doc = by_id[p.doc_id]
            assert p.passage_id == i
            assert doc.text[p.start : p.end] == p.text and p.text
            assert count_words(p.text) <= max_words
            assert any(a <= p.start and p.end <= b for a, b in doc.content_spans)  # never across furniture
            for s, e in p.sentences:
                assert p.start <= s < e <= p.end
    FIGURES["generated corpora through load_corpus + rules chunking"] += 1


@_settings(200)
@given(files=corpora, max_words=st.integers(10, 200), overlap=st.integers(0, 5))
def test_generated_corpora_ingest_and_chunking_fast(files, max_words: int, overlap: int) -> None:
    _load_and_chunk(files, max_words, overlap)


@pytest.mark.slow
@_settings(4000)
@given(files=corpora, max_words=st.integers(10, 200), overlap=st.integers(0, 5))
def test_generated_corpora_ingest_and_chunking_4000(files, max_words: int, overlap: int) -> None:
    _load_and_chunk(files, max_words, overlap)


# ---- Engine.build -----------------------------------------------------------------------------------------------


def _build(index: Path, files: list[tuple[str, str, bytes]], qs: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "corpus"
        folder.mkdir()
        _write(folder, files)
        previous = index.resolve() if index.is_symlink() else None
        try:
            engine = Engine.build(folder, index, config=rules_config(), encoder=HashEncoder())
        except CorpusError as exc:
            assert "no usable" in str(exc) or "nothing to index" in str(exc)
            assert (index.resolve() if index.is_symlink() else None) == previous  # the old index is kept
            FIGURES["generated corpora through Engine.build (CorpusError, old index kept)"] += 1
            return
        texts = {d.doc_id: d.text for d in load_corpus(folder)}
        assert engine.manifest["counts"]["documents"] == len(texts)
        reopened = Engine.open(index)
        for q in qs:
            if q.strip():
                check_offsets(engine.ask(q), texts)
                check_offsets(reopened.ask(q), texts)
        FIGURES["generated corpora through Engine.build (built)"] += 1


# At least one readable article, so that most generated corpora build; the others may be anything.
buildable = st.builds(
    lambda first, rest: [first, *rest],
    st.tuples(names, st.sampled_from([".txt", ".md"]), article.map(lambda t: t.encode("utf-8"))),
    st.lists(st.tuples(names, st.sampled_from([".txt", ".md", ".jsonl"]), contents), max_size=3),
)


@pytest.fixture(scope="module")
def generated_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("generated-builds") / "index"


@_settings(2)
@given(files=buildable, qs=st.lists(questions, min_size=1, max_size=3))
def test_generated_corpora_engine_build_fast(generated_index: Path, files, qs) -> None:
    _build(generated_index, files, qs)


@pytest.mark.slow
@_settings(15)
@given(files=buildable, qs=st.lists(questions, min_size=1, max_size=3))
def test_generated_corpora_engine_build_15(generated_index: Path, files, qs) -> None:
    _build(generated_index, files, qs)
