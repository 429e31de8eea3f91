"""Build a study by driving the editor's widgets, save, reload, compare; validation as you type."""

from __future__ import annotations

import shlex

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox
from support.gui_helpers import edit_cell, type_into, wait_task

from omniopt_desktop.gui.editor.table_models import INVALID_BRUSH, ISSUE_ROLE
from omniopt_desktop.study.model import Direction, ParamType
from omniopt_desktop.study.toml_io import load_study
from omniopt_desktop.study.validate import validate


def test_build_save_reload_compare(qtbot, window, tmp_path):
    window.new_study()
    ed = window.editor
    doc = window.doc
    sp = ed.study_panel
    # [study]
    type_into(qtbot, sp.findChild(object, "field_study_name"), "gui_study")
    trials = sp.findChild(object, "field_study_n_trials")
    trials.setFocus()
    trials.lineEdit().selectAll()
    qtbot.keyClicks(trials, "25")
    sampler = sp.findChild(object, "field_study_sampler")
    sampler.setCurrentIndex(sampler.findText("random"))
    type_into(qtbot, sp.findChild(object, "field_study_seed"), "7")
    # objectives: rename, add a second one and maximise it
    ov = sp.objectives.view
    edit_cell(qtbot, ov, 0, 0, "loss")
    qtbot.mouseClick(sp.objectives.add_button, Qt.MouseButton.LeftButton)
    edit_cell(qtbot, ov, 1, 0, "accuracy")
    edit_cell(qtbot, ov, 1, 1, "maximize")
    # parameters: the default 'x', then an int, a choice with a list, a fixed and a conditional
    ed.tabs.setCurrentIndex(1)
    pp = ed.parameter_panel
    pv = pp.view
    m = pp.model
    edit_cell(qtbot, pv, 0, m.NAME, "lr")
    edit_cell(qtbot, pv, 0, m.LOW, "0.001")
    edit_cell(qtbot, pv, 0, m.HIGH, "0.1")
    pv.setCurrentIndex(m.index(0, m.LOG))
    qtbot.keyClick(pv, Qt.Key.Key_Space)  # toggles the check box
    qtbot.mouseClick(pp.add_button, Qt.MouseButton.LeftButton)
    edit_cell(qtbot, pv, 1, m.NAME, "layers")
    edit_cell(qtbot, pv, 1, m.TYPE, "int")
    edit_cell(qtbot, pv, 1, m.LOW, "1")
    edit_cell(qtbot, pv, 1, m.HIGH, "4")
    qtbot.mouseClick(pp.add_button, Qt.MouseButton.LeftButton)
    edit_cell(qtbot, pv, 2, m.NAME, "opt")
    edit_cell(qtbot, pv, 2, m.TYPE, "choice")
    edit_cell(qtbot, pv, 2, m.VALUES, "sgd, adam")
    qtbot.mouseClick(pp.add_button, Qt.MouseButton.LeftButton)
    edit_cell(qtbot, pv, 3, m.NAME, "momentum")
    edit_cell(qtbot, pv, 3, m.LOW, "0")
    edit_cell(qtbot, pv, 3, m.HIGH, "0.9")
    edit_cell(qtbot, pv, 3, m.WHEN, "opt == 'sgd'")
    # duplicate 'layers', turn the copy into a fixed parameter, move it up to the top
    pp.select_row(1)
    qtbot.mouseClick(pp.dup_button, Qt.MouseButton.LeftButton)
    assert doc.study.parameters[2].name == "layers_copy"
    edit_cell(qtbot, pv, 2, m.NAME, "tag")
    edit_cell(qtbot, pv, 2, m.TYPE, "fixed")
    edit_cell(qtbot, pv, 2, m.VALUES, "run 1")
    pp.select_row(2)
    pv.setFocus()
    qtbot.keyClick(pv, Qt.Key.Key_Up, Qt.KeyboardModifier.AltModifier)
    qtbot.keyClick(pv, Qt.Key.Key_Up, Qt.KeyboardModifier.AltModifier)
    assert [p.name for p in doc.study.parameters] == ["tag", "lr", "layers", "opt", "momentum"]
    # a constraint
    ed.tabs.setCurrentIndex(0)
    cp = sp.constraints
    qtbot.mouseClick(cp.add_button, Qt.MouseButton.LeftButton)
    edit_cell(qtbot, cp.view, 0, 0, "layers <= 3")
    # [program]
    ed.tabs.setCurrentIndex(2)
    prog = ed.program_panel
    type_into(qtbot, prog.command, "python3 train.py --lr %(lr) --layers %(layers) ")
    prog.insert_placeholder("tag")
    type_into(qtbot, prog.timeout, "10m")
    # [resources]
    ed.tabs.setCurrentIndex(3)
    rp = ed.resources_panel
    type_into(qtbot, rp.findChild(object, "field_resources_mem"), "2G")
    part = rp.partition
    part.setFocus()
    part.lineEdit().selectAll()
    qtbot.keyClicks(part.lineEdit(), "gpu")

    assert doc.is_valid, [str(i) for i in doc.issues]
    assert window.act_run.isEnabled()
    assert window.isWindowModified()

    path = tmp_path / "built.toml"
    wait_task(qtbot, window._save_to(str(path)))
    assert not doc.dirty and not window.isWindowModified()
    assert str(path) in window.settings.recent_files

    loaded = load_study(str(path)).study
    assert loaded.to_dict() == doc.study.to_dict()
    assert loaded.name == "gui_study" and loaded.n_trials == 25
    assert loaded.sampler == "random" and loaded.seed == 7
    assert [(o.name, o.direction) for o in loaded.objectives] == [
        ("loss", Direction.MINIMIZE),
        ("accuracy", Direction.MAXIMIZE),
    ]
    by_name = {p.name: p for p in loaded.parameters}
    assert by_name["tag"].type is ParamType.FIXED and by_name["tag"].value == "run 1"
    assert (by_name["lr"].low, by_name["lr"].high, by_name["lr"].log) == (0.001, 0.1, True)
    assert by_name["layers"].type is ParamType.INT and (
        by_name["layers"].low,
        by_name["layers"].high,
    ) == (1, 4)
    assert by_name["opt"].type is ParamType.CHOICE and by_name["opt"].values == ["sgd", "adam"]
    assert by_name["momentum"].when == "opt == 'sgd'"
    assert loaded.constraints == ["layers <= 3"]
    assert loaded.program.command == "python3 train.py --lr %(lr) --layers %(layers) %(tag)"
    assert loaded.program.timeout == "10m"
    assert loaded.resources.mem == "2G" and loaded.resources.partition == "gpu"

    # reopen through the window: the editor shows what was saved
    window.set_document(None)
    wait_task(qtbot, window.open_path(str(path)))
    assert window.doc.study.to_dict() == loaded.to_dict()
    assert window.editor.parameter_panel.model.rowCount() == 5
    # the preview is the command as it would run, quoted
    prog = window.editor.program_panel
    prog.update_preview()
    words = shlex.split(prog.preview.toPlainText())
    assert words[:3] == ["python3", "train.py", "--lr"] and words[-1] == "run 1"


def test_bad_bound_marks_the_cell_shows_the_message_and_disables_run(qtbot, window):
    window.new_study()
    pp = window.editor.parameter_panel
    m = pp.model
    assert window.act_run.isEnabled() and window.act_submit.isEnabled()
    edit_cell(qtbot, pp.view, 0, m.LOW, "10")  # default x is -5..5
    idx = m.index(0, m.LOW)
    expected = [i.message for i in validate(window.doc.study)]
    assert m.data(idx, ISSUE_ROLE) == expected
    assert "low (10.0) must be below high (5.0)" in expected[0]
    assert m.data(idx, Qt.ItemDataRole.BackgroundRole) == INVALID_BRUSH
    assert expected[0] in m.data(idx, Qt.ItemDataRole.ToolTipRole)
    assert m.data(m.index(0, m.HIGH), Qt.ItemDataRole.BackgroundRole) is None
    assert pp.message.isVisible() and expected[0] in pp.message.text()
    assert not window.act_run.isEnabled() and not window.act_submit.isEnabled()
    assert window.editor.issues.count() == 1
    assert "⚠1" in window.editor.tabs.tabText(1)
    # fixing it re-enables Run
    edit_cell(qtbot, pp.view, 0, m.LOW, "-1")
    assert window.act_run.isEnabled() and not pp.message.isVisible()


def test_form_field_marked_with_message_beside_it(qtbot, window):
    window.new_study()
    sp = window.editor.study_panel
    name = sp.findChild(object, "field_study_name")
    name.setFocus()
    name.selectAll()
    qtbot.keyClick(name, Qt.Key.Key_Backspace)  # the user empties the name
    assert window.doc.study.name == ""
    label = sp.findChild(object, "field_study_name_issue")
    assert name.property("invalid") is True
    assert label.isVisible() and "name is missing" in label.text()
    assert "name is missing" in name.toolTip()
    assert not window.act_run.isEnabled()
    qtbot.keyClicks(name, "ok")
    assert name.property("invalid") is False and not label.isVisible()
    assert window.act_run.isEnabled()


def test_issue_list_jumps_to_the_field(qtbot, window):
    window.new_study()
    window.doc.set(("program", "timeout"), "soon")
    ed = window.editor
    assert ed.issues.count() == 1
    ed._jump(ed.issues.item(0))
    assert ed.tabs.currentIndex() == 2
    assert ed.program_panel.timeout.hasFocus()


def test_every_editor_field_has_a_tooltip(window):
    window.new_study()
    from PySide6.QtWidgets import QAbstractButton, QComboBox, QLineEdit, QPlainTextEdit, QSpinBox

    missing = []
    for cls in (QLineEdit, QSpinBox, QComboBox, QPlainTextEdit, QAbstractButton):
        for w in window.editor.findChildren(cls):
            # parts of compound widgets (a combo box's line edit, a tab bar's scroll buttons)
            if type(w.parent()).__name__ in ("QComboBox", "QSpinBox", "QTabBar"):
                continue
            if w.objectName().startswith("qt_"):
                continue
            if not w.toolTip():
                missing.append(
                    f"{type(w).__name__} {w.objectName()!r} {getattr(w, 'text', lambda: '')()!r}"
                )
    assert not missing, missing
    m = window.editor.parameter_panel.model
    for c in range(m.columnCount()):
        assert m.headerData(c, Qt.Orientation.Horizontal, Qt.ItemDataRole.ToolTipRole)
        assert m.data(m.index(0, c), Qt.ItemDataRole.ToolTipRole)


def test_keyboard_reaches_every_form_field(qtbot, window):
    window.new_study()
    sp = window.editor.study_panel
    first = sp.findChild(object, "field_study_name")
    first.setFocus()
    seen = set()
    w = first
    for _ in range(40):
        seen.add(w.objectName())
        w = w.nextInFocusChain()
        while not (w.focusPolicy() & Qt.FocusPolicy.TabFocus) or not w.isVisible():
            w = w.nextInFocusChain()
    for name in (
        "field_study_n_trials",
        "field_study_sampler",
        "field_study_seed",
        "field_study_storage",
        "field_study_max_retries",
        "objective_table",
        "constraint_table",
    ):
        assert name in seen, name


def test_unsaved_changes_guard(qtbot, window, monkeypatch):
    window.new_study()
    window.doc.set(("study", "name"), "changed")
    assert window.isWindowModified()
    monkeypatch.setattr(QMessageBox, "exec", lambda self: QMessageBox.StandardButton.Cancel)
    window.close_study()
    assert window.doc is not None  # cancelled: still open
    monkeypatch.setattr(QMessageBox, "exec", lambda self: QMessageBox.StandardButton.Discard)
    window.close_study()
    assert window.doc is None and window.stack.currentWidget() is window.welcome


def test_choice_values_dialog(qtbot, window, monkeypatch):
    from omniopt_desktop.gui.editor.choice_values import ChoiceValuesDialog

    window.new_study()
    doc = window.doc
    doc.set(("parameter", 0, "type"), "choice")
    dlg = ChoiceValuesDialog("x", ["a", 2], window)
    qtbot.addWidget(dlg)
    dlg.list.setFocus()
    dlg.add_value()
    dlg.list.currentItem().setText("true")
    dlg.list.setCurrentRow(0)
    dlg._move(1)
    assert dlg.values() == [2, "a", True]
    monkeypatch.setattr(ChoiceValuesDialog, "exec", lambda self: 1)
    monkeypatch.setattr(ChoiceValuesDialog, "values", lambda self: ["u", "v"])
    window.editor.parameter_panel.select_row(0)
    window.editor.parameter_panel.edit_values()
    assert doc.study.parameters[0].values == ["u", "v"]


def test_a_missing_program_is_a_warning_that_does_not_disable_run(qtbot, window, tmp_path):
    path = tmp_path / "study.toml"
    path.write_text(
        '[study]\nname = "s"\nn_trials = 3\n[[objective]]\nname = "RESULT"\n'
        '[program]\ncommand = "python3 train.py --x %(x)"\n'
        '[[parameter]]\nname = "x"\ntype = "float"\nlow = 0\nhigh = 1\n'
    )
    wait_task(qtbot, window.open_path(str(path)))
    ed = window.editor
    assert ed.issues.count() == 1 and window.act_run.isEnabled()
    assert "script train.py does not exist" in ed.issues.item(0).text()
    assert ed.issues_title.text() == "No problems: the study can run. 1 warning:"
    ed._jump(ed.issues.item(0))
    assert ed.tabs.currentIndex() == 2
    # the script appears, or the command is fixed: the warning goes
    (tmp_path / "train2.py").write_text("print('RESULT: 1')\n")
    window.doc.set(("program", "command"), "python3 train2.py --x %(x)")
    assert ed.issues.count() == 0 and ed.issues_title.text() == "No problems: the study can run."
