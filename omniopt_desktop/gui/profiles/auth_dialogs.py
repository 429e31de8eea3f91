"""Dialogs an SSH connection may need: unknown host key, password, key passphrase, 2FA."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)


def _secret_answer(secret: str, remember: bool) -> Any:
    from ...remote.callbacks import SecretAnswer

    return SecretAnswer(secret, remember)


class HostKeyDialog(QDialog):
    """Unknown host key: shows host, key type and SHA256 fingerprint; default is *not* to trust."""

    def __init__(self, info: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("host_key_dialog")
        self.setWindowTitle("Unknown host key")
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        text = QLabel(
            f"The authenticity of host <b>{info.host}</b> can't be established.<br>"
            "Compare the fingerprint with the one your cluster's documentation or admins "
            "publish. Only trust it when they match."
        )
        text.setWordWrap(True)
        self.fingerprint = QLabel(info.fingerprint)
        self.fingerprint.setObjectName("host_key_fingerprint")
        self.fingerprint.setFont(mono)
        self.fingerprint.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.fingerprint.setToolTip("The SHA256 fingerprint of the server's key, as ssh prints it")
        form = QFormLayout()
        form.addRow("Key type:", QLabel(info.key_type))
        form.addRow("Fingerprint:", self.fingerprint)
        buttons = QDialogButtonBox()
        self.trust_button = buttons.addButton(
            "&Trust and connect", QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.trust_button.setObjectName("host_key_trust_button")
        self.trust_button.setToolTip("Add the key to known_hosts and connect")
        cancel = buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        cancel.setToolTip("Do not connect")
        cancel.setDefault(True)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(text)
        layout.addLayout(form)
        layout.addWidget(buttons)
        self.resize(max(560, self.sizeHint().width()), self.sizeHint().height())

    def ask(self) -> bool:
        return self.exec() == QDialog.DialogCode.Accepted


class SecretDialog(QDialog):
    """Password of user@host or passphrase of a key file, with "remember in the keyring"."""

    def __init__(self, kind: str, request: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(f"{kind}_dialog")
        what = "Password" if kind == "password" else "Key passphrase"
        self.setWindowTitle(what)
        target = request.target
        prompt = (
            f"Password for <b>{target}</b>:"
            if kind == "password"
            else f"Passphrase of the key <b>{target}</b>:"
        )
        if getattr(request, "attempt", 1) > 1:
            prompt = "That did not work; try again.<br>" + prompt
        label = QLabel(prompt)
        label.setWordWrap(True)
        self.edit = QLineEdit()
        self.edit.setObjectName("secret_edit")
        self.edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.edit.setToolTip(f"{what}; it is never written to a file or log")
        label.setBuddy(self.edit)
        self.remember = QCheckBox("&Remember in the system keyring")
        self.remember.setObjectName("remember_checkbox")
        can = bool(getattr(request, "can_remember", True))
        self.remember.setEnabled(can)
        self.remember.setToolTip(
            "Store it in the keyring so you are not asked again"
            if can
            else "No usable system keyring: it cannot be stored and will be asked for each time"
        )
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(label)
        layout.addWidget(self.edit)
        layout.addWidget(self.remember)
        layout.addWidget(buttons)
        self.setMinimumWidth(440)  # user@host of a login node on one line

    def ask(self) -> Any:
        if self.exec() != QDialog.DialogCode.Accepted:
            return None
        return _secret_answer(self.edit.text(), self.remember.isChecked())


class InteractiveDialog(QDialog):
    """One keyboard-interactive round (two-factor codes): one field per prompt."""

    def __init__(self, round: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("interactive_dialog")
        self.setWindowTitle(round.name or f"Sign in to {round.target}")
        layout = QVBoxLayout(self)
        head = QLabel(f"<b>{round.target}</b> asks:")
        layout.addWidget(head)
        if round.instructions:
            ins = QLabel(round.instructions)
            ins.setWordWrap(True)
            layout.addWidget(ins)
        form = QFormLayout()
        self.edits: list[QLineEdit] = []
        for i, p in enumerate(round.prompts):
            e = QLineEdit()
            e.setObjectName(f"interactive_edit_{i}")
            if not p.echo:
                e.setEchoMode(QLineEdit.EchoMode.Password)
            e.setToolTip("Answers (e.g. one-time codes) are never stored")
            form.addRow(p.text.strip() or "Answer:", e)
            self.edits.append(e)
        layout.addLayout(form)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.setMinimumWidth(440)

    def ask(self) -> list[str] | None:
        if self.exec() != QDialog.DialogCode.Accepted:
            return None
        return [e.text() for e in self.edits]
