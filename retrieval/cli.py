"""Command line: ``ask QUESTION`` answers; ``ask-engine COMMAND`` manages indexes, evaluation and benchmarks.

Two console scripts keep questions and commands apart: any text, "eval" or "build" included, is a question to
``ask``. Errors print one red line and exit non-zero (1: index or corpus problem, 2: bad input).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shlex
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

if TYPE_CHECKING:
    from retrieval.engine import BuildConfig, Engine
    from retrieval.types import Answer, Citation

__all__ = [
    "admin_app", "admin_main", "ask_app", "ask_main", "corpus_and_index", "default_corpus", "default_index_for",
    "recorded_corpus",
]

REPO_ROOT = Path(__file__).resolve().parents[1]
MAX_QUESTION_CHARS = 2000

ask_app = typer.Typer(add_completion=False, help="Answer a question from your articles, with citations.")
admin_app = typer.Typer(add_completion=False, no_args_is_help=True, help="Build, inspect, evaluate and benchmark ask-engine indexes.")


def default_corpus() -> Path:
    env = os.environ.get("ASK_CORPUS")
    return Path(env) if env else REPO_ROOT / "seeds"


def default_index_for(corpus: Path) -> Path:
    """``index/<corpus name>-<hash of its absolute path>`` under the repo (or $ASK_INDEX_ROOT)."""
    root = Path(os.environ.get("ASK_INDEX_ROOT", REPO_ROOT / "index"))
    digest = hashlib.sha1(str(corpus.resolve()).encode()).hexdigest()[:8]
    return root / f"{corpus.resolve().name or 'corpus'}-{digest}"


def _console(stderr: bool = False):  # noqa: ANN202 - rich imported lazily
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=False)


def _fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``error: message`` as one line on stderr (never wrapped, never read as markup) and exit ``code``."""
    from rich.markup import escape

    message = " ".join(str(message).split())
    _console(stderr=True).print(f"[bold red]error:[/] {escape(message)}", markup=True, highlight=False, soft_wrap=True)
    return typer.Exit(code)


def _os_error(exc: OSError, where: Path) -> typer.Exit:
    return _fail(f"cannot read or write {exc.filename or where}: {exc.strerror or exc}")


def _index_error_line(exc: Exception, corpus: Path, index: Path) -> str:
    """The error, with the command that repairs the index; none for an index a newer ask-engine wrote (a rebuild
    would overwrite it: the fix is an upgrade)."""
    from retrieval.store import IndexTooNew

    if isinstance(exc, IndexTooNew):
        return str(exc)
    from retrieval.store import IndexError_, check_index_target

    try:
        check_index_target(index)
    except IndexError_:  # a file, or a folder of something else: a build would refuse it, so suggest none
        return f"{exc}; {index} holds something other than an ask-engine index: choose another --index"
    return f"{exc}; rebuild with: ask-engine build --corpus {shlex.quote(str(corpus))} --index {shlex.quote(str(index))}"


@contextlib.contextmanager
def _engine_errors(corpus: Path, index: Path) -> Iterator[None]:
    """Turn what opening, building or querying an index can raise into one error line and exit code 1."""
    from retrieval.ingest import CorpusError
    from retrieval.reader import ReaderMissing
    from retrieval.store import IndexError_

    try:
        yield
    except IndexError_ as exc:
        raise _fail(_index_error_line(exc, corpus, index)) from None
    except ReaderMissing as exc:
        raise _fail(f"--answerer reader: {exc}") from None
    except CorpusError as exc:
        raise _fail(str(exc)) from None
    except OSError as exc:
        raise _os_error(exc, index) from None


@contextlib.contextmanager
def _progress_factory(quiet: bool) -> Iterator[Callable[[str, int], Callable[[int], None]]]:
    """Rich progress bars on stderr for long builds; silent when ``quiet``."""
    if quiet:
        yield lambda _label, _total: (lambda _n: None)
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=_console(stderr=True), transient=False,
    ) as progress:

        def factory(label: str, total: int) -> Callable[[int], None]:
            task = progress.add_task(label, total=max(total, 1))
            return lambda n: progress.advance(task, n)

        yield factory


def _build(corpus: Path, index: Path, quiet: bool, reason: str, config: BuildConfig | None = None) -> Engine:
    from rich.markup import escape

    from retrieval.engine import Engine
    from retrieval.ingest import IngestReport

    err = _console(stderr=True)
    if not quiet:
        err.print(escape(f"{reason}: building the index for {corpus} in {index}"), soft_wrap=True)
    report = IngestReport()
    with _progress_factory(quiet) as progress:
        engine = Engine.build(corpus, index, config=config, progress=progress, report=report)  # type: ignore[arg-type]
    if not quiet:
        counts = engine.manifest["counts"]
        err.print(
            f"indexed {counts['documents']} documents, {counts['passages']} passages"
            + (f"; skipped {_skipped_summary([name for name, _why in report.skipped])}" if report.skipped else "")
        )
        for name, why in report.skipped:
            err.print(f"  [yellow]skipped[/] {escape(name)}: {escape(why)}", soft_wrap=True)
    return engine


def _skipped_summary(names: list[str]) -> str:
    """ "2 file(s) and 7 JSONL record(s)": a JSONL line is reported as ``file.jsonl:LINE``."""
    records = sum(bool(re.search(r"\.jsonl:\d+$", n, re.IGNORECASE)) for n in names)
    parts = [f"{len(names) - records} file(s)"] if len(names) > records else []
    return " and ".join([*parts, *([f"{records} JSONL record(s)"] if records else [])])


def recorded_corpus(index: Path) -> Path | None:
    """The corpus folder ``index`` was built from, as its manifest records it; None when it records none.

    Read leniently (the path alone, no format check): an index of an older format must still name its own corpus,
    or the rebuild it needs would come from the default one."""
    from retrieval.store import MANIFEST

    try:
        recorded = json.loads((index / MANIFEST).read_text(encoding="utf-8")).get("corpus")
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, AttributeError):
        return None
    path = recorded.get("path") if isinstance(recorded, dict) else None
    return Path(path) if isinstance(path, str) and path else None


def corpus_and_index(corpus: Path | None, index: Path | None) -> tuple[Path, Path, bool]:
    """The corpus and index a command works on, and whether to check the index against that corpus.

    ``--index`` alone names an index built from some corpus: the one its manifest records, not the default one
    (checking it against the seeds would rebuild it from them, over what the user built). When that folder is gone,
    the index is used as built, unchecked; a manifest that names no folder is an error, not a guess.
    """
    from retrieval.store import MANIFEST

    if corpus is None and index is not None and (index / MANIFEST).exists():
        recorded = recorded_corpus(index)
        if recorded is None:
            raise _fail(f"{index} does not say which corpus it was built from; name it with --corpus")
        return recorded, index, recorded.exists()
    corpus = corpus or default_corpus()
    return corpus, index or default_index_for(corpus), True


def open_or_build(corpus: Path, index: Path, quiet: bool = False, check_corpus: bool = True) -> Engine:
    """Open ``index``; build it when missing, rebuild it (with a message) when the corpus changed.

    ``check_corpus`` False: use the index as built (its corpus is gone; said once on stderr unless ``quiet``)."""
    from rich.markup import escape

    from retrieval.engine import Engine
    from retrieval.store import IndexIncompatible, IndexMissing

    try:
        engine = Engine.open(index)
    except IndexMissing:
        return _build(corpus, index, quiet, "first run")
    except IndexIncompatible as exc:
        return _build(corpus, index, quiet, f"{exc}; rebuilding")
    if not check_corpus:
        if not quiet:
            _console(stderr=True).print(
                escape(f"note: {corpus}, which {index} was built from, is gone; using the index as built"),
                soft_wrap=True)
        return engine
    reason = engine.rebuild_reason(corpus)
    return _build(corpus, index, quiet, reason) if reason else engine


def _check_answerer(answerer: str) -> None:
    """Reject a bad --answerer before any slow work (the engine's own SearchConfig check comes later)."""
    from retrieval.engine import ANSWERERS

    if answerer not in ANSWERERS:
        raise _fail(f"--answerer must be {', '.join(ANSWERERS[:-1])} or {ANSWERERS[-1]}", 2)


def _validate_question(question: str) -> str:
    cleaned = "".join(ch if ch.isprintable() or ch in "\t\n" else " " for ch in question).strip()
    if not cleaned:
        raise _fail("the question is empty", 2)
    if len(cleaned) > MAX_QUESTION_CHARS:
        raise _fail(f"the question is longer than {MAX_QUESTION_CHARS} characters", 2)
    return cleaned


_ABSTAIN_HEADLINES = {
    "off_topic": "The corpus does not seem to cover this question (no passage is close to it).",
    "low_confidence": "Not sure enough to answer.",
    "no_candidate": "The corpus does not answer this question.",
}


def _flat(text: str) -> str:
    """``text`` shown on one line (a hard-wrapped article's); --json keeps the exact text."""
    from retrieval.ingest import one_line

    return one_line(text)


def _print_citations(out: Any, citations: Sequence[Citation]) -> None:
    from rich.markup import escape

    for i, c in enumerate(citations, start=1):
        out.print(f"  [{i}] [cyan]{escape(c.doc_id)}[/]  {escape(c.title)}  chars {c.start}-{c.end}")
        a, b = c.start - c.sentence_start, c.end - c.sentence_start
        s = c.sentence
        out.print(f"      {escape(_flat(s[:a]))}[bold reverse]{escape(_flat(s[a:b]))}[/]{escape(_flat(s[b:]))}")


def _render_answer(answer: Answer, show_passages: bool) -> None:
    from rich.markup import escape

    out = _console()
    if answer.text is None:
        out.print(f"[bold yellow]{_ABSTAIN_HEADLINES[answer.abstain_reason or 'no_candidate']}[/]")
        if answer.alternatives and answer.abstain_reason == "low_confidence":
            best = answer.alternatives[0]
            out.print(f"[dim]best guess[/] {escape(_flat(best.text))!s}  [dim](confidence {best.score:.2f}, below what "
                      "the engine needs to answer)[/]")
            _print_citations(out, best.citations[:1])
        out.print("Closest passages:")
        for hit in answer.hits[:3]:
            snippet = hit.passage.text if len(hit.passage.text) < 300 else hit.passage.text[:297] + "..."
            out.print(f"  [cyan]{escape(hit.passage.doc_id)}[/] [{hit.passage.start}:{hit.passage.end}] {escape(_flat(snippet))}")
    else:
        out.print(f"[bold green]{escape(_flat(answer.text))}[/]  [dim](confidence {answer.score:.2f})[/]")
        _print_citations(out, answer.citations)
        if answer.conflicts:
            out.print("[yellow]Sources disagree; other figures given:[/]")
            for v in answer.conflicts:
                docs = ", ".join(sorted({c.doc_id for c in v.citations}))
                out.print(f"  {escape(_flat(v.text))} [dim](confidence {v.score:.2f}; {escape(docs)})[/]")
    if show_passages:
        from rich.table import Table

        table = Table(title="Retrieved passages")
        for col in ("rank", "doc", "span", "fused", "bm25 (rank)", "dense (rank)", "text"):
            table.add_column(col)
        for h in answer.hits:
            bm = f"{h.bm25_score:.2f} ({h.bm25_rank})" if h.bm25_score is not None else "-"
            de = f"{h.dense_score:.3f} ({h.dense_rank})" if h.dense_score is not None else "-"
            table.add_row(str(h.rank), escape(h.passage.doc_id), f"{h.passage.start}-{h.passage.end}",
                          f"{h.score:.4f}", bm, de, escape(_flat(h.passage.text[:120])))
        out.print(table)
    t = answer.timings
    if t:
        out.print(f"[dim]{t.get('total_ms', 0):.1f} ms[/]")


CorpusOpt = Annotated[Optional[Path], typer.Option("--corpus", help="Corpus folder (default: the bundled seeds, or $ASK_CORPUS).")]
IndexOpt = Annotated[Optional[Path], typer.Option("--index", help="Index folder (default: index/<corpus>-<hash>).")]


@ask_app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The question, in quotes.")],
    k: Annotated[int, typer.Option("--k", min=1, max=100, help="Passages to retrieve (the reader reads the best 6 of them).")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    passages: Annotated[bool, typer.Option("--passages", help="Also show the retrieved passages and their scores.")] = False,
    corpus: CorpusOpt = None,
    index: IndexOpt = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No build messages or progress bars.")] = False,
    answerer: Annotated[str, typer.Option(help="auto (the trained reader when installed), reader or heuristic.")] = "auto",
) -> None:
    """Answer QUESTION from the corpus, citing article, character span and sentence."""
    import dataclasses

    question = _validate_question(question)
    _check_answerer(answerer)
    corpus, index, check = corpus_and_index(corpus, index)
    with _engine_errors(corpus, index):
        engine = open_or_build(corpus, index, quiet=quiet or as_json, check_corpus=check)
        engine.search_config = dataclasses.replace(engine.search_config, answerer=answerer)
        answer = engine.ask(question, k=k)
    if as_json:
        sys.stdout.write(json.dumps(answer.to_json(), ensure_ascii=not _utf8(sys.stdout)) + "\n")
    else:
        _render_answer(answer, passages)


@admin_app.command()
def build(
    corpus: CorpusOpt = None,
    index: IndexOpt = None,
    index_type: Annotated[str, typer.Option("--index-type", help="auto, flat, flat-fp16, sq8, hnsw, ivf-flat, ivf-sq8 or ivf-pq.")] = "auto",
    target_recall: Annotated[float, typer.Option("--target-recall", min=0.5, max=1.0, help="Recall@10 the auto policy aims for.")] = 0.95,
    max_words: Annotated[int, typer.Option("--max-words", min=10, max=200, help="Passage length bound.")] = 100,
    overlap: Annotated[int, typer.Option("--overlap", min=0, max=5, help="Sentences repeated between passages.")] = 0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q")] = False,
) -> None:
    """Build (or rebuild) the index of a corpus folder."""
    from retrieval.chunking import ChunkerConfig
    from retrieval.engine import BuildConfig
    from retrieval.ingest import CorpusError
    from retrieval.store import IndexError_

    corpus, index, found = corpus_and_index(corpus, index)
    if not found:
        raise _fail(f"{corpus}, which {index} was built from, is gone; name the corpus with --corpus")
    try:
        config = BuildConfig(
            chunker=ChunkerConfig(max_words=max_words, overlap_sentences=overlap),
            index_type=index_type, target_recall=target_recall,
        )
    except ValueError as exc:
        raise _fail(str(exc), 2) from None
    try:
        _build(corpus, index, quiet, "build", config)
    except (CorpusError, IndexError_) as exc:
        raise _fail(str(exc)) from None
    except OSError as exc:
        raise _os_error(exc, index) from None


@admin_app.command()
def info(corpus: CorpusOpt = None, index: IndexOpt = None) -> None:
    """Show an index's manifest summary."""
    from retrieval.engine import Engine
    from retrieval.store import IndexError_

    corpus, index, check = corpus_and_index(corpus, index)
    try:
        engine = Engine.open(index)
    except IndexError_ as exc:
        raise _fail(_index_error_line(exc, corpus, index)) from None
    m = engine.manifest
    lines = [
        f"index      {index} -> {engine.directory.name}",
        f"format     {m['format_version']} (ask-engine {m['package_version']}, built {m['created']})",
        f"model      {m['model']['name']} sha256 {m['model']['sha256'][:16]}...",
        f"corpus     {m['corpus']['path']} ({len(m['corpus']['files'])} files)",
        f"counts     {m['counts']}",
        f"chunker    {m['build']['chunker']}",
        f"bm25       {m['build']['bm25']} tokenizer {m['build']['tokenizer']}",
        f"dense      {m['dense']}",
        f"stale      {engine.corpus_is_stale(corpus) if check else 'unknown: the corpus folder is gone'}",
    ]
    out = _console()
    for line in lines:
        out.print(line, markup=False)


@admin_app.command()
def search(
    query: Annotated[str, typer.Argument(help="Search text.")],
    k: Annotated[int, typer.Option("--k", min=1, max=1000)] = 10,
    mode: Annotated[str, typer.Option("--fusion", help="rrf or convex")] = "convex",
    as_json: Annotated[bool, typer.Option("--json")] = False,
    corpus: CorpusOpt = None,
    index: IndexOpt = None,
) -> None:
    """Passage search (no answer extraction)."""
    query = _validate_question(query)
    if mode not in ("rrf", "convex"):
        raise _fail("--fusion must be rrf or convex", 2)
    corpus, index, check = corpus_and_index(corpus, index)
    with _engine_errors(corpus, index):
        engine = open_or_build(corpus, index, quiet=as_json, check_corpus=check)
        hits = engine.search(query, k=k, mode=mode)
    if as_json:
        sys.stdout.write(json.dumps([h.to_json() for h in hits], ensure_ascii=not _utf8(sys.stdout)) + "\n")
        return
    out = _console()
    from rich.markup import escape

    for h in hits:
        out.print(f"{h.rank:>3}  {h.score:.4f}  [cyan]{escape(h.passage.doc_id)}[/] [{h.passage.start}:{h.passage.end}]  {escape(_flat(h.passage.text[:160]))}")


@admin_app.command("eval")
def eval_command(
    dataset: Annotated[Path, typer.Argument(help="seeds JSONL, SQuAD v1.1/v2.0 JSON, or a BEIR folder.")],
    corpus: CorpusOpt = None,
    index: IndexOpt = None,
    split: Annotated[Optional[str], typer.Option(help="BEIR qrels split (default: test, else the one present).")] = None,
    limit: Annotated[Optional[int], typer.Option(min=1, help="Only the first N questions.")] = None,
    articles: Annotated[str, typer.Option(help="SQuAD articles (questions and corpus): all, or a part of the split: heldout, calibration, reader or reader-b.")] = "all",
    question_articles: Annotated[str, typer.Option("--question-articles", help="Score only the questions of these SQuAD articles (same parts); the corpus stays whole.")] = "all",
    answers: Annotated[str, typer.Option(help="Answer modes: open, gold, both or none.")] = "open",
    k: Annotated[int, typer.Option("--k", min=1, max=100, help="Passages the answerer reads.")] = 10,
    out: Annotated[Optional[Path], typer.Option(help="Write the JSON report here.")] = None,
    png: Annotated[Optional[Path], typer.Option(help="Write a PNG chart here.")] = None,
    cache: Annotated[Optional[Path], typer.Option(help="Cache folder for dataset indexes.")] = None,
    answerer: Annotated[str, typer.Option(help="auto, reader or heuristic.")] = "auto",
) -> None:
    """Evaluate retrieval (bm25, dense, hybrid-rrf, hybrid-convex) and answers on a dataset."""
    import dataclasses
    import time

    from retrieval.evaluation.datasets import (
        ARTICLE_PARTS,
        DatasetFormatError,
        article_part,
        load_dataset,
        questions_of_articles,
        subset_by_articles,
    )
    from retrieval.evaluation.report import print_report, save_json, save_png
    from retrieval.evaluation.runner import (
        DOC_RECALL_DEPTH,
        evaluate_answers,
        evaluate_retrieval,
        index_for_dataset,
        run_methods,
    )
    from retrieval.ingest import CorpusError
    from retrieval.store import IndexError_

    if answers not in ("open", "gold", "both", "none"):
        raise _fail("--answers must be open, gold, both or none", 2)
    _check_answerer(answerer)
    for name, value in (("--articles", articles), ("--question-articles", question_articles)):
        if value != "all" and value not in ARTICLE_PARTS:
            raise _fail(f"{name} must be all, {', '.join(ARTICLE_PARTS[:-1])} or {ARTICLE_PARTS[-1]}", 2)
    _check_output(out, "--out")  # before the work, not after an hour of it
    _check_output(png, "--png", suffix=".png")
    if out is not None and png is not None and out.resolve() == png.resolve():
        raise _fail("--out and --png name the same file", 2)
    started = time.perf_counter()
    try:
        ds = load_dataset(dataset, split=split)
    except DatasetFormatError as exc:
        raise _fail(str(exc), 2) from None
    if ds.kind != "squad" and (articles != "all" or question_articles != "all"):
        raise _fail(f"--articles and --question-articles split SQuAD articles; {dataset} is a {ds.kind} dataset", 2)
    if not ds.questions:
        raise _fail(f"{dataset}: no questions to evaluate", 2)
    try:
        if articles != "all":
            ds = subset_by_articles(ds, lambda t: article_part(t) == articles, f"{ds.name}-{articles}")
        if question_articles != "all":
            ds = questions_of_articles(ds, lambda t: article_part(t) == question_articles)
        if limit:
            ds.questions = ds.questions[:limit]
        with _progress_factory(False) as progress:
            if ds.documents is None:
                corpus, index, check = corpus_and_index(corpus, index)
                engine = open_or_build(corpus, index, check_corpus=check)
            else:
                engine = index_for_dataset(ds, dataset, cache, progress)
            _check_gold_documents(ds.questions, {p.doc_id for p in engine.passages}, dataset, engine.opened_as)
            engine.search_config = dataclasses.replace(engine.search_config, answerer=answerer)
            questions = [q.question for q in ds.questions]
            runs, vectors = run_methods(engine, questions, progress=progress("Retrieving", len(questions)))
            deep_runs = None
            if ds.kind == "beir":  # document recall@100 needs more than 100 passages
                deep_runs, _ = run_methods(engine, questions, depth=DOC_RECALL_DEPTH, query_vectors=vectors,
                                           progress=progress("Retrieving deeper", len(questions)))
            report = {
                "dataset": ds.name, "kind": ds.kind, "questions": len(ds.questions), "split": ds.split,
                "articles": articles, "question_articles": question_articles, "index": str(engine.opened_as),
                "counts": engine.manifest["counts"],
                "answerer": "reader" if engine.reader is not None else "heuristic",
                "retrieval": evaluate_retrieval(engine, ds.questions, runs, deep_runs=deep_runs),
                "answers": [],
            }
            modes = {"open": ["open"], "gold": ["gold"], "both": ["open", "gold"], "none": []}[answers]
            if ds.kind == "beir":
                modes = []
            for mode in modes:
                report["answers"].append(
                    evaluate_answers(engine, ds.questions, mode, k, progress(f"Answering ({mode})", len(ds.questions)))
                )
    except (DatasetFormatError, CorpusError, IndexError_) as exc:
        raise _fail(str(exc)) from None
    report["wall_seconds"] = time.perf_counter() - started
    print_report(report, _console())
    try:
        if out:
            save_json(report, out)
        if png:
            save_png(report, png)
    except OSError as exc:
        raise _fail(f"cannot write the report ({type(exc).__name__}: {exc})") from None


def _check_output(path: Optional[Path], option: str, suffix: Optional[str] = None) -> None:
    """Fail early, in one line, when ``path`` cannot receive a report: a folder, not ending in ``suffix`` (when
    given), a parent that is a file, a folder that cannot be written."""
    if path is None:
        return
    if suffix is not None and path.suffix.lower() != suffix:
        raise _fail(f"{option} {path}: give a name ending in {suffix}", 2)
    if path.is_dir():
        raise _fail(f"{option} {path} is a folder; give a file name", 2)
    check_folder_can_be_made(path.absolute().parent, f"{option} {path}")


def check_folder_can_be_made(folder: Path, what: str) -> None:
    """Fail in one line unless ``folder`` is, or can be made inside, a writable folder (nothing in the way is a
    file): the check a command makes before its work rather than after it."""
    existing = folder.absolute()
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise _fail(f"{what}: {existing} is not a folder", 2)
    if not os.access(existing, os.W_OK | os.X_OK):
        raise _fail(f"{what}: {existing} is not writable", 2)


def _check_gold_documents(questions: Sequence[Any], known: set[str], dataset: Path, index: Path) -> None:
    """Gold document ids the index lacks score as misses without a word; none known at all means the wrong corpus
    (a seeds-style file evaluated against the bundled seeds because --corpus was forgotten)."""
    gold = {d for q in questions for d in q.doc_ids}
    missing = sorted(gold - known)
    if not missing:
        return
    example = ", ".join(repr(d) for d in missing[:3])
    if len(missing) == len(gold):
        raise _fail(f"none of the {len(gold)} gold document ids of {dataset} is in the index at {index} (e.g. "
                    f"{example}); give --corpus the folder the questions were written for (a document's id is its "
                    "file name without the extension)", 2)
    _console(stderr=True).print(
        f"warning: {len(missing)} of {len(gold)} gold document ids of {dataset} are not in the index (e.g. "
        f"{example}); they count as misses", markup=False, highlight=False, soft_wrap=True,
    )


@admin_app.command("bench-bm25")
def bench_bm25_command(
    corpus: Annotated[Path, typer.Option(help="BEIR corpus.jsonl")] = REPO_ROOT.parent / "shared/bench-data/scifact/corpus.jsonl",
    queries: Annotated[Path, typer.Option(help="BEIR queries.jsonl")] = REPO_ROOT.parent / "shared/bench-data/scifact/queries.jsonl",
    max_queries: Annotated[int, typer.Option(min=1)] = 300,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as one JSON object.")] = False,
) -> None:
    """Per-query BM25 speed of this engine against rank_bm25 (same tokens, same top-10)."""
    from retrieval.bench_bm25 import compare_with_rank_bm25

    if not corpus.is_file() or not queries.is_file():
        raise _fail(f"BEIR files not found: {corpus}, {queries}", 2)
    try:
        result = compare_with_rank_bm25(corpus, queries, max_queries)
    except ValueError as exc:
        raise _fail(str(exc), 2) from None
    _print_result(result, as_json, 32)


@admin_app.command("bench-query")
def bench_query_command(
    corpus: CorpusOpt = None,
    index: IndexOpt = None,
    runs: Annotated[int, typer.Option(min=1, max=50)] = 7,
    question: Annotated[str, typer.Option()] = "where were talks held?",
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as one JSON object.")] = False,
) -> None:
    """Cold ask (new process) beside a cold sentence-transformers encode; warm Engine.ask percentiles."""
    from retrieval.bench_query import cold_and_warm

    corpus, index, check = corpus_and_index(corpus, index)
    engine = open_or_build(corpus, index, check_corpus=check)
    from retrieval.bench_query import encoder_agreement

    texts = [p.text for p in engine.passages] + [question, "how many peacekeepers?", "who won the 2022 World Cup?"]
    result = {**cold_and_warm(index, corpus, question, runs),
              "onnx_vs_sentence_transformers": encoder_agreement(engine.directory, texts)}
    _print_result(result, as_json, 36)


def _print_result(result: dict[str, Any], as_json: bool, width: int) -> None:
    """A benchmark's result: one JSON object, or aligned lines with figures rounded for reading."""
    if as_json:
        typer.echo(json.dumps(result, indent=1))
        return

    def readable(value: Any) -> str:
        if isinstance(value, float):
            return f"{value:.4g}" if abs(value) < 1e4 else f"{value:,.0f}"
        if isinstance(value, dict):
            return ", ".join(f"{k} {readable(v)}" for k, v in value.items())
        return str(value)

    out = _console()
    for key, value in result.items():
        out.print(f"{key:{width}s} {readable(value)}", markup=False, highlight=False)


def _register_bench() -> None:
    from retrieval.cli_bench import register

    register(admin_app)


_register_bench()


def _utf8(stream: Any) -> bool:
    return "utf" in str(getattr(stream, "encoding", "") or "").lower().replace("-", "")


def _tolerate_any_encoding() -> None:
    """A terminal that cannot show a character (LANG=C, PYTHONIOENCODING=latin-1) gets "?" for it, not a traceback;
    --json escapes such characters instead, so its output stays exact."""
    for stream in (sys.stdout, sys.stderr):
        if not _utf8(stream) and hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="replace")


def ask_main() -> None:
    _tolerate_any_encoding()
    ask_app()


def admin_main() -> None:
    _tolerate_any_encoding()
    admin_app()
