"""Cluster profiles: host (an ~/.ssh/config alias or user@host:port), remote base folder,
environment set-up lines, and "Test connection" (what ``ssh-check`` runs), all off the GUI
thread; host-key, password, passphrase and two-factor questions come as dialogs."""

from __future__ import annotations

import glob
import importlib
import os
from dataclasses import replace
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from ...cluster.defaults import DEFAULT_REMOTE_BASE
from ..settings import AppSettings, ClusterProfile
from ..tasks import TaskRunner, TaskState
from .prompts import GuiPrompts


def ssh_aliases(path: str | None = None, _depth: int = 0) -> list[str]:
    """Host aliases (no wildcards) from an OpenSSH client config, following Include."""
    path = path or os.path.expanduser("~/.ssh/config")
    out: list[str] = []
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = f.readlines()
    except OSError:
        return out
    base = os.path.dirname(path)
    for raw in lines:
        parts = raw.strip().replace("=", " ", 1).split()
        if len(parts) < 2 or parts[0].startswith("#"):
            continue
        key = parts[0].lower()
        if key == "host":
            out += [h for h in parts[1:] if not any(c in h for c in "*?!")]
        elif key == "include" and _depth < 8:
            for pattern in parts[1:]:
                pattern = os.path.expanduser(pattern)
                if not os.path.isabs(pattern):
                    pattern = os.path.join(base, pattern)
                for inc in sorted(glob.glob(pattern)):
                    out += ssh_aliases(inc, _depth + 1)
    return list(dict.fromkeys(out))


def check_connection(state: TaskState, profile: ClusterProfile, prompts: GuiPrompts) -> list[str]:
    """Connect and run what ``ssh-check`` runs; returns the report lines (worker thread)."""
    host = profile.host
    try:
        check = importlib.import_module("omniopt_desktop.remote.check")
    except ImportError:
        check = None
    if check is not None and hasattr(check, "ssh_check"):
        state.set_progress(None, f"Connecting to {host}…")
        session_mod = importlib.import_module("omniopt_desktop.remote.session")
        options = session_mod.SessionOptions(ssh_config=profile.ssh_config or None)
        result = check.ssh_check(
            host, callbacks=prompts, options=options, slurm_setup=profile.slurm_setup
        )
        return list(result.lines())
    # by name: the paramiko-using layer is reached at run time only (import-linter contract)
    session_mod = importlib.import_module("omniopt_desktop.remote.session")

    state.set_progress(None, f"Connecting to {host}…")
    session = session_mod.Session(host, prompts)
    state.on_cancel(session.close)
    with session.connect():
        info = session.info
        lines = [
            f"connected to {info.host}" if info else f"connected to {host}",
        ]
        if info:
            lines.append(f"host key {info.key_type} {info.fingerprint}")
            lines.append(f"authenticated by {', '.join(info.auth_methods) or '?'}")
            lines += [f"warning: {w}" for w in info.warnings]
        state.set_progress(None, "Checking the remote tools…")
        runner = session.runner()
        for label, cmd in (
            ("python3", "python3 --version 2>&1"),
            ("sbatch", "command -v sbatch || echo 'not found'"),
            ("home", "echo $HOME"),
        ):
            state.check_cancelled()
            r = runner.run(cmd, timeout=30)
            lines.append(f"{label}: {(r.stdout or r.stderr).strip() or '(no output)'}")
    return lines


class ProfilesDialog(QDialog):
    """Edits ``settings.profiles`` in place (saved by the caller)."""

    def __init__(
        self,
        settings: AppSettings,
        tasks: TaskRunner,
        parent: QWidget | None = None,
        ssh_config: str | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("profiles_dialog")
        self.setWindowTitle("Cluster profiles")
        self.settings = settings
        self.tasks = tasks
        self._current: str | None = None
        self._loading = False

        self.list = QListWidget()
        self.list.setObjectName("profiles_list")
        self.list.setToolTip("Your clusters; select one to edit it")
        self.list.currentItemChanged.connect(self._selected)
        add = QPushButton("&Add")
        add.setObjectName("profile_add_button")
        add.setToolTip("Add a cluster profile")
        add.clicked.connect(self.add_profile)
        self.remove_button = QPushButton("&Remove")
        self.remove_button.setObjectName("profile_remove_button")
        self.remove_button.setToolTip(
            "Remove the selected profile (remembered secrets stay in the keyring)"
        )
        self.remove_button.clicked.connect(self.remove_profile)
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(self.list, 1)
        lb = QHBoxLayout()
        lb.addWidget(add)
        lb.addWidget(self.remove_button)
        ll.addLayout(lb)

        self.form_box = QWidget()
        form = QFormLayout(self.form_box)
        self.name = QLineEdit()
        self.name.setObjectName("profile_name")
        self.name.setToolTip("A name for this cluster, shown in menus")
        self.host = QComboBox()
        self.host.setObjectName("profile_host")
        self.host.setEditable(True)
        self.host.lineEdit().setPlaceholderText("alias from ~/.ssh/config or user@host:port")
        self.host.setToolTip(
            "An alias from ~/.ssh/config (its user, port, key and ProxyJump apply) or user@host:port"
        )
        self.remote_base = QLineEdit()
        self.remote_base.setObjectName("profile_remote_base")
        self.remote_base.setPlaceholderText(DEFAULT_REMOTE_BASE)
        self.remote_base.setToolTip("Folder on the cluster where run folders are created")
        self.env_setup = QPlainTextEdit()
        self.env_setup.setObjectName("profile_env_setup")
        self.env_setup.setPlaceholderText("module load release/24.04 GCCcore/13.2.0 Python/3.11.5")
        self.env_setup.setToolTip("Shell lines run before every job, e.g. module load …")
        self.env_setup.setTabChangesFocus(True)
        self.env_setup.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.env_setup.setMaximumHeight(110)
        self.python = QLineEdit()
        self.python.setObjectName("profile_python")
        self.python.setPlaceholderText("python3")
        self.python.setToolTip("The Python 3.9+ on the cluster that makes the run's environment")
        self.slurm_setup = QLineEdit()
        self.slurm_setup.setObjectName("profile_slurm_setup")
        self.slurm_setup.setPlaceholderText("e.g. module load slurm (usually empty)")
        self.slurm_setup.setToolTip(
            "A shell line run before sbatch/squeue/sacct, when they need one"
        )
        self.wheelhouse = QLineEdit()
        self.wheelhouse.setObjectName("profile_wheelhouse")
        self.wheelhouse.setPlaceholderText("only for a cluster without internet")
        self.wheelhouse.setToolTip(
            "A folder on this machine with the wheels of optuna and its dependencies "
            "(pip download), installed on the cluster instead of from PyPI"
        )
        for label, w in (
            ("&Name:", self.name),
            ("&Host:", self.host),
            ("Remote &folder:", self.remote_base),
            ("&Environment set-up:", self.env_setup),
            ("P&ython on the cluster:", self.python),
            ("S&LURM set-up:", self.slurm_setup),
            ("&Wheelhouse:", self.wheelhouse),
        ):
            lab = QLabel(label)
            lab.setBuddy(w)
            form.addRow(lab, w)
        self.test_button = QPushButton("&Test connection")
        self.test_button.setObjectName("profile_test_button")
        self.test_button.setToolTip(
            "Connect (asking for host key, password, passphrase or 2FA code as needed) and "
            "check python3 and sbatch on the cluster"
        )
        self.test_button.clicked.connect(self.test_connection)
        self.test_output = QPlainTextEdit()
        self.test_output.setObjectName("profile_test_output")
        self.test_output.setReadOnly(True)
        self.test_output.setToolTip("What the connection test found")
        form.addRow("", self.test_button)
        form.addRow("Result:", self.test_output)
        for w in (self.name, self.remote_base, self.python, self.slurm_setup, self.wheelhouse):
            w.textEdited.connect(self._edited)
        self.host.editTextChanged.connect(self._edited)
        self.env_setup.textChanged.connect(self._edited)

        split = QSplitter()
        split.addWidget(left)
        split.addWidget(self.form_box)
        split.setStretchFactor(1, 3)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(split, 1)
        layout.addWidget(buttons)
        self.resize(780, 460)

        for p in settings.profiles:
            self.list.addItem(QListWidgetItem(p.name))
        self._update_enabled()
        if self.list.count():
            self.list.setCurrentRow(0)
        h = tasks.submit(lambda s: ssh_aliases(ssh_config), name="reading ~/.ssh/config")
        h.succeeded.connect(self._aliases_loaded)

    def _aliases_loaded(self, aliases: list[str]) -> None:
        text = self.host.currentText()
        self._loading = True
        self.host.clear()
        self.host.addItems(aliases)
        self.host.setEditText(text)
        self._loading = False

    # -- editing -----------------------------------------------------------------------------
    def _update_enabled(self) -> None:
        has = self._current is not None
        self.form_box.setEnabled(has)
        self.remove_button.setEnabled(has)

    def _selected(self, item: QListWidgetItem | None, _prev: Any = None) -> None:
        self._current = item.text() if item else None
        p = self.settings.profile(self._current) if self._current else None
        self._loading = True
        self.name.setText(p.name if p else "")
        self.host.setEditText(p.host if p else "")
        self.remote_base.setText(p.remote_base if p else "")
        self.env_setup.setPlainText("\n".join(p.env_setup) if p else "")
        self.python.setText(p.python if p and p.python != "python3" else "")
        self.slurm_setup.setText(p.slurm_setup if p else "")
        self.wheelhouse.setText(p.wheelhouse if p else "")
        self.test_output.setPlainText("")
        self._loading = False
        self._update_enabled()

    def current_profile(self) -> ClusterProfile | None:
        return self.settings.profile(self._current) if self._current else None

    def _edited(self, *_: Any) -> None:
        if self._loading or self._current is None:
            return
        name = self.name.text().strip() or self._current
        old = self.settings.profile(self._current) or ClusterProfile(self._current, "")
        profile = replace(
            old,
            name=name,
            host=self.host.currentText().strip(),
            remote_base=self.remote_base.text().strip() or DEFAULT_REMOTE_BASE,
            env_setup=tuple(
                line.rstrip() for line in self.env_setup.toPlainText().splitlines() if line.strip()
            ),
            python=self.python.text().strip() or "python3",
            slurm_setup=self.slurm_setup.text().strip(),
            wheelhouse=self.wheelhouse.text().strip(),
        )
        if name != self._current and self.settings.profile(name) is not None:
            return  # name taken: keep the old name until it is unique
        self.settings.put_profile(profile, old_name=self._current)
        if name != self._current:
            self.list.currentItem().setText(name)
            self._current = name

    def add_profile(self) -> None:
        taken = {p.name for p in self.settings.profiles}
        n, name = 1, "cluster"
        while name in taken:
            n += 1
            name = f"cluster {n}"
        self.settings.put_profile(ClusterProfile(name=name, host=""))
        self.list.addItem(QListWidgetItem(name))
        self.list.setCurrentRow(self.list.count() - 1)
        self.host.setFocus()

    def remove_profile(self) -> None:
        row = self.list.currentRow()
        if row < 0 or self._current is None:
            return
        self.settings.remove_profile(self._current)
        self.list.takeItem(row)
        if self.list.count() == 0:
            self._selected(None)

    # -- testing -----------------------------------------------------------------------------
    def test_connection(self) -> Any:
        p = self.current_profile()
        if p is None or not p.host:
            self.test_output.setPlainText("Enter a host first.")
            return None
        prompts = GuiPrompts(self)
        prompts.notified.connect(lambda m: self.test_output.appendPlainText(f"note: {m}"))

        def run(state: TaskState) -> list[str]:
            prompts.bind(state)
            return check_connection(state, p, prompts)

        self.test_output.setPlainText(f"Connecting to {p.host}…")
        self.test_button.setEnabled(False)
        h = self.tasks.submit(
            run, name=f"testing {p.host}", channel="profile-test", handles_errors=True
        )
        h.progress_changed.connect(lambda _f, t: self.test_output.appendPlainText(t))
        h.succeeded.connect(lambda lines: self.test_output.setPlainText("OK\n" + "\n".join(lines)))
        h.failed.connect(lambda e: self.test_output.setPlainText(f"Failed: {e}"))
        h.ended.connect(lambda: self.test_button.setEnabled(True))
        return h

    def keyPressEvent(self, event: Any) -> None:  # Enter in a field must not close the dialog
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            return
        super().keyPressEvent(event)
