"""A study file with OmniOpt keys (max_eval, run_program, min/max) opened in the app: one button
makes it runnable (no field of the editor could clear those problems before)."""

from __future__ import annotations

from support.gui_helpers import wait_task

from omniopt_desktop.study.toml_io import load_study

TEXT = """[study]
name = "a"
max_eval = 30
[program]
run_program = "echo RESULT: %(x)"
[[parameter]]
name = "x"
min = 0
max = 1
"""


def test_fix_unknown_keys_button_makes_the_study_runnable(qtbot, window, tmp_path):
    path = tmp_path / "study.toml"
    path.write_text(TEXT)
    wait_task(qtbot, window.open_path(str(path)))
    qtbot.waitUntil(lambda: window.doc is not None, timeout=10000)
    editor = window.editor
    assert editor.fix_keys.isVisible() and not window.act_run.isEnabled()
    editor.fix_keys.click()
    assert "4 keys fixed; save to keep" == editor.fix_note.text()
    assert "max_eval = 30 → n_trials = 30" in editor.fix_note.toolTip()
    qtbot.waitUntil(window.act_run.isEnabled, timeout=5000)
    assert not editor.fix_keys.isVisible()
    assert window.doc.dirty
    window.doc.save()
    assert load_study(str(path)).all_issues() == []
