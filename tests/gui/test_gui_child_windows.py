"""The monitor and analysis windows are separate top-level windows owned by the main window:
listed while open, deleted when closed, closed with the app. A monitor's trial table reads a
trial's files through the run's poller (here a run whose "cluster" is this machine; the real
sshd + SLURM case is test_gui_remote_trial_files.py)."""

from __future__ import annotations

import pytest
from support.analysis_studies import make_bulk_db
from support.scripted_runs import ScriptedRuns, demo_record, finished_status, trial

from omniopt_desktop.cluster.registry import Registry, RunRecord
from omniopt_desktop.cluster.trial_files import snapshot_trial_files
from omniopt_desktop.gui.launch import open_analysis
from omniopt_desktop.gui.remote_monitor import RemoteMonitorWindow


def _done(table):
    return "loading" not in table.stdout_text.toPlainText()


def wait_deleted(qtbot, widgets, action) -> None:
    """Run ``action`` and wait until every widget's C++ object is deleted."""
    gone = []
    for w in widgets:
        w.destroyed.connect(lambda *_: gone.append(1))
    action()
    qtbot.waitUntil(lambda: len(gone) == len(widgets), timeout=20_000)


def test_monitor_reads_trial_files_and_closes_with_the_main_window(qtbot, window, tmp_path):
    record = demo_record(tmp_path)
    folder = tmp_path / "run" / "trials" / "1"
    folder.mkdir(parents=True)
    (folder / "command.txt").write_text("python prog.py --x 0.5\n")
    (folder / "stdout.txt").write_text("x is 0.5\nRESULT: 0.25\n")
    runs = ScriptedRuns([finished_status([trial(0), trial(1)])])
    live = window.runs.live
    live.open_runs = lambda rec, prompts: runs
    poller = live.poller(record)
    w = RemoteMonitorWindow(poller, tasks=window.tasks, parent=window)
    window.child_windows.adopt(w, "_monitor_windows")
    w.show()
    assert w.isWindow() and w.parent() is window and window._monitor_windows == [w]
    qtbot.waitUntil(lambda: w.panel.model.n == 2, timeout=10_000)
    table = w.panel.show_view("table")
    table.table.selectRow(1)  # trial 1, as a user's click
    qtbot.waitUntil(lambda: _done(table) and bool(table.stdout_text.toPlainText()), timeout=10_000)
    assert table.stdout_text.toPlainText() == "x is 0.5\nRESULT: 0.25\n"
    assert table.command_text.toPlainText() == "python prog.py --x 0.5\n"
    assert table.stderr_text.toPlainText() == f"(no such file in {folder})"
    table.show_trial(0)  # no folder (in a real run: not started yet)
    qtbot.waitUntil(lambda: _done(table), timeout=10_000)
    assert table.stdout_text.toPlainText().startswith(
        f"cannot read the files of trial 0: trial 0 has no folder {tmp_path / 'run'}/trials/0"
    )
    assert poller.watched
    wait_deleted(qtbot, [w], window.close)
    assert window._monitor_windows == [] and not poller.watched


@pytest.fixture
def snapshot_db(tmp_path, monkeypatch):
    """A snapshot fetched from a cluster run, registered as a fetch does."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    dest = tmp_path / "snapshots" / "quad-9"
    dest.mkdir(parents=True)
    db = str(dest / "study-snapshot.db")
    make_bulk_db(db, 12, n_params=2)
    Registry().put(
        RunRecord(run_id="quad-9", host="oo-target", remote_dir="/home/u/runs/quad-9",
                  tag="quad-9", study_name="bulk", snapshots=(db,))
    )  # fmt: skip
    return db


def test_analysis_windows_are_owned_deleted_on_close_and_find_snapshot_files(
    qtbot, window, snapshot_db
):
    w = open_analysis(window, snapshot_db, follow=False)
    assert w.isWindow() and w.parent() is window and window._analysis_windows == [w]
    qtbot.waitUntil(lambda: w.panel.model.n == 12, timeout=20_000)
    table = w.panel.show_view("table")
    assert table.files_provider is snapshot_trial_files
    table.show_trial(3)
    qtbot.waitUntil(lambda: _done(table), timeout=10_000)
    line = table.stdout_text.toPlainText()
    assert (
        "not fetched with the snapshot" in line and "oo-target:/home/u/runs/quad-9/trials/3" in line
    )
    wait_deleted(qtbot, [w], w.close)  # no closed window (and its trials) kept until the end
    assert window._analysis_windows == []
    w2 = open_analysis(window, snapshot_db, follow=True)
    qtbot.waitUntil(lambda: w2.panel.model.n == 12, timeout=20_000)
    wait_deleted(qtbot, [w2], window.close)  # closed with the app (and stops following)
    assert window._analysis_windows == []
