"""First start: one click on the welcome page runs a bundled example locally and opens its
plots following the run live; Open (or a click on the row) only opens it in the editor."""

from __future__ import annotations

import os

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from support.gui_helpers import wait_task

from omniopt_desktop.analysis.columns import TrialState
from omniopt_desktop.gui.main_window import LOCAL_RUN_TASK
from omniopt_desktop.gui.quick_start import fresh_run_dir
from omniopt_desktop.study import run_layout as L


def _check_screenshot(widget, path: str) -> None:
    """Render ``widget`` to ``path`` and check it is not blank (set OO_SCREENSHOTS_DIR=
    docs/screenshots to refresh the guide's picture)."""
    assert widget.grab().save(path), path
    img = QImage(path)
    assert img.width() >= 600 and img.height() >= 400, path
    colours = {img.pixel(x, y) for x in range(0, img.width(), 7) for y in range(0, img.height(), 7)}
    assert len(colours) > 20, f"{path} looks blank"


def _complete(analysis) -> int:
    cols = analysis.panel.model.cols
    return 0 if cols is None else cols.count(TrialState.COMPLETE)


@pytest.mark.slow
def test_one_click_runs_the_quadratic_example_with_live_plots(qtbot, window, tmp_path):
    shots = os.environ.get("OO_SCREENSHOTS_DIR") or str(tmp_path)
    welcome = window.welcome
    qtbot.waitUntil(welcome.quick_start.isVisible, timeout=10000)
    assert welcome.quick_button.text() == "▶  Run the quadratic example"
    qtbot.mouseClick(welcome.quick_button, Qt.MouseButton.LeftButton)

    run = window.example_run
    qtbot.waitUntil(lambda: run.run is not None, timeout=20000)
    # the copy is open in the editor, the run is in the runs list and has a progress dialog
    assert window.doc.path.startswith(os.environ["XDG_DATA_HOME"])
    assert run.run_dir.startswith(os.path.dirname(window.doc.path) + os.sep)
    assert any(h.name.startswith(LOCAL_RUN_TASK) for h in window.tasks.running())
    assert window.runs.model.rows[0].key == run.run_dir
    assert window.run_dialog.isVisible()

    # the analysis window opens once the database exists, following the run
    qtbot.waitUntil(lambda: run.analysis is not None, timeout=60000)
    analysis = run.analysis
    try:
        _watch_live(qtbot, window, run, analysis, shots)
    finally:  # it follows files: it must not outlive the main window and its task runner
        analysis.set_following(False)
        with qtbot.waitSignal(analysis.destroyed, timeout=20000):
            analysis.close()  # a child window of the main window: deleted once its read ended
        assert not any(h.name.startswith("read ") for h in window.tasks.running())


def _watch_live(qtbot, window, run, analysis, shots):
    assert analysis.isVisible() and analysis.follow_action.isChecked()
    assert analysis.path == os.path.join(run.run_dir, L.SQLITE_DB)
    # the runs list can open it too while it runs (Open results follows a running run)
    assert window.runs.model.rows[0].db_path == analysis.path
    seen = []  # (complete trials, run still going) at every model change
    analysis.panel.model.columns_changed.connect(
        lambda: seen.append((_complete(analysis), not run.run.is_done))
    )
    # a few seconds in: the plots show the first trials (the guide's picture)
    qtbot.waitUntil(lambda: _complete(analysis) >= 12 or run.run.is_done, timeout=120000)
    assert analysis.panel.current_view() is analysis.panel.views["history"]
    analysis.panel.flush()
    _check_screenshot(analysis, os.path.join(shots, "quick-start-live.png"))
    wait_task(qtbot, run.run, timeout=180000)
    assert run.is_done

    # live: the model gained trials while the run was going
    live = [n for n, going in seen if going]
    assert len({n for n in live if n < 40}) >= 2 and live[-1] > live[0], seen
    # the end: the last trials are read, polling stops, the runs list says finished
    qtbot.waitUntil(lambda: _complete(analysis) == 40, timeout=20000)
    assert not analysis.follow_action.isChecked()
    row = window.runs.model.rows[0]
    assert row.state == "finished" and row.complete == 40 and row.db_path
    assert window.run_dialog.label.text().startswith("Done. 40 of 40 trials done")


def test_open_on_an_example_only_opens_it(qtbot, window):
    welcome = window.welcome
    qtbot.waitUntil(lambda: welcome.examples.count() > 1, timeout=10000)
    assert (
        welcome.examples.item(0)
        .data(Qt.ItemDataRole.UserRole)
        .endswith(os.path.join("quadratic", "study.toml"))
    )  # the quick-start example is listed first
    with qtbot.waitSignal(window.document_opened, timeout=10000):
        qtbot.mouseClick(
            welcome.examples.itemWidget(welcome.examples.item(1)).open_button,
            Qt.MouseButton.LeftButton,
        )
    assert window.stack.currentWidget() is window.editor
    assert not any(h.name.startswith(LOCAL_RUN_TASK) for h in window.tasks.running())
    assert not window.runs.model.rows


def test_every_example_row_has_run_and_open(qtbot, window):
    welcome = window.welcome
    qtbot.waitUntil(lambda: welcome.examples.count() == 4, timeout=10000)
    for folder in ("quadratic", "conditional", "multi_objective", "shell"):
        button = welcome.run_button(folder)
        assert button.text() == "▶ Run" and button.isVisible()
        item_rect = welcome.examples.visualItemRect(
            next(
                welcome.examples.item(i)
                for i in range(4)
                if welcome.examples.itemWidget(welcome.examples.item(i)).run_button is button
            )
        )
        # the row is tall enough for its wrapped description and its buttons
        assert item_rect.height() >= button.sizeHint().height()


def test_a_second_run_of_an_example_gets_its_own_folder(tmp_path):
    study = tmp_path / "quadratic" / "study.toml"
    first = fresh_run_dir(str(study), "quadratic")
    assert first == L.default_run_dir(str(study), "quadratic")
    os.makedirs(first)
    second = fresh_run_dir(str(study), "quadratic")
    assert second == first + "-2"
    os.makedirs(second)
    assert fresh_run_dir(str(study), "quadratic") == first + "-3"
