"""Helpers for the GUI tests: wait for a task, edit a table cell with the keyboard, type."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QApplication, QTableView


def wait_task(qtbot, handle, timeout=20000):
    """Wait until a TaskHandle has ended; returns it."""
    if handle is not None and not handle.is_done:
        with qtbot.waitSignal(handle.ended, timeout=timeout):
            pass
    return handle


def edit_cell(qtbot, view: QTableView, row: int, column: int, text: str) -> None:
    """Type ``text`` into a table cell with the keyboard, as a user does (F2, type, Enter)."""
    show_tab_of(view)
    idx = view.model().index(row, column)
    view.setFocus()
    view.setCurrentIndex(idx)
    qtbot.keyClick(view, Qt.Key.Key_F2)
    editor = QApplication.focusWidget()
    assert editor is not None and editor is not view, "no cell editor opened"
    if hasattr(editor, "selectAll"):
        editor.selectAll()
    if hasattr(editor, "lineEdit") and editor.isEditable():
        editor.lineEdit().selectAll()
    if type(editor).__name__ == "QComboBox":
        editor.setCurrentIndex(editor.findText(text))
    else:
        qtbot.keyClicks(editor, text)
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    # the delegate commits by a queued call: let it run
    qtbot.waitUntil(lambda: view.state() != QAbstractItemView.State.EditingState, timeout=2000)


def show_tab_of(widget) -> None:
    """Make the tab page holding ``widget`` current, as a user would before editing it."""
    from PySide6.QtWidgets import QTabWidget

    w = widget
    while w is not None and not widget.isVisible():
        parent = w.parentWidget()
        tabs = parent.parentWidget() if parent is not None else None
        if isinstance(tabs, QTabWidget) and tabs.indexOf(w) >= 0:
            tabs.setCurrentWidget(w)
        w = parent


def type_into(qtbot, widget, text: str) -> None:
    show_tab_of(widget)
    widget.setFocus()
    widget.selectAll()
    qtbot.keyClicks(widget, text)
