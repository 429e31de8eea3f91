"""The SSH session's AuthCallbacks answered with dialogs on the GUI thread.

The session calls these methods on its (worker) thread; each call is handed to the GUI thread
by a queued signal and the worker waits for the answer. A cancelled task stops waiting and
answers "no" (None), so a cancelled connection never hangs on an unanswered dialog.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal
from PySide6.QtWidgets import QWidget

from ..tasks import TaskState
from .auth_dialogs import HostKeyDialog, InteractiveDialog, SecretDialog


@dataclass
class _Ask:
    kind: str
    payload: Any
    done: threading.Event = field(default_factory=threading.Event)
    answer: Any = None


class _Bridge(QObject):
    asked = Signal(object)
    notified = Signal(str)


class GuiPrompts:
    """Implements ``omniopt_desktop.remote.callbacks.AuthCallbacks`` with dialogs."""

    def __init__(self, parent: QWidget | None = None) -> None:
        self.parent = parent
        self.notices: list[str] = []
        self._state: TaskState | None = None
        self._bridge = _Bridge()
        self._bridge.asked.connect(self._on_asked)
        self.notified = self._bridge.notified  # Signal(str) on the GUI thread

    def bind(self, state: TaskState) -> None:
        """Stop waiting for answers once ``state`` is cancelled."""
        self._state = state

    # -- protocol (worker thread) ------------------------------------------------------------
    def confirm_host_key(self, info: Any) -> bool:
        return bool(self._ask("host_key", info))

    def ask_password(self, request: Any) -> Any:
        return self._ask("password", request)

    def ask_passphrase(self, request: Any) -> Any:
        return self._ask("passphrase", request)

    def ask_interactive(self, round: Any) -> list[str] | None:
        return self._ask("interactive", round)

    def notify(self, message: str) -> None:
        self.notices.append(message)
        self._bridge.notified.emit(message)

    # -- plumbing ----------------------------------------------------------------------------
    def _ask(self, kind: str, payload: Any) -> Any:
        ask = _Ask(kind, payload)
        if QThread.currentThread() is self._bridge.thread():
            self._on_asked(ask)
            return ask.answer
        self._bridge.asked.emit(ask)
        while not ask.done.wait(0.1):
            if self._state is not None and self._state.cancelled:
                return None
        return ask.answer

    def _on_asked(self, ask: _Ask) -> None:
        try:
            if self._state is not None and self._state.cancelled:
                return
            ask.answer = self.answer(ask.kind, ask.payload)
        finally:
            ask.done.set()

    def answer(self, kind: str, payload: Any) -> Any:
        """Show the dialog for ``kind`` (GUI thread) and return the answer."""
        if kind == "host_key":
            return HostKeyDialog(payload, self.parent).ask()
        if kind in ("password", "passphrase"):
            return SecretDialog(kind, payload, self.parent).ask()
        if kind == "interactive":
            return InteractiveDialog(payload, self.parent).ask()
        raise ValueError(kind)
