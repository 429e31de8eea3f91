"""Run locally from the GUI: progress dialog, runs list, cancel; the event loop never stalls."""

from __future__ import annotations

import os
import shutil

import pytest
from support.gui_helpers import wait_task
from support.gui_probe import StallProbe

from omniopt_desktop import paths
from omniopt_desktop.gui.launch import launch_local
from omniopt_desktop.study import run_layout as L

STALL_LIMIT_MS = 100.0


@pytest.fixture
def quadratic(tmp_path):
    src = os.path.dirname(str(next(p for p in paths.example_studies() if "quadratic" in str(p))))
    dest = tmp_path / "quadratic"
    shutil.copytree(src, dest)
    return dest / "study.toml"


def _open(qtbot, window, path, n_trials):
    wait_task(qtbot, window.open_path(str(path)))
    window.doc.set(("study", "n_trials"), n_trials)
    wait_task(qtbot, window.save())
    assert not window.doc.dirty


@pytest.mark.slow
def test_local_run_from_the_gui_without_stalling(qtbot, window, quadratic):
    _open(qtbot, window, quadratic, 6)
    wait_task(qtbot, window.warm_up())  # as the app does at start-up
    probe = StallProbe()
    probe.start()
    handle = launch_local(window, workers=2)
    assert handle is not None
    dialog = window.run_dialog
    assert dialog.isVisible()
    row = window.runs.model.rows[0]
    assert row.state == "running" and row.kind == "local"
    results, errors = [], []
    handle.succeeded.connect(results.append)
    handle.failed.connect(errors.append)
    wait_task(qtbot, handle, timeout=120000)
    probe.stop()
    assert not errors, errors
    [summary] = results
    assert summary.finished and summary.progress.complete >= 6
    run_dir = L.default_run_dir(str(quadratic), "quadratic")
    assert os.path.isfile(os.path.join(run_dir, L.SQLITE_DB))
    row = window.runs.model.rows[0]
    assert row.state == "finished" and row.complete >= 6 and row.db_path
    assert dialog.label.text().startswith("Done. ") and "trials done" in dialog.label.text()
    assert run_dir in window.settings.local_runs
    print(f"event-loop probe: {probe.report()}")
    assert probe.max_own_gap_ms < STALL_LIMIT_MS, probe.report()
    # the runs list reads the folder back after a restart-like refresh
    window.runs.model.set_rows([])
    wait_task(qtbot, window.runs.refresh())
    [again] = [r for r in window.runs.model.rows if r.key == run_dir]
    assert again.state == "finished" and again.complete >= 6 and again.total == 6


@pytest.mark.slow
def test_cancel_a_local_run_from_the_progress_dialog(qtbot, window, quadratic, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    _open(qtbot, window, quadratic, 10000)
    handle = launch_local(window, workers=1)
    qtbot.waitUntil(lambda: bool(window.runs.model.rows[0].complete), timeout=120000)
    # quitting asks first; "No" keeps the window and the run
    asked = []
    monkeypatch.setattr(
        QMessageBox,
        "exec",
        lambda self: asked.append(self.objectName()) or QMessageBox.StandardButton.No,
    )
    assert not window.close()
    assert asked == ["stop_runs_box"] and not handle.is_done
    window.run_dialog.cancel_button.click()
    assert handle.is_done
    assert window.runs.model.rows[0].state == "stopped"
    assert window.run_dialog.cancel_button.text() == "Close"


def test_run_saves_first_and_is_refused_while_invalid(qtbot, window, quadratic, monkeypatch):
    import omniopt_desktop.gui.launch as launch

    calls = []
    monkeypatch.setattr(launch, "launch_local", lambda w, n: calls.append((w.doc.path, n)))
    wait_task(qtbot, window.open_path(str(quadratic)))
    window.doc.set(("study", "n_trials"), 3)
    assert window.doc.dirty
    launch.start_local_run(window, workers=2)
    qtbot.waitUntil(lambda: bool(calls), timeout=5000)
    assert calls == [(str(quadratic), 2)] and not window.doc.dirty
    window.doc.set(("parameter", 0, "low"), 100.0)
    assert not window.act_run.isEnabled()
    window.run_locally()  # the action is disabled; calling the slot does nothing either
    assert len(calls) == 1


def test_runs_started_from_the_command_line_are_listed_when_the_study_opens(
    qtbot, window, tmp_path
):
    """A study run with `omniopt-desktop run` in a terminal did not appear in the app's runs
    list: only runs the app itself had started were listed."""
    from support.cli import run_cli, tiny_study

    study = tmp_path / "study.toml"
    study.write_text(tiny_study("cli", 3))
    assert run_cli("run", str(study), "--quiet").returncode == 0
    assert (
        run_cli("run", str(study), "--quiet", "--run-dir", str(tmp_path / "runs" / "b")).returncode
        == 0
    )
    (tmp_path / "runs" / "not-a-run").mkdir()
    wait_task(qtbot, window.open_path(str(study)))
    run_dir = str(tmp_path / "runs" / "cli")
    assert L.run_folders_beside(study) == [run_dir, str(tmp_path / "runs" / "b")]
    qtbot.waitUntil(lambda: run_dir in [r.key for r in window.runs.model.rows], timeout=10000)
    row = next(r for r in window.runs.model.rows if r.key == run_dir)
    assert row.kind == "local" and row.state == "finished" and row.complete == 3
    assert run_dir in window.settings.local_runs and len(window.settings.local_runs) == 2
