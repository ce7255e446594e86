"""``ask-engine bench``: the vector search benchmark (retrieval/vector_bench/) as an admin command.

Kept out of cli.py so the command module stays light: nothing heavy is imported until the command runs.
Call :func:`register` on the admin Typer app.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

__all__ = ["parse_sizes", "register"]

_REPO_ROOT = Path(__file__).resolve().parents[1]
_DEFAULT_SIZES = "10000,100000,1000000"
_SMOKE_SIZES = "2000"


def parse_sizes(text: str) -> tuple[int, ...]:
    """``"10000,100k,1M"`` -> (10000, 100000, 1000000); ValueError on anything else."""
    sizes = []
    for part in text.split(","):
        part = part.strip().lower()
        scale = {"k": 1_000, "m": 1_000_000}.get(part[-1:], 1)
        digits = part[:-1] if scale > 1 else part
        if not digits.isdigit() or int(digits) * scale < 1:
            raise ValueError(f"bad size {part!r} in --sizes (expected e.g. 10000,100k,1M)")
        sizes.append(int(digits) * scale)
    return tuple(sizes)


def register(admin_app: typer.Typer) -> None:
    """Add the ``bench`` command to ``admin_app``."""

    @admin_app.command("bench")
    def bench_command(
        sizes: Annotated[
            Optional[str], typer.Option("--sizes", help=f"Database sizes, comma-separated, 100k/1M allowed (default "
                                                         f"{_DEFAULT_SIZES}; {_SMOKE_SIZES} with --smoke).")
        ] = None,
        out: Annotated[Path, typer.Option("--out", help="Folder for vector_bench.json/.md/.png.")] = (
            _REPO_ROOT / "bench" / "results"
        ),
        max_real: Annotated[
            Optional[int], typer.Option("--max-real", min=100, help="Embed at most this many real passages "
                                                                  "(the rest of each size is synthetic).")
        ] = None,
        queries: Annotated[int, typer.Option("--queries", min=1, help="Real question vectors to search.")] = 1000,
        smoke: Annotated[
            bool, typer.Option("--smoke", help="Seconds-long run on synthetic stand-in vectors (no model, no data).")
        ] = False,
        kinds: Annotated[
            Optional[str], typer.Option("--kinds", help="Only these index kinds / peers, comma-separated.")
        ] = None,
        data: Annotated[Path, typer.Option("--data", help="bench-data folder (SQuAD, SciFact).")] = (
            _REPO_ROOT.parent / "shared" / "bench-data"
        ),
        quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars or stage lines.")] = False,
        e2e_only: Annotated[
            bool, typer.Option("--e2e-only", help="Only the end-to-end hybrid search timing (e2e_hybrid.json/.md).")
        ] = False,
        e2e_passages: Annotated[
            int, typer.Option("--e2e-passages", min=1000, help="Passages of the end-to-end hybrid search.")
        ] = 100_000,
        e2e_questions: Annotated[
            int, typer.Option("--e2e-questions", min=10, help="Questions timed in the end-to-end hybrid search.")
        ] = 300,
    ) -> None:
        """Latency, throughput, memory and recall@10 of every dense index kind, with peers and bandwidth."""
        from dataclasses import replace

        from retrieval.cli import _console, _fail, _progress_factory, check_folder_can_be_made
        from retrieval.vector_bench import BenchConfig, run_benchmark, run_e2e

        check_folder_can_be_made(out, f"--out {out}")  # before the run, not found unusable after it
        if e2e_only:
            if not data.is_dir():
                raise _fail(f"bench data not found at {data} (use --data)", 2)
            err = _console(stderr=True)
            log = (lambda _m: None) if quiet else (
                lambda m: err.print(m, markup=False, highlight=False, soft_wrap=True))
            try:
                run_e2e(out, e2e_passages, e2e_questions, data_dir=data, log=log)
            except (FileNotFoundError, ValueError, MemoryError) as exc:
                raise _fail(f"{type(exc).__name__}: {exc}") from None
            _console().print((out / "e2e_hybrid.md").read_text() if not quiet else str(out / "e2e_hybrid.md"),
                             markup=False, highlight=False, soft_wrap=True)
            return
        try:
            size_tuple = parse_sizes(sizes or (_SMOKE_SIZES if smoke else _DEFAULT_SIZES))
            config = BenchConfig.smoke(size_tuple) if smoke else BenchConfig(sizes=size_tuple)
            config = replace(config, n_queries=queries if not smoke else min(queries, config.n_queries),
                             max_real=max_real)
            if not smoke:
                config = replace(config, e2e_passages=e2e_passages, e2e_questions=e2e_questions)
            if kinds:
                config = replace(config, kinds=tuple(k.strip() for k in kinds.split(",") if k.strip()))
        except ValueError as exc:
            raise _fail(str(exc), 2) from None
        if not smoke and not data.is_dir():
            raise _fail(f"bench data not found at {data} (use --data, or --smoke)", 2)
        err = _console(stderr=True)
        log = (lambda _m: None) if quiet else (lambda m: err.print(m, markup=False, highlight=False, soft_wrap=True))
        try:
            with _progress_factory(quiet) as progress:
                run_benchmark(size_tuple, out, config, data_dir=data, smoke=smoke, progress=progress, log=log)
        except (FileNotFoundError, ValueError, MemoryError) as exc:
            raise _fail(f"{type(exc).__name__}: {exc}") from None
        if quiet:
            _console().print(str(out / "vector_bench.md"))
