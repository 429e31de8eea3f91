"""A yes/no question before something that cannot be undone (stop runs, cancel a cluster run)."""

from __future__ import annotations

from typing import Optional

from PySide6.QtWidgets import QMessageBox, QWidget


def ask_yes_no(
    parent: QWidget,
    name: str,
    icon: QMessageBox.Icon,
    title: str,
    text: str,
    info: str,
    yes: str,
    no: Optional[str] = None,
) -> bool:
    """True when the user chose ``yes``; "No" (or ``no``) is the default button. ``name`` is
    the box's object name (tests answer boxes by it)."""
    box = QMessageBox(parent)
    box.setObjectName(name)
    box.setIcon(icon)
    box.setWindowTitle(title)
    box.setText(text)
    box.setInformativeText(info)
    box.setStandardButtons(QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
    box.button(QMessageBox.StandardButton.Yes).setText(yes)
    if no is not None:
        box.button(QMessageBox.StandardButton.No).setText(no)
    box.setDefaultButton(QMessageBox.StandardButton.No)
    return box.exec() == QMessageBox.StandardButton.Yes
