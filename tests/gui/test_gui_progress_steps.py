"""The submission's progress dialog: the step under way is marked ✗ when the task fails, and
the step list is as tall as its rows (no empty box under the last step)."""

from __future__ import annotations

from support.gui_helpers import wait_task

from omniopt_desktop.errors import ClusterError
from omniopt_desktop.gui.cluster_launch import SUBMIT_STEPS, submit_step
from omniopt_desktop.gui.progress_dialog import TaskProgressDialog


def test_a_failed_submission_marks_its_step(qtbot, window):
    def submit(state):
        state.set_progress(None, "Connecting to login1…")
        state.set_progress(None, "creating the virtual environment")
        raise ClusterError("environment setup on login1 failed: no internet")

    handle = window.tasks.submit(submit, name="failing submission", handles_errors=True)
    dialog = TaskProgressDialog(handle, "Submitting", SUBMIT_STEPS, window, submit_step)
    qtbot.addWidget(dialog)
    dialog.show()
    wait_task(qtbot, handle)
    texts = [dialog.steps.item(i).text() for i in range(dialog.steps.count())]
    assert texts == [
        f"✓ {SUBMIT_STEPS[0]}",
        f"✗ {SUBMIT_STEPS[1]}",
        f"○ {SUBMIT_STEPS[2]}",
        f"○ {SUBMIT_STEPS[3]}",
    ]
    assert dialog.label.text().startswith("Failed: environment setup on login1 failed")
    rows = dialog.steps.sizeHintForRow(0) * len(SUBMIT_STEPS)
    assert rows <= dialog.steps.height() <= rows + 4 * dialog.steps.frameWidth() + 8
