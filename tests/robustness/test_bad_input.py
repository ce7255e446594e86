"""Bad input: questions and corpus files of every awkward kind, each with its documented outcome.

Questions go through the CLI (exit code and one-line message, or an answer with valid offsets) and straight to
Engine.ask (which must answer or abstain, never raise). Corpus files go through load_corpus (the IngestReport
reasons), Engine.build (the manifest's build summary) and the CLI (the printed summary, exit codes).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from _support import (
    ARTICLES,
    FIGURES,
    OUTCOMES,
    HashEncoder,
    check_offsets,
    document_texts,
    link_copy,
    rules_config,
)
from typer.testing import CliRunner

from retrieval.cli import admin_app, ask_app
from retrieval.engine import Engine
from retrieval.ingest import CorpusError, IngestReport, load_corpus
from retrieval.store import IndexError_

runner = CliRunner()


@pytest.fixture(scope="module")
def index_args(tiny, tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    link = link_copy(tiny.version, tmp_path_factory.mktemp("bad-input"))
    return ["--index", str(link), "--corpus", str(tiny.corpus)]


# ---- questions --------------------------------------------------------------------------------------------------

# name: (argv before the index options, expected exit code, text expected on the one error line)
QUESTIONS = {
    "empty": ([""], 2, "the question is empty"),
    "whitespace only": ([" \t\n  \r\n"], 2, "the question is empty"),
    "control characters only": (["\x00\x01\x07\x1b\x7f"], 2, "the question is empty"),
    "invisible format characters only": (["\u200b\u200d\u2060\ufeff\u202e"], 2, "the question is empty"),
    "2,001 characters": (["a" * 2001], 2, "longer than 2000 characters"),
    "1 MB": (["where were talks held? " * 45_600], 2, "longer than 2000 characters"),
    "control characters inside": (["where were\x00 talks\x07 held?\x08"], 0, None),
    "ANSI escape sequences": (["\x1b[31mwhere were talks held?\x1b[0m"], 0, None),
    "rich markup and brackets": (["[bold]where[/bold] were talks held? [/oops] [link=x]"], 0, None),
    "Cyrillic": (["Где проходили переговоры?"], 0, None),
    "Chinese": (["会谈在哪里举行？"], 0, None),
    "Arabic, right to left": (["أين عقدت المحادثات؟"], 0, None),
    "Devanagari": (["बातचीत कहाँ हुई?"], 0, None),
    "emoji with modifiers and ZWJ": (["🙂🕊️ where were talks held? 👍🏽 👩‍👩‍👧"], 0, None),
    "emoji only": (["🙂🙂🙂"], 0, None),
    "combining marks": (["wh\u0337e\u0337r\u0337e were talks held?"], 0, None),
    "undecodable argv bytes (surrogate escapes)": (["where were talks held?\udcff\udcfe"], 0, None),
    "a question named like a command": (["build"], 0, None),
    "starts with a dash, after --": (["--", "-5 peacekeepers?"], 0, None),
    "starts with a dash, no --": (["-5 peacekeepers?"], 2, "No such option"),
    "--k 0": (["--k", "0", "where?"], 2, "Invalid value"),
    "--k 101": (["--k", "101", "where?"], 2, "Invalid value"),
}


@pytest.mark.parametrize("case", list(QUESTIONS))
def test_questions_through_the_cli(case: str, index_args: list[str], tiny) -> None:
    argv, code, message = QUESTIONS[case]
    args = [*index_args, *argv] if argv[0] == "--" else [*argv, *index_args]
    result = runner.invoke(ask_app, args)
    assert result.exit_code == code, (case, result.output[-2000:])
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    if code == 0:
        assert result.stderr == ""
        json_args = ["--json", *args] if argv[0] != "--" else ["--json", *index_args, *argv]
        out = runner.invoke(ask_app, json_args)
        assert out.exit_code == 0, out.output
        check_json_offsets(json.loads(out.stdout), document_texts(tiny.corpus))
        OUTCOMES[f"question: {case}"] = "answered or abstained, exit 0"
    else:
        assert message in result.stderr, result.stderr
        if message.startswith(("the question", "longer")):
            assert len(result.stderr.strip().splitlines()) == 1 and result.stderr.startswith("error:")
        OUTCOMES[f"question: {case}"] = f"exit {code}: {message}"
    FIGURES["bad questions tried (CLI)"] += 1


def check_json_offsets(obj: dict, texts: dict[str, str]) -> None:
    for c in obj["citations"] + [c for a in obj["alternatives"] for c in a["citations"]]:
        text = texts[c["doc_id"]]
        assert text[c["start"] : c["end"]] == c["text"]
        assert text[c["sentence_start"] : c["sentence_end"]] == c["sentence"]
    for p in obj["passages"]:
        assert texts[p["doc_id"]][p["start"] : p["end"]] == p["text"]


BLANK_QUESTIONS = {"empty": "", "whitespace": " \t\n" * 100}
ENGINE_QUESTIONS = {
    "NUL characters": "\x00" * 1000,
    "all C0 controls": "".join(map(chr, range(32))) * 10,
    "1 MB of one letter": "x" * 1_000_000,
    "1 MB of words": "where were talks held? " * 45_600,
    "1 MB of emoji": "🙂" * 250_000,
    "100k combining marks": "e" + "\u0301" * 100_000,
    "mixed scripts": "Где 会谈 أين बातचीत where 🙂 were talks held?",
    "only punctuation": "?!?.,;:" * 50,
    "private use and noncharacters": "\ue000\uf8ff\ufffe\uffff\U000f0000",
    "bidi overrides": "\u202ewhere were talks held?\u202c",
}


@pytest.mark.parametrize("case", list(ENGINE_QUESTIONS))
def test_questions_through_engine_ask(case: str, tiny_engine, tiny) -> None:
    t0 = time.perf_counter()
    answer = tiny_engine.ask(ENGINE_QUESTIONS[case])
    elapsed = time.perf_counter() - t0
    check_offsets(answer, document_texts(tiny.corpus))
    assert elapsed < 60
    OUTCOMES[f"Engine.ask: {case}"] = f"{'answered' if answer.text else 'abstained'} in {elapsed:.2f} s"
    FIGURES["bad questions tried (Engine.ask)"] += 1


@pytest.mark.parametrize("case", list(BLANK_QUESTIONS))
def test_blank_questions_through_engine_are_a_one_line_value_error(case: str, tiny_engine) -> None:
    """A blank question matches arbitrary passages with confident-looking scores: an error, as in the CLI."""
    for call in (tiny_engine.ask, tiny_engine.search):
        with pytest.raises(ValueError, match="^a question is empty$"):
            call(BLANK_QUESTIONS[case])
    OUTCOMES[f"Engine.ask: {case}"] = "ValueError: a question is empty"
    FIGURES["bad questions tried (Engine.ask)"] += 1


def test_lone_surrogate_question_through_engine_ask(tiny_engine) -> None:
    """Lone surrogates are replaced before the tokenizers see them, in the Python API as in the CLI."""
    answer = tiny_engine.ask("where were talks held?\ud800")
    assert answer.question.endswith("?")
    assert tiny_engine.search("talks \udcff held", k=3)


# ---- corpus files -----------------------------------------------------------------------------------------------

GOOD = ARTICLES["talks.txt"]
SKIPPED = {
    "latin1.txt": "not UTF-8 text",
    "utf16.txt": "not UTF-8 text",
    "random-binary.txt": "not UTF-8 text",
    "image.md": "not UTF-8 text",
    "[/oops] [bold]name.txt": "not UTF-8 text",
    "empty.txt": "empty file",
    "blank.md": "empty file",
    "punctuation.txt": "empty file",
    "story.txt": "duplicate document id 'story'",
    "huge.txt": "larger than 50 MB",
    "link-out.txt": "links outside the corpus folder",
    "linkdir-out.txt": "links outside the corpus folder",
    "broken-link.txt": "broken link",
    "loop-link.txt": "broken link",
    "zrecords.jsonl:2": "not valid JSON",
    "zrecords.jsonl:3": "needs 'id' and a string 'text'",
    "zrecords.jsonl:4": "needs 'id' and a string 'text'",
    "zrecords.jsonl:5": "empty text",
    "zrecords.jsonl:6": "duplicate or empty document id 'rec-1'",
    "zrecords.jsonl:7": "not valid Unicode (lone surrogate escape)",
    "zrecords.jsonl:8": "duplicate or empty document id 'story'",
    "zrecords.jsonl:9": "duplicate or empty document id ''",
}
LOADED = {"good", "story", "bom", "crlf", "link-in", "Ünïcödé 記事", "sub/deep/nested", "rec-1", "rec-2"}


def make_bad_corpus(root: Path) -> Path:
    corpus = root / "corpus"
    corpus.mkdir(parents=True)
    outside = root / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("A secret outside headline with many words\nZanzibarquux secret body text.\n")
    (corpus / "good.txt").write_text(GOOD, encoding="utf-8")
    (corpus / "story.md").write_text(ARTICLES["storm.md"], encoding="utf-8")
    (corpus / "story.txt").write_text(ARTICLES["peacekeepers.txt"], encoding="utf-8")  # same id "story"
    (corpus / "bom.txt").write_bytes(b"\xef\xbb\xbf" + ARTICLES["peacekeepers.txt"].encode())
    (corpus / "crlf.txt").write_bytes(GOOD.replace("\n", "\r\n").encode())
    (corpus / "Ünïcödé 記事.txt").write_text("Заголовок статьи о переговорах в Евлахе сегодня\nТекст статьи. 会谈在耶夫拉赫举行。\n")
    (corpus / "sub" / "deep").mkdir(parents=True)
    (corpus / "sub" / "deep" / "nested.txt").write_text(ARTICLES["storm.md"])
    (corpus / "latin1.txt").write_bytes("Caf\xe9 ol\xe9 na\xefve r\xe9sum\xe9 \xff".encode("latin-1"))
    (corpus / "utf16.txt").write_text(GOOD, encoding="utf-16")
    (corpus / "random-binary.txt").write_bytes(os.urandom(4096) + b"\x00")
    (corpus / "image.md").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + os.urandom(64))
    (corpus / "[").mkdir()  # a folder "[" holding "oops] [bold]name.txt": printed as "[/oops] [bold]name.txt"
    (corpus / "[" / "oops] [bold]name.txt").write_bytes(b"\xff\xfe\x00binary")
    (corpus / "empty.txt").write_bytes(b"")
    (corpus / "blank.md").write_text("   \n\t\n\r\n")
    (corpus / "punctuation.txt").write_text("!!! --- ??? ... *** ###\n")
    with open(corpus / "huge.txt", "wb") as fh:  # sparse: 51 MB on paper, nothing on disk
        fh.truncate(51 * 1024 * 1024)
    (corpus / "link-out.txt").symlink_to(outside / "secret.txt")
    (corpus / "linkdir-out.txt").symlink_to(outside, target_is_directory=True)
    (corpus / "linked-folder").symlink_to(outside, target_is_directory=True)  # folders behind links: not followed
    (corpus / "link-in.txt").symlink_to(corpus / "good.txt")
    (corpus / "broken-link.txt").symlink_to(root / "nowhere.txt")
    (corpus / "loop-link.txt").symlink_to(corpus / "loop-link.txt")
    (corpus / ".hidden.txt").write_text(GOOD)
    (corpus / ".git").mkdir()
    (corpus / ".git" / "notes.txt").write_text(GOOD)
    (corpus / "notes.pdf").write_bytes(b"%PDF-1.4 binary")
    (corpus / "folder.txt").mkdir()
    os.mkfifo(corpus / "pipe.txt")  # reading it would block forever: it is not a regular file, so never opened
    records = [
        json.dumps({"id": "rec-1", "title": "A record", "text": ARTICLES["talks.txt"]}),
        "{not json",
        json.dumps({"text": "no id here"}),
        json.dumps({"id": "x", "text": 42}),
        json.dumps({"id": "blank", "text": "   "}),
        json.dumps({"id": "rec-1", "text": "a duplicate id"}),
        '{"id": "sur", "text": "lone \\ud800 surrogate in a JSON escape"}',
        json.dumps({"id": "story", "text": "an id that a file already has"}),
        json.dumps({"id": "  ", "text": "an empty id"}),
        json.dumps({"id": "rec-2", "text": ARTICLES["storm.md"]}),
    ]
    (corpus / "zrecords.jsonl").write_text("\n".join(records) + "\n\n")
    return corpus


def test_every_bad_corpus_file_is_skipped_with_its_reason(tmp_path: Path) -> None:
    corpus = make_bad_corpus(tmp_path)
    report = IngestReport()
    docs = load_corpus(corpus, report)
    assert {d.doc_id for d in docs} == LOADED
    reasons = dict(report.skipped)
    assert reasons == SKIPPED
    assert report.loaded == len(LOADED)
    by_id = {d.doc_id: d for d in docs}
    assert by_id["crlf"].text == GOOD.replace("\n", "\r\n")  # original text, line ends kept: offsets stay exact
    assert not by_id["bom"].text.startswith("\ufeff")
    assert "Zanzibarquux" not in " ".join(d.text for d in docs)
    for name, why in SKIPPED.items():
        OUTCOMES[f"corpus: {name}"] = f"skipped with a warning: {why}"
    for doc_id in sorted(LOADED):
        OUTCOMES.setdefault(f"corpus: {doc_id} (loaded)", "loaded")
    OUTCOMES["corpus: hidden files, .git, unsupported suffixes, folders, FIFOs"] = "ignored (not counted)"
    OUTCOMES["corpus: links to folders"] = "not followed"
    FIGURES["bad corpus files tried"] += len(SKIPPED) + 7


def test_the_build_summary_counts_the_skipped_files(tmp_path: Path) -> None:
    corpus = make_bad_corpus(tmp_path)
    engine = Engine.build(corpus, tmp_path / "idx" / "index", config=rules_config(), encoder=HashEncoder())
    summary = {s["file"]: s["reason"] for s in engine.manifest["corpus"]["skipped"]}
    assert summary == SKIPPED
    assert engine.manifest["counts"]["documents"] == len(LOADED)
    texts = {d.doc_id: d.text for d in load_corpus(corpus)}
    for q in ("where were talks held?", "Zanzibarquux", "会谈"):
        check_offsets(engine.ask(q), texts)
        assert all(h.passage.doc_id in LOADED for h in engine.ask(q).hits)


@pytest.mark.slow
def test_the_cli_build_prints_the_summary(tmp_path: Path) -> None:
    corpus = make_bad_corpus(tmp_path)
    result = runner.invoke(admin_app, ["build", "--corpus", str(corpus), "--index", str(tmp_path / "idx")])
    assert result.exit_code == 0, result.output
    assert f"skipped {len(SKIPPED)} file(s)" in result.stderr
    for name, why in SKIPPED.items():
        assert f"skipped {name}: {why}" in result.stderr, name  # file names printed as they are, not as markup


def _ask_corpus(corpus: Path, index: Path, *extra: str):
    return runner.invoke(ask_app, ["where were talks held?", "--corpus", str(corpus), "--index", str(index), *extra])


def _one_error_line(result, code: int, needle: str) -> None:
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) >= 1 and lines[-1].startswith("error:") and needle in lines[-1], result.stderr


def test_whole_corpus_errors(tmp_path: Path) -> None:
    cases = {}
    _one_error_line(_ask_corpus(tmp_path / "missing", tmp_path / "i1"), 1, "corpus path does not exist")
    cases["missing corpus path"] = "exit 1: corpus path does not exist"
    (tmp_path / "empty").mkdir()
    _one_error_line(_ask_corpus(tmp_path / "empty", tmp_path / "i2"), 1, "no usable .txt, .md or .jsonl documents")
    cases["empty folder"] = "exit 1: no usable .txt, .md or .jsonl documents"
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "a.txt").write_bytes(b"\x00\x01")
    (bad / "b.pdf").write_bytes(b"%PDF")
    (bad / "c.md").write_text("  ")
    _one_error_line(_ask_corpus(bad, tmp_path / "i3"), 1, "no usable")
    cases["only unreadable or unsupported files"] = "exit 1: no usable ... documents (skipped files listed first)"
    _one_error_line(_ask_corpus(bad / "a.txt", tmp_path / "i4"), 1, "no usable")
    cases["a single binary file as corpus"] = "exit 1: no usable ... documents"
    furniture = tmp_path / "furniture"
    furniture.mkdir()
    (furniture / "r.jsonl").write_text(json.dumps({"id": "a", "title": "Menu", "text": "Home | News"}) + "\n")
    _one_error_line(_ask_corpus(furniture, tmp_path / "i5", "--quiet"), 1, "nothing to index")
    cases["documents with no sentence of content"] = "exit 1: nothing to index"
    with pytest.raises(CorpusError, match="nothing to index"):
        Engine.build(furniture, tmp_path / "i6", config=rules_config(), encoder=HashEncoder())
    for name, outcome in cases.items():
        OUTCOMES[f"corpus: {name}"] = outcome
    FIGURES["whole-corpus errors tried"] += len(cases)


def test_an_index_path_that_is_not_an_index_is_never_overwritten(tmp_path: Path, tiny) -> None:
    folder = tmp_path / "my-documents"
    folder.mkdir()
    (folder / "thesis.txt").write_text("years of work")
    file = tmp_path / "notes.txt"
    file.write_text("keep me")
    for target in (folder, file):
        result = _ask_corpus(tiny.corpus, target)
        _one_error_line(result, 1, "choose another --index")  # no rebuild advice: a build would refuse it
        assert "rebuild with" not in result.output
        result = runner.invoke(admin_app, ["build", "--corpus", str(tiny.corpus), "--index", str(target)])
        _one_error_line(result, 1, "is not an ask-engine index")
        with pytest.raises(IndexError_, match="is not an ask-engine index"):
            Engine.build(tiny.corpus, target, config=rules_config(), encoder=HashEncoder())
    assert (folder / "thesis.txt").read_text() == "years of work" and sorted(os.listdir(folder)) == ["thesis.txt"]
    assert file.read_text() == "keep me"
    assert not list(tmp_path.glob(".*.v-*"))
    OUTCOMES["--index: an existing folder or file that is not an index"] = (
        "ask: exit 1 (manifest.json is missing; choose another --index); build: exit 1 (is not an ask-engine index); "
        "untouched"
    )


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\x85"])
def test_line_and_paragraph_separators_inside_the_text_keep_the_index_readable(separator: str, tmp_path: Path) -> None:
    """They are line breaks to str.splitlines() but not to JSON lines: the passages file must still read back, and a
    JSONL record holding one raw is still one record."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    sentence = f"The committee met on Tuesday to discuss the budget.{separator}Members agreed to raise spending on schools."
    (corpus / "a.txt").write_text(f"Budget talks in the capital\n\n{sentence}\n", encoding="utf-8")
    record = {"id": "rec", "title": "Schools", "text": f"Teachers asked for more money for schools this year.{separator}"
                                                          "The ministry said it would study the request carefully."}
    (corpus / "b.jsonl").write_text(json.dumps(record, ensure_ascii=False) + "\n", encoding="utf-8")
    engine = Engine.build(corpus, tmp_path / "idx" / "index", config=rules_config(), encoder=HashEncoder())
    assert engine.manifest["corpus"]["skipped"] == []
    texts = {d.doc_id: d.text for d in load_corpus(corpus)}
    assert set(texts) == {"a", "rec"}
    assert any(separator in p.text for p in engine.passages)
    for p in engine.passages:
        assert texts[p.doc_id][p.start : p.end] == p.text
    assert len(Engine.open(tmp_path / "idx" / "index").passages) == len(engine.passages)
