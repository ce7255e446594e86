from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from retrieval.cli import admin_app, ask_app

pytestmark = pytest.mark.slow
runner = CliRunner()


@pytest.fixture(scope="module")
def index_args(seeds_engine, seeds_dir: Path) -> list[str]:
    return ["--corpus", str(seeds_dir), "--index", str(seeds_engine.directory.parent / "index")]


def test_ask_prints_answer_and_citation(index_args: list[str]) -> None:
    result = runner.invoke(ask_app, ["where were talks held?", *index_args])
    assert result.exit_code == 0, result.output
    first, *rest = result.output.splitlines()
    assert first.startswith("Yevlakh  (confidence 0.") and "Not sure" not in result.output  # answered, not a guess
    assert rest[0].lstrip().startswith("[1] 001_44ea67f2eb9612b6") and "chars 2054-2061" in result.output


def test_ask_json_shape(index_args: list[str]) -> None:
    result = runner.invoke(ask_app, ["--json", "who is the president of Azerbaijan?", *index_args])
    assert result.exit_code == 0, result.output
    obj = json.loads(result.stdout)
    assert {"answer", "score", "citations", "passages", "timings", "alternatives", "conflicting_values"} <= set(obj)
    assert obj["citations"] and {"doc_id", "title", "start", "end", "text", "passage_id"} <= set(obj["citations"][0])
    p = obj["passages"][0]
    assert {"bm25_score", "bm25_rank", "dense_score", "dense_rank", "fused_score", "rank"} <= set(p)


def test_abstention_json_has_null_answer_and_the_reason(index_args: list[str]) -> None:
    result = runner.invoke(ask_app, ["--json", "who won the 2022 World Cup?", *index_args])
    assert result.exit_code == 0
    obj = json.loads(result.stdout)
    assert obj["answer"] is None and obj["abstain_reason"] == "off_topic"
    answered = json.loads(runner.invoke(ask_app, ["--json", "who is the president of Azerbaijan?", *index_args]).stdout)
    assert answered["answer"] and answered["abstain_reason"] is None


def test_abstention_says_why(index_args: list[str]) -> None:
    off_topic = runner.invoke(ask_app, ["who won the 2022 World Cup?", *index_args])
    assert "does not seem to cover" in off_topic.output and "best guess" not in off_topic.output


def test_low_confidence_shows_the_best_guess_and_its_sentence(capsys: pytest.CaptureFixture[str]) -> None:
    from retrieval.cli import _render_answer
    from retrieval.types import Answer, AnswerValue, Citation

    sentence = "Talks were held on Thursday in the city of Yevlakh."
    cite = Citation("001_a", "Talks", 100 + sentence.index("Yevlakh"), 100 + len(sentence) - 1, "Yevlakh", 3,
                    sentence, 100, 100 + len(sentence))
    guess = AnswerValue("Yevlakh", "yevlakh", 0.21, [cite])
    _render_answer(Answer("where?", None, 0.21, alternatives=[guess], abstain_reason="low_confidence"), False)
    out = capsys.readouterr().out
    assert "Not sure enough to answer" in out and "best guess" in out and "0.21" in out
    assert "Yevlakh" in out and "001_a" in out and "Talks were held" in out
    _render_answer(Answer("where?", None, 0.0, abstain_reason="no_candidate"), False)
    assert "does not answer this question" in capsys.readouterr().out


def test_retrieved_passages_show_doc_ids_as_written(capsys: pytest.CaptureFixture[str]) -> None:
    """A doc id is a file path, which may hold "[...]" that rich would read as markup (or fail on)."""
    from retrieval.cli import _render_answer
    from retrieval.types import Answer, Hit, Passage

    hits = [Hit(Passage(0, doc_id, 0, 20, "Talks were\nheld here."), 1.0, 1, title="t")
            for doc_id in ("a[/b]", "notes [draft]")]
    _render_answer(Answer("where?", None, 0.0, hits=hits, abstain_reason="no_candidate"), True)
    out = capsys.readouterr().out
    assert "a[/b]" in out and "notes [draft]" in out and "Talks were held here." in out


@pytest.mark.parametrize("as_json", [True, False])
def test_a_terminal_that_cannot_show_every_character_still_gets_an_answer(as_json: bool, seeds_engine,
                                                                           seeds_dir: Path) -> None:
    import os
    import subprocess

    env = {**os.environ, "PYTHONIOENCODING": "ascii"}
    args = ["--corpus", str(seeds_dir), "--index", str(seeds_engine.directory.parent / "index")]
    cmd = [sys.executable, "-m", "retrieval", "who is the president of Azerbaijan?", *args, *(["--json"] if as_json else [])]
    result = subprocess.run(cmd, capture_output=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    assert b"Traceback" not in result.stderr
    if as_json:  # escaped, so the JSON stays exact: the passages' curly quotes come back as they are
        obj = json.loads(result.stdout.decode("ascii"))
        texts = [p["text"] for p in obj["passages"]]
        assert texts == [h.passage.text for h in seeds_engine.search("who is the president of Azerbaijan?", k=10)]
        assert any(not t.isascii() for t in texts)
    else:
        assert b"Aliyev" in result.stdout


def test_asking_for_a_missing_reader_is_one_error_line(index_args: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import retrieval.reader

    monkeypatch.setattr(retrieval.reader, "bundled_reader_paths", lambda: None)
    result = runner.invoke(ask_app, ["--answerer", "reader", "where were talks held?", *index_args])
    assert result.exit_code == 1
    assert "--answerer reader: no trained reader is installed" in result.output and "Traceback" not in result.output


def test_a_question_named_like_a_command_is_a_question(index_args: list[str]) -> None:
    result = runner.invoke(ask_app, ["eval", *index_args])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("question", ["", "   ", "\x00\x01"])
def test_empty_question_is_a_clear_error(question: str, index_args: list[str]) -> None:
    result = runner.invoke(ask_app, [question, *index_args])
    assert result.exit_code == 2
    assert "error" in result.output and "Traceback" not in result.output


def test_missing_corpus_is_a_clear_error(tmp_path: Path) -> None:
    result = runner.invoke(ask_app, ["q?", "--corpus", str(tmp_path / "nope"), "--index", str(tmp_path / "i")])
    assert result.exit_code == 1
    assert "does not exist" in result.output


@pytest.mark.parametrize("command", ["ask", "search"])
def test_ask_and_search_turn_corpus_and_index_problems_into_one_error_line(command: str, tmp_path: Path) -> None:
    """Both commands share one translation of what opening an index can raise (cli._engine_errors)."""
    app, args = (ask_app, ["q?"]) if command == "ask" else (admin_app, ["search", "q"])
    missing = runner.invoke(app, [*args, "--corpus", str(tmp_path / "nope"), "--index", str(tmp_path / "i")])
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("Talks on the future of the region were held in Yevlakh on Thursday afternoon.\n")
    not_an_index = tmp_path / "my notes"
    not_an_index.mkdir()
    (not_an_index / "keep.txt").write_text("keep me")
    foreign = runner.invoke(app, [*args, "--corpus", str(corpus), "--index", str(not_an_index)])
    a_file = tmp_path / "notes.txt"
    a_file.write_text("keep me too")
    file_index = runner.invoke(app, [*args, "--corpus", str(corpus), "--index", str(a_file)])
    damaged = tmp_path / "damaged index"  # a space: the repair command must still copy and paste
    assert runner.invoke(admin_app, ["build", "--corpus", str(corpus), "--index", str(damaged)]).exit_code == 0
    (damaged / "passages.jsonl").write_text("garbage\n")
    broken = runner.invoke(app, [*args, "--corpus", str(corpus), "--index", str(damaged)])
    for result, needle in ((missing, "does not exist"), (foreign, "choose another --index"),
                           (file_index, "choose another --index"), (broken, "rebuild with: ask-engine build")):
        assert result.exit_code == 1, result.output
        assert needle in result.output and "Traceback" not in result.output
    # a build would refuse to replace a folder or file that is not an index, so no rebuild is suggested for them
    assert "rebuild with" not in foreign.output and "rebuild with" not in file_index.output
    assert (not_an_index / "keep.txt").read_text() == "keep me" and a_file.read_text() == "keep me too"
    (line,) = [x for x in broken.output.splitlines() if "rebuild with: " in x]
    command = shlex.split(line.split("rebuild with: ")[1])
    assert command == ["ask-engine", "build", "--corpus", str(corpus), "--index", str(damaged)]
    assert runner.invoke(admin_app, command[1:]).exit_code == 0  # and the suggested repair works


def test_admin_info_and_search(index_args: list[str]) -> None:
    result = runner.invoke(admin_app, ["info", *index_args])
    assert result.exit_code == 0, result.output
    assert "all-MiniLM-L6-v2" in result.output
    result = runner.invoke(admin_app, ["search", "Yevlakh", "--json", *index_args])
    assert result.exit_code == 0, result.output
    hits = json.loads(result.stdout)
    assert "Yevlakh" in hits[0]["text"]


def test_ask_can_use_the_heuristic_answerer(index_args: list[str], seeds_engine) -> None:
    import copy
    import dataclasses

    question = "who is the president of Azerbaijan?"
    heuristic = copy.copy(seeds_engine)
    heuristic.search_config = dataclasses.replace(seeds_engine.search_config, answerer="heuristic")
    expected, reader_score = heuristic.ask(question).score, seeds_engine.ask(question).score
    assert expected != pytest.approx(reader_score)  # both say "Ilham Aliyev": the confidence tells them apart
    result = runner.invoke(ask_app, ["--json", "--answerer", "heuristic", question, *index_args])
    assert result.exit_code == 0, result.output
    obj = json.loads(result.stdout)
    assert obj["answer"] == "Ilham Aliyev" and obj["score"] == pytest.approx(expected)
    bad = runner.invoke(ask_app, ["--answerer", "oracle", "who?", *index_args])
    assert bad.exit_code == 2 and "--answerer must be" in bad.output


def test_wrapped_text_is_shown_on_one_line() -> None:
    from retrieval.cli import _flat

    shown = _flat("held on Thursday in the\ncity of Nagorno-\r\nKarabakh")
    assert shown == "held on Thursday in the city of Nagorno-Karabakh"
    assert _flat("no  break here") == "no  break here"


def test_index_alone_means_the_corpus_it_was_built_from(tmp_path: Path) -> None:
    """``--index`` without ``--corpus`` must not check the index against the default corpus (the seeds): that
    rebuilt a user's index from the seeds, over what they had built."""
    corpus = tmp_path / "mine"
    corpus.mkdir()
    (corpus / "ferry.txt").write_text(
        "Harbour ferry resumes service after the storm\n\nThe harbour ferry between Oban and Mull resumed service "
        "on Monday after a three-day suspension caused by the storm, the operator said.\n", encoding="utf-8")
    index = tmp_path / "idx"
    built = runner.invoke(admin_app, ["build", "--corpus", str(corpus), "--index", str(index), "-q"])
    assert built.exit_code == 0, built.output
    manifest = (index / "manifest.json").read_text(encoding="utf-8")

    result = runner.invoke(admin_app, ["search", "ferry storm", "--json", "--index", str(index)])
    assert result.exit_code == 0, result.output
    assert {h["doc_id"] for h in json.loads(result.stdout)} == {"ferry"}
    assert (index / "manifest.json").read_text(encoding="utf-8") == manifest
    (corpus / "tram.txt").write_text(  # the index is checked against its own corpus, and rebuilt from it
        "City tram line opens to passengers\n\nThe new tram line between the station and the university opened to "
        "passengers on Tuesday after four years of building work.\n", encoding="utf-8")
    result = runner.invoke(admin_app, ["search", "tram line university", "--json", "--index", str(index)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[0]["doc_id"] == "tram"
    manifest = (index / "manifest.json").read_text(encoding="utf-8")
    (corpus / "tram.txt").unlink()
    (corpus / "ferry.txt").rename(tmp_path / "ferry.txt")
    corpus.rmdir()
    result = runner.invoke(admin_app, ["search", "tram line university", "--json", "--index", str(index)])
    assert result.exit_code == 0, result.output  # the corpus gone: the index as built, nothing rebuilt
    assert json.loads(result.stdout)[0]["doc_id"] == "tram"
    assert (index / "manifest.json").read_text(encoding="utf-8") == manifest
    info = runner.invoke(admin_app, ["info", "--index", str(index)])
    assert info.exit_code == 0 and "the corpus folder is gone" in info.output
    asked = runner.invoke(ask_app, ["when did the ferry resume service?", "--index", str(index)])
    assert asked.exit_code == 0 and "is gone; using the index as built" in asked.output
    rebuild = runner.invoke(admin_app, ["build", "--index", str(index), "-q"])
    assert rebuild.exit_code == 1 and "name the corpus with --corpus" in rebuild.output
    assert (index / "manifest.json").read_text(encoding="utf-8") == manifest


def test_corpus_and_index_defaults(tmp_path: Path) -> None:
    from retrieval.cli import corpus_and_index, default_corpus, default_index_for

    corpus = tmp_path / "docs"
    assert corpus_and_index(corpus, None) == (corpus, default_index_for(corpus), True)
    assert corpus_and_index(None, None) == (default_corpus(), default_index_for(default_corpus()), True)
    not_built = tmp_path / "not-built"  # no manifest to read the corpus from: the default corpus builds it
    assert corpus_and_index(None, not_built) == (default_corpus(), not_built, True)
    old_format = tmp_path / "old"  # a manifest the engine no longer reads still names its corpus
    old_format.mkdir()
    (old_format / "manifest.json").write_text(json.dumps({"format_version": 0, "corpus": {"path": str(corpus)}}))
    assert corpus_and_index(None, old_format) == (corpus, old_format, False)
    (old_format / "manifest.json").write_text("{}")
    with pytest.raises(typer.Exit):  # names no corpus: an error, not the default corpus
        corpus_and_index(None, old_format)


def _one_error_line(result, code: int, fragment: str) -> None:
    assert result.exit_code == code, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and fragment in lines[0] and "Traceback" not in result.output, result.output


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--answers", "some"], "--answers must be open, gold, both or none"),
        (["--articles", "train"], "--articles must be all, heldout"),
        (["--question-articles", "x"], "--question-articles must be all, heldout"),
        (["--answerer", "oracle"], "--answerer must be"),
    ],
)
def test_eval_rejects_bad_options_before_any_work(args: list[str], fragment: str, index_args: list[str],
                                                  tmp_path: Path) -> None:
    result = runner.invoke(admin_app, ["eval", "eval/seeds_gold.jsonl", *args, *index_args])
    _one_error_line(result, 2, fragment)


def test_eval_of_a_malformed_dataset_is_one_error_line(index_args: list[str], tmp_path: Path) -> None:
    bad = tmp_path / "gold.jsonl"
    bad.write_text('{"id": "q1", "question": "where?", "answers": ["x"], "docs": []}\n{"id": "q2"\n', encoding="utf-8")
    result = runner.invoke(admin_app, ["eval", str(bad), *index_args])
    _one_error_line(result, 2, "gold.jsonl:2: invalid JSON")  # bad input, as any usage mistake
    for name, data in (("latin1.jsonl", '{"id": "q1", "question": "caf\xe9?", "answers": [], "docs": []}\n'.encode("latin-1")),
                       ("utf16.jsonl", '{"id": "q1", "question": "x?", "answers": [], "docs": []}\n'.encode("utf-16"))):
        (tmp_path / name).write_bytes(data)
        _one_error_line(runner.invoke(admin_app, ["eval", str(tmp_path / name), *index_args]), 2, "not UTF-8 text")


def test_eval_checks_its_outputs_and_options_before_any_work(index_args: list[str], tmp_path: Path,
                                                             tmp_path_factory: pytest.TempPathFactory) -> None:
    gold = "eval/seeds_gold.jsonl"
    blocker = tmp_path_factory.mktemp("blocker") / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    cases = [
        (["--out", str(tmp_path)], "is a folder"),
        (["--png", str(tmp_path / "chart.txt")], "give a name ending in .png"),
        (["--out", str(tmp_path / "r.png"), "--png", str(tmp_path / "r.png")], "name the same file"),
        (["--out", str(blocker / "r.json")], "is not a folder"),
        (["--articles", "heldout"], "split SQuAD articles"),
    ]
    for args, fragment in cases:
        _one_error_line(runner.invoke(admin_app, ["eval", gold, *args, *index_args]), 2, fragment)
    assert list(tmp_path.iterdir()) == []


def test_eval_names_gold_documents_the_index_lacks(index_args: list[str], tmp_path: Path) -> None:
    """Forgetting --corpus scored a dataset against the bundled seeds without a word."""
    wrong = tmp_path / "other.jsonl"
    wrong.write_text('\ufeff{"id": "q1", "question": "Who designed the bridge?", "answers": ["Ellison"], '
                     '"docs": ["bridge.md"]}\n', encoding="utf-8")  # a BOM, as editors write it, is fine
    _one_error_line(runner.invoke(admin_app, ["eval", str(wrong), *index_args]), 2, "none of the 1 gold document ids")
    some = tmp_path / "some.jsonl"
    some.write_text('{"id": "q1", "question": "Where were talks held?", "answers": ["Yevlakh"], '
                    '"docs": ["000_962b6d648c5af0e4", "typo"]}\n', encoding="utf-8")
    report = tmp_path / "report.json"
    result = runner.invoke(admin_app, ["eval", str(some), "--answers", "none", "--out", str(report), *index_args])
    assert result.exit_code == 0, result.output
    given = index_args[index_args.index("--index") + 1]
    assert json.loads(report.read_text(encoding="utf-8"))["index"] == given  # the path given, not its version folder
    assert "warning: 1 of 2 gold document ids" in result.output and "'typo'" in result.output


def test_bench_bm25_rejects_empty_or_malformed_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("", encoding="utf-8")
    queries = tmp_path / "queries.jsonl"
    queries.write_text('{"_id": "q1", "text": "dogs"}\n', encoding="utf-8")
    no_id = tmp_path / "no_id.jsonl"
    no_id.write_text('{"text": "cats"}\n', encoding="utf-8")
    _one_error_line(runner.invoke(admin_app, ["bench-bm25", "--corpus", str(empty), "--queries", str(queries)]), 2,
                    "no records")
    _one_error_line(runner.invoke(admin_app, ["bench-bm25", "--corpus", str(no_id), "--queries", str(queries)]), 2,
                    "no_id.jsonl:1: expected a JSON object with '_id'")


def test_build_and_search_reject_unknown_kinds(index_args: list[str]) -> None:
    _one_error_line(runner.invoke(admin_app, ["build", "--index-type", "annoy", *index_args]), 2, "index_type must be")
    _one_error_line(runner.invoke(admin_app, ["search", "talks", "--fusion", "x", *index_args]), 2,
                    "--fusion must be rrf or convex")


def test_an_index_path_under_a_file_is_one_error_line(seeds_dir: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    result = runner.invoke(ask_app, ["where were talks held?", "--corpus", str(seeds_dir), "--index",
                                     str(blocker / "idx")])
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert errors == [f"error: cannot read or write {blocker}: File exists"]  # after the "first run" note
    assert blocker.read_text(encoding="utf-8") == "not a folder"


def test_the_build_summary_counts_files_and_jsonl_records_apart() -> None:
    from retrieval.cli import _skipped_summary

    assert _skipped_summary(["a.bin", "notes.txt"]) == "2 file(s)"
    assert _skipped_summary(["docs.jsonl:3", "docs.jsonl:9"]) == "2 JSONL record(s)"
    assert _skipped_summary(["a.bin", "docs.jsonl:3"]) == "1 file(s) and 1 JSONL record(s)"


def test_bench_checks_its_results_folder_before_the_run(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    for out in (blocker, blocker / "results"):
        result = runner.invoke(admin_app, ["bench", "--smoke", "--quiet", "--out", str(out)])
        _one_error_line(result, 2, f"{blocker} is not a folder")
    assert blocker.read_text(encoding="utf-8") == "not a folder"


def test_bench_bm25_prints_json_on_request(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(json.dumps({"_id": str(i), "text": t}) + "\n"
                              for i, t in enumerate(["cats and dogs", "dogs", "birds"])), encoding="utf-8")
    queries = tmp_path / "queries.jsonl"
    queries.write_text('{"_id": "q1", "text": "dogs"}\n', encoding="utf-8")
    result = runner.invoke(admin_app, ["bench-bm25", "--corpus", str(corpus), "--queries", str(queries), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["num_docs"] == 3 and report["top10_agreement"] == 1.0 and "cpu" in report["machine"]
    plain = runner.invoke(admin_app, ["bench-bm25", "--corpus", str(corpus), "--queries", str(queries)])
    assert "num_docs" in plain.output and "{" not in plain.output  # no dict reprs
