"""Loading off the GUI thread, live appends, replaced snapshots, trial files, `open --screenshot`."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
from support.analysis_studies import make_bulk_db

from omniopt_desktop.analysis.loader import load_trials
from omniopt_desktop.gui.analysis import AnalysisPanel, AnalysisWindow


def test_panel_loads_a_database_off_the_gui_thread(qtbot, tmp_path):
    db = str(tmp_path / "study.db")
    make_bulk_db(db, 40, n_params=4)
    panel = AnalysisPanel()
    qtbot.addWidget(panel)
    with qtbot.waitSignal(panel.loaded, timeout=20000):
        panel.load(db)
    assert panel.model.n == 40 and panel.model.path == db
    x, _ = panel.show_view("history").points.getData()
    assert len(x) == int(np.count_nonzero(panel.model.cols.state == 1))


def test_a_corrupt_file_reports_one_line(qtbot, tmp_path):
    bad = tmp_path / "broken.db"
    bad.write_bytes(b"SQLite format 3\x00" + b"\x00" * 100)
    panel = AnalysisPanel()
    qtbot.addWidget(panel)
    with qtbot.waitSignal(panel.load_failed, timeout=20000) as blocker:
        panel.load(str(bad))
    line = blocker.args[0]
    assert str(bad) in line and "\n" not in line
    assert panel.model.cols is None


def test_append_trials_adds_only_the_new_ones(qtbot, tmp_path):
    db = str(tmp_path / "study.db")
    make_bulk_db(db, 50, n_params=3, running_last=2)
    panel = AnalysisPanel(
        load_trials(db),
    )
    qtbot.addWidget(panel)
    panel.show()
    hist = panel.show_view("history")
    before = len(hist.points.getData()[0])
    make_bulk_db(db, 30, n_params=3, create=False, start_number=50, seed=3)
    old = panel.model.cols
    new = load_trials(db, after_number=old.last_number, numbers=old.number[old.state == 0])
    panel.append_trials(new)
    panel.flush()
    merged = panel.model.cols
    assert list(merged.number) == list(range(80))
    completed = int(np.count_nonzero(merged.state == 1))
    x, y = hist.points.getData()
    assert len(x) == completed > before
    assert sorted(x.tolist()) == sorted(merged.number[merged.state == 1].astype(float).tolist())
    table = panel.show_view("table")
    assert table.table_model.rowCount() == 80


def test_window_reloads_a_replaced_snapshot(qtbot, tmp_path):
    db = str(tmp_path / "study.db")
    make_bulk_db(db, 20, n_params=3)
    w = AnalysisWindow(db)
    qtbot.addWidget(w)
    qtbot.waitUntil(lambda: w.panel.model.n == 20, timeout=20000)
    newer = str(tmp_path / "newer.db")
    make_bulk_db(newer, 35, n_params=3, seed=4)
    os.replace(newer, db)  # a fetch puts a newer snapshot in place
    qtbot.waitUntil(lambda: w.panel.model.n == 35, timeout=20000)
    assert "35 trials" in w.windowTitle()


def test_trial_files_and_copy_as_command(qtbot, tmp_path):
    from omniopt_desktop.study.model import Objective, Parameter, ParamType, Program, Study

    run = tmp_path / "run"
    run.mkdir()
    db = str(run / "study.db")
    make_bulk_db(db, 10, n_params=3)
    study = Study(
        name="bulk",
        objectives=[Objective("LOSS")],
        program=Program(command="python3 train.py --lr %(lr0) --layers %(layers1) --act %(act2)"),
        parameters=[
            Parameter("lr0", ParamType.FLOAT, 1e-5, 0.1, log=True),
            Parameter("layers1", ParamType.INT, 1, 8),
            Parameter("act2", ParamType.CHOICE, values=["relu", "tanh", "gelu"]),
        ],
    )
    (run / "study.json").write_text(json.dumps(study.to_dict()))
    trial = run / "trials" / "3"
    trial.mkdir(parents=True)
    (trial / "command.txt").write_text("python3 train.py --n 3")
    (trial / "stdout.txt").write_text("LOSS: 0.5\n")
    panel = AnalysisPanel(
        load_trials(db),
    )
    panel.model.path = db
    qtbot.addWidget(panel)
    table = panel.show_view("table")
    table.show_trial(3, wait=True)
    qtbot.waitUntil(lambda: table.stdout_text.toPlainText() == "LOSS: 0.5\n", timeout=5000)
    assert table.command_text.toPlainText() == "python3 train.py --n 3"
    assert "no such file" in table.stderr_text.toPlainText()
    summary = panel.show_view("summary")
    cols, row = panel.model.cols, panel.model.best_row()
    p = cols.row_params(row)
    assert summary.best_command() == (
        f"python3 train.py --lr {p['lr0']!r} --layers {p['layers1']} --act {p['act2']}"
    )
    assert "LOSS" in summary.text.toPlainText()
    summary.copy_command()
    from PySide6.QtWidgets import QApplication

    assert QApplication.clipboard().text() == summary.best_command()


def test_open_screenshot_command(tmp_path):
    db = str(tmp_path / "study.db")
    make_bulk_db(db, 200, n_params=5, directions=("minimize", "maximize"))
    png = tmp_path / "shot.png"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    proc = subprocess.run(
        [sys.executable, "-m", "omniopt_desktop.cli", "open", db, "--screenshot", str(png)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == str(png)
    assert png.read_bytes().startswith(b"\x89PNG")
    from PySide6.QtGui import QImage

    assert QImage(str(png)).size().toTuple() == (1800, 1100)  # decodes, the whole overview
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "omniopt_desktop.cli",
            "open",
            str(tmp_path / "none.db"),
            "--screenshot",
            str(png),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert bad.returncode == 1 and "no such file" in bad.stderr and bad.stderr.count("\n") == 1


def test_screenshot_png_has_the_pixels_of_the_image(qtbot, tmp_path):
    from PySide6.QtGui import QColor, QImage

    from omniopt_desktop.gui.analysis.open_app import save_png

    img = QImage(7, 3, QImage.Format.Format_RGB32)
    for x in range(7):
        for y in range(3):
            img.setPixelColor(x, y, QColor(30 * x, 80 * y, 255 - 30 * x))
    save_png(img, str(tmp_path / "t.png"))
    back = QImage(str(tmp_path / "t.png"))
    assert back.size() == img.size()
    assert all(back.pixel(x, y) == img.pixel(x, y) for x in range(7) for y in range(3))


def test_open_app_starts_the_load_before_qt_is_imported():
    """``open --screenshot`` imports open_app through the package: that must not import Qt or
    pyqtgraph (the database is read on a thread while they import)."""
    code = (
        "import sys, omniopt_desktop.gui.analysis.open_app;"
        "print(sorted(m for m in ('PySide6', 'pyqtgraph', 'numpy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_poll_reads_only_new_and_unfinished_trials(qtbot, tmp_path):
    import sqlite3

    db = str(tmp_path / "study.db")
    make_bulk_db(db, 30, n_params=3, running_last=2)
    panel = AnalysisPanel(load_trials(db))
    panel.model.path = db
    qtbot.addWidget(panel)
    con = sqlite3.connect(db)
    con.execute("UPDATE trials SET state='COMPLETE' WHERE number = 28")
    con.execute(
        "INSERT INTO trial_values (trial_id, objective, value, value_type) SELECT trial_id, 0, 0.25, 'FINITE' FROM trials WHERE number = 28"
    )
    con.commit()
    con.close()
    make_bulk_db(db, 5, n_params=3, create=False, start_number=30, seed=9)
    with qtbot.waitSignal(panel.model.columns_changed, timeout=20000):
        panel.poll()
    cols = panel.model.cols
    assert list(cols.number) == list(range(35))
    assert cols.state[28] == 1 and cols.values[28, 0] == 0.25 and cols.state[29] == 0


def test_window_loads_through_the_main_windows_task_runner(qtbot, tmp_path):
    from omniopt_desktop.gui.error_reporter import ErrorReporter
    from omniopt_desktop.gui.tasks import TaskRunner

    db = str(tmp_path / "study.db")
    make_bulk_db(db, 12, n_params=2)
    reporter = ErrorReporter()
    tasks = TaskRunner(reporter)
    w = AnalysisWindow(db, tasks=tasks)
    qtbot.addWidget(w)
    qtbot.waitUntil(lambda: w.panel.model.n == 12, timeout=20000)
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"junk" * 50)
    with qtbot.waitSignal(w.panel.load_failed, timeout=20000) as blocker:
        w.open(str(bad))
    assert "not an Optuna study" in blocker.args[0]
    assert not reporter.history  # the window shows its own errors


def test_following_a_live_study_shows_new_trials_without_a_click(qtbot, tmp_path, monkeypatch):
    """The live monitor of a running local study: a timer polls, new trials appear."""
    from omniopt_desktop.gui.analysis import window as window_mod

    monkeypatch.setattr(window_mod, "FOLLOW_MS", 200)
    db = str(tmp_path / "study.db")
    make_bulk_db(db, 20, n_params=3)
    w = AnalysisWindow(db)
    qtbot.addWidget(w)
    qtbot.waitUntil(lambda: w.panel.model.n == 20, timeout=20000)
    w.set_following(True)
    assert w.follow_action.isChecked()
    assert "following live" in w.windowTitle()
    reloads = []
    monkeypatch.setattr(w, "reload", lambda: reloads.append(1))
    make_bulk_db(db, 7, n_params=3, create=False, start_number=20, seed=3)
    qtbot.waitUntil(lambda: w.panel.model.n == 27, timeout=20000)
    qtbot.wait(800)  # the file watcher's debounce (500 ms) has fired by now
    w._maybe_reload()
    assert not reloads  # writes to the followed file are polled, never a full reload
    assert "(27 trials, following live)" in w.windowTitle()
    w.set_following(False)
    assert not w._follow_timer.isActive()
    assert ", following live" not in w.windowTitle()


def test_a_poll_asked_during_a_read_loses_no_trials(qtbot, tmp_path):
    """The live monitor's timer (or the end of a run) asks for a read while one is in flight:
    the second read waits for the first. Cancelling the first dropped the trials it had read —
    the follower had moved past them — and the view never reached the study's count."""
    import threading
    import time

    from omniopt_desktop.gui.error_reporter import ErrorReporter
    from omniopt_desktop.gui.tasks import TaskRunner

    db = str(tmp_path / "study.db")
    make_bulk_db(db, 10, n_params=2)
    tasks = TaskRunner(ErrorReporter())
    panel = AnalysisPanel(tasks=tasks)
    qtbot.addWidget(panel)
    panel.load(db)
    qtbot.waitUntil(lambda: panel.model.n == 10, timeout=20000)
    follower = panel._follower
    read = follower.poll
    first_read_done = threading.Event()

    def slow_poll():
        result = read()  # the follower has moved on once this returns
        first_read_done.set()
        time.sleep(1.0)  # ... and the answer is still on its way when the next read is asked
        return result

    follower.poll = slow_poll
    make_bulk_db(db, 5, n_params=2, create=False, start_number=10, seed=4)
    panel.poll(db)
    assert first_read_done.wait(20)
    make_bulk_db(db, 5, n_params=2, create=False, start_number=15, seed=5)
    panel.poll(db)
    assert panel.reading
    qtbot.waitUntil(lambda: panel.model.n == 20 and not panel.reading, timeout=20000)
    assert list(panel.model.cols.number) == list(range(20))
