"""``omniopt-desktop run STUDY.toml [--workers N] [--storage URL] [--run-dir DIR]``: a local run.

Starts N worker processes on this machine and shows a progress bar (done/total, failed, best so
far). Ctrl-C stops cleanly (programs killed, their trials FAIL "interrupted"); running the same
command again resumes until ``n_trials`` trials are COMPLETE. The last line of output is the run
folder. Exit status: 0 finished, 1 stopped early (reason on stderr), 130 interrupted.
"""

from __future__ import annotations

import argparse
import os
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="optimise a study on this machine")
    p.add_argument("study", metavar="STUDY.toml")
    p.add_argument("--workers", type=int, default=None, help="worker processes (default: 1)")
    p.add_argument(
        "--storage",
        default=None,
        help='"sqlite", "journal" or postgresql://user@host:port/db (overrides the study file)',
    )
    p.add_argument(
        "--run-dir", default=None, help="run folder (default: runs/<study name> beside the file)"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from ..engine.local_run import run_local
    from ..engine.storage import parse_storage_url
    from ..study.program_check import program_warnings
    from ..study.run_layout import default_run_dir
    from ..study.toml_io import check_file

    loaded = check_file(args.study)
    study = loaded.study
    if args.storage and args.storage not in ("sqlite", "journal"):
        parse_storage_url(args.storage)  # refuse a password in the URL before anything starts
    workers = args.workers if args.workers is not None else 1
    run_dir = os.path.abspath(args.run_dir or default_run_dir(args.study, study.name))
    err = Console(stderr=True)
    out = Console()
    for warning in program_warnings(study, os.path.dirname(os.path.abspath(args.study))):
        err.print(f"[yellow]warning: {warning}", highlight=False)
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("failed {task.fields[failed]}"),
        TextColumn("running {task.fields[running]}"),
        TextColumn("best {task.fields[best]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err, disable=args.quiet, transient=False) as bar:
        task = bar.add_task(study.name, total=study.n_trials, failed=0, running=0, best="—")

        def on_progress(p) -> None:
            bar.update(
                task,
                completed=min(p.complete, p.total),
                failed=p.failed,
                running=p.running,
                best=p.best_text(),
            )

        def on_event(text: str) -> None:
            bar.console.print(f"[yellow]{text}")

        summary = run_local(
            study,
            run_dir,
            workers=workers,
            storage=args.storage,
            study_file=args.study,
            on_progress=on_progress,
            on_event=on_event,
        )
    p = summary.progress
    line = f"{p.complete}/{p.total} trials COMPLETE, {p.failed} failed, best {p.best_text()}"
    if summary.interrupted:
        err.print(f"interrupted: {line}; run the same command again to resume")
        code = 130
    elif summary.stop_reason and not summary.finished:
        err.print(f"{summary.stop_reason} ({line})", soft_wrap=True, highlight=False)
        code = 1
    else:
        out.print(line, highlight=False)
        code = 0
    sys.stdout.flush()
    print(summary.run_dir)
    return code
