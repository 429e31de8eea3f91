"""Launching from the window: run locally, stop a run, open results (cluster launches are in
:mod:`.cluster_launch`).

Each launch is a task on the window's TaskRunner with a TaskProgressDialog; the runs list
shows the run while it goes. The window's study must be valid (the actions are disabled
otherwise) and is saved first, so the run folder gets the file as it is on screen.
"""

from __future__ import annotations

import importlib
import os
from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import QInputDialog

from ..study import run_layout as L
from .progress_dialog import TaskProgressDialog
from .runs_list import RunRow
from .tasks import TaskHandle, TaskState

if TYPE_CHECKING:
    from .main_window import MainWindow


def saved_then(window: MainWindow, then: Any) -> None:
    """Call ``then()`` once the document is saved (saving it first when needed)."""
    doc = window.doc
    if doc is None:
        return
    if doc.path and not doc.dirty:
        then()
        return
    handle = window.save()
    if handle is None:
        return

    def done(_r: Any) -> None:
        if window.doc is doc and not doc.dirty and doc.path:
            then()

    # finish_save runs on succeeded first (connected earlier), then this
    handle.succeeded.connect(done)


# -- local -------------------------------------------------------------------------------------
def start_local_run(window: MainWindow, workers: int | None = None) -> None:
    doc = window.doc
    if doc is None:
        return
    if workers is None:
        default = max(1, min(doc.study.resources.workers, os.cpu_count() or 1))
        workers, ok = QInputDialog.getInt(
            window, "Run locally", "Worker processes on this machine:", default, 1, 512
        )
        if not ok:
            return
    saved_then(window, lambda: launch_local(window, int(workers)))


def _run_local_task(
    state: TaskState, study: Any, run_dir: str, workers: int, study_file: str
) -> Any:
    from .local_child import run_in_child

    def relay(kind: str, payload: Any) -> None:
        if kind == "progress":
            p = payload
            state.set_progress(
                p.complete / p.total if p.total else None,
                f"{p.complete} of {p.total} trials done, {p.running} running, "
                f"{p.failed} failed; best {p.best_text()}",
            )
            state.set_partial_result(p)
        else:
            state.set_progress(None, str(payload))

    return run_in_child(
        study.to_dict(), run_dir, workers, study_file, relay, lambda: state.cancelled
    )


def launch_local(window: MainWindow, workers: int, run_dir: str | None = None) -> TaskHandle | None:
    """Start the local run now (the document is saved and valid); returns its task.

    ``run_dir`` defaults to the study's run folder (a second run there resumes the first)."""
    doc = window.doc
    if doc is None or doc.path is None:
        return None
    study = doc.study.copy()
    run_dir = run_dir or L.default_run_dir(doc.path, study.name)
    handle = window.tasks.submit(
        _run_local_task,
        study,
        run_dir,
        workers,
        doc.path,
        name=f"running {study.name} locally",
        channel=f"local:{run_dir}",
    )
    window.settings.add_local_run(run_dir)
    window._save_settings()
    row = RunRow(run_dir, "local", study.name, run_dir, "running", 0, study.n_trials)
    window.runs.show_row(row)
    window.runs_dock.show()
    window.runs.stop_requested.connect(
        lambda key, h=handle, d=run_dir: h.cancel() if key == d else None
    )

    found: list[str] = []

    def partial(p: Any) -> None:
        # progress is read from the study database, so it exists now: the row gets its path
        # and Open results can follow the run live
        if not found and (path := result_file(run_dir)):
            found.append(path)
        live = {"db_path": found[0]} if found else {}
        window.runs.mark(run_dir, complete=p.complete, best=p.best_text(), **live)

    def finished(summary: Any) -> None:
        done = summary.finished
        window.runs.mark(
            run_dir,
            state="finished" if done else "stopped",
            complete=summary.progress.complete,
            best=summary.progress.best_text(),
            db_path=result_file(run_dir) or "",
        )

    handle.partial_result_arrived.connect(partial)
    handle.succeeded.connect(finished)
    handle.failed.connect(lambda e: window.runs.mark(run_dir, state="failed"))
    handle.cancelled.connect(lambda: window.runs.mark(run_dir, state="stopped"))
    dialog = TaskProgressDialog(
        handle, f"Running {study.name} locally", parent=window, keep_progress=True
    )
    dialog.setObjectName("local_run_dialog")
    window.run_dialog = dialog
    dialog.show()
    return handle


def result_file(run_dir: str) -> str | None:
    """A local run's study database once it exists (SQLite or journal file)."""
    for name in (L.SQLITE_DB, L.JOURNAL_FILE):
        path = os.path.join(run_dir, name)
        if os.path.exists(path):
            return path
    return None


def stop_run(window: MainWindow, key: str) -> None:
    """Stop button of the runs list: local runs stop through their own task; cluster runs are
    cancelled over SSH."""
    row = next((r for r in window.runs.model.rows if r.key == key), None)
    if row is not None and row.kind == "remote":
        from .cluster_launch import cancel_remote_run

        cancel_remote_run(window, key)


# -- analysis ----------------------------------------------------------------------------------
def open_analysis(window: MainWindow, db_path: str, follow: bool | None = None) -> Any:
    """Open the analysis window of ``db_path`` and return it (None when unavailable).

    ``follow`` switches its live monitor on or off; by default it follows while any run of
    the runs list is running."""
    try:
        mod = importlib.import_module("omniopt_desktop.gui.analysis")
        cls = mod.AnalysisWindow
    except (ImportError, AttributeError):
        window.reporter.report(
            f"the analysis view is not available in this build; open {db_path} with Optuna"
        )
        return None
    w = cls(db_path) if not _takes_tasks(cls) else cls(db_path, tasks=window.tasks)
    window.child_windows.adopt(w, "_analysis_windows")  # its own window, closed with the app
    table = getattr(getattr(w, "panel", None), "views", {}).get("table")
    if table is not None:  # a fetched snapshot: trial files fetched along, else where they are
        from ..cluster.trial_files import snapshot_trial_files

        table.files_provider = snapshot_trial_files
    if follow is None:
        follow = any(r.state == "running" for r in window.runs.model.rows)
    if follow and hasattr(w, "set_following"):
        w.set_following(True)  # a live study: new trials appear as they finish
    w.show()
    return w


def _takes_tasks(cls: Any) -> bool:
    import inspect

    try:
        return "tasks" in inspect.signature(cls).parameters
    except (TypeError, ValueError):
        return False
