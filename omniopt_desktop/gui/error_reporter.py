"""The one place errors reach the user, from any thread.

``ErrorReporter.install()`` hooks ``sys.excepthook`` and ``threading.excepthook`` so an
exception in a worker thread or a slot is never lost. Every report is turned into one line
(an :class:`OmniOptError`'s message as it is; anything else prefixed with its type) and
emitted as ``error_reported`` on the GUI thread; the main window shows it. The full traceback
of unexpected errors goes to the log, never to the dialog.
"""

from __future__ import annotations

import logging
import sys
import threading
from types import TracebackType
from typing import Any

from PySide6.QtCore import QObject, Signal

from ..errors import OmniOptError

log = logging.getLogger(__name__)


def one_line(error: BaseException) -> str:
    """The text the user sees for ``error``: one line, no traceback."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    if isinstance(error, OmniOptError):
        return text or type(error).__name__
    if isinstance(error, OSError) and error.strerror:
        where = f": {error.filename}" if error.filename else ""
        return f"{error.strerror}{where}"
    name = type(error).__name__
    return f"{name}: {text}" if text else name


class ErrorReporter(QObject):
    """Collects errors and announces them (``error_reported(line, context)``) on the GUI thread."""

    error_reported = Signal(str, str)
    _reported = Signal(str, str)  # emitted from any thread, relayed on the GUI thread

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.history: list[tuple[str, str]] = []
        self._old_hooks: tuple[Any, Any] | None = None
        self._reported.connect(self._relay)

    def report(self, line: str, context: str = "") -> None:
        self._reported.emit(line, context)

    def report_exception(self, error: BaseException, context: str = "") -> None:
        if not isinstance(error, OmniOptError):
            log.error(
                "unexpected error%s",
                f" in {context}" if context else "",
                exc_info=(type(error), error, error.__traceback__),
            )
        self.report(one_line(error), context)

    def _relay(self, line: str, context: str) -> None:
        self.history.append((line, context))
        self.error_reported.emit(line, context)

    # -- hooks -----------------------------------------------------------------------------
    def install(self) -> None:
        """Route uncaught exceptions (any thread) here. ``uninstall`` restores the old hooks."""
        if self._old_hooks is None:
            self._old_hooks = (sys.excepthook, threading.excepthook)
            sys.excepthook = self._excepthook
            threading.excepthook = self._thread_excepthook

    def uninstall(self) -> None:
        if self._old_hooks is not None:
            sys.excepthook, threading.excepthook = self._old_hooks
            self._old_hooks = None

    def _excepthook(
        self, etype: type[BaseException], value: BaseException, tb: TracebackType | None
    ) -> None:
        if issubclass(etype, KeyboardInterrupt):
            sys.__excepthook__(etype, value, tb)
            return
        self.report_exception(value.with_traceback(tb), context="")

    def _thread_excepthook(self, args: threading.ExceptHookArgs) -> None:
        if args.exc_value is None or isinstance(args.exc_value, SystemExit):
            return
        name = args.thread.name if args.thread else "thread"
        self.report_exception(args.exc_value, context=name)
