"""The one way the GUI does slow work: a task function on a worker thread, results by signal.

A task is a plain function ``fn(state, *args, **kwargs)`` that runs off the GUI thread (via
superqt's ``create_worker``). It reports through its :class:`TaskState`: ``set_progress``,
``set_partial_result``, and checks ``cancelled`` (or registers ``on_cancel`` hooks that break
a blocking call, e.g. closing a socket). The GUI gets a :class:`TaskHandle` whose signals
arrive on the GUI thread. Starting a task on a ``channel`` cancels the older task on that
channel; a cancelled task's results are dropped. Errors go to the handle's ``failed`` signal
and, unless the caller handles them, to the one :class:`~.error_reporter.ErrorReporter`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal
from superqt.utils import create_worker

from .error_reporter import ErrorReporter


class TaskCancelled(Exception):
    """Raised inside a task by :meth:`TaskState.check_cancelled`; never shown to the user."""


class TaskState:
    """What a running task sees. Safe to use from the worker thread."""

    def __init__(self, handle: TaskHandle) -> None:
        self._handle = handle
        self._cancel = threading.Event()
        self._hooks: list[Callable[[], None]] = []
        self._lock = threading.Lock()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def check_cancelled(self) -> None:
        if self._cancel.is_set():
            raise TaskCancelled()

    def set_progress(self, fraction: float | None, text: str = "") -> None:
        """``fraction`` in 0..1, or None when unknown (busy indicator)."""
        if not self._cancel.is_set():
            self._handle._progress.emit(-1.0 if fraction is None else float(fraction), text)

    def set_partial_result(self, value: Any) -> None:
        if not self._cancel.is_set():
            self._handle._partial.emit(value)

    def on_cancel(self, hook: Callable[[], None]) -> None:
        """Call ``hook()`` (from the GUI thread) when the task is cancelled."""
        with self._lock:
            if not self._cancel.is_set():
                self._hooks.append(hook)
                return
        hook()

    def _request_cancel(self) -> None:
        with self._lock:
            self._cancel.set()
            hooks, self._hooks = self._hooks, []
        for hook in hooks:
            try:
                hook()
            except Exception:  # a hook that fails must not stop the others
                pass


class TaskHandle(QObject):
    """One submitted task. Signals arrive on the GUI thread; exactly one of ``succeeded``,
    ``failed`` or ``cancelled`` is emitted, then ``ended``."""

    progress_changed = Signal(float, str)  # fraction (-1 = unknown), text
    partial_result_arrived = Signal(object)
    succeeded = Signal(object)
    failed = Signal(object)  # the exception
    cancelled = Signal()
    ended = Signal()

    _progress = Signal(float, str)
    _partial = Signal(object)

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self.state = TaskState(self)
        self.handles_errors = False  # set by callers that show the error themselves
        self._done = False
        self._progress.connect(self._relay_progress)
        self._partial.connect(self._relay_partial)

    @property
    def is_done(self) -> bool:
        return self._done

    def cancel(self) -> None:
        """Ask the task to stop; its results are dropped and ``cancelled`` is emitted now."""
        if self._done:
            return
        self.state._request_cancel()
        self._finish(lambda: self.cancelled.emit())

    def _relay_progress(self, fraction: float, text: str) -> None:
        if not self._done:
            self.progress_changed.emit(fraction, text)

    def _relay_partial(self, value: Any) -> None:
        if not self._done:
            self.partial_result_arrived.emit(value)

    def _on_returned(self, value: Any) -> None:
        if not self._done and not self.state.cancelled:
            self._finish(lambda: self.succeeded.emit(value))

    def _on_errored(self, error: BaseException) -> None:
        if self._done or self.state.cancelled:
            return
        if isinstance(error, TaskCancelled):
            self._finish(lambda: self.cancelled.emit())
            return
        self._finish(lambda: self.failed.emit(error))

    def _finish(self, emit: Callable[[], None]) -> None:
        self._done = True
        emit()
        self.ended.emit()


class TaskRunner(QObject):
    """Starts tasks on worker threads; one task per channel at a time (newer cancels older)."""

    task_started = Signal(object)  # TaskHandle
    task_ended = Signal(object)

    def __init__(self, reporter: ErrorReporter, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._reporter = reporter
        self._channels: dict[str, TaskHandle] = {}
        self._running: set[TaskHandle] = set()
        self._workers: dict[TaskHandle, Any] = {}

    def submit(
        self,
        fn: Callable[..., Any],
        *args: Any,
        name: str = "",
        channel: str | None = None,
        handles_errors: bool = False,
        **kwargs: Any,
    ) -> TaskHandle:
        """Run ``fn(state, *args, **kwargs)`` on a worker thread; returns its handle.

        With ``handles_errors`` the caller shows failures itself (connect ``failed``);
        otherwise they go to the error reporter.
        """
        if channel is not None and channel in self._channels:
            self._channels.pop(channel).cancel()
        handle = TaskHandle(name or getattr(fn, "__name__", "task"), self)
        handle.handles_errors = handles_errors
        if channel is not None:
            self._channels[channel] = handle
        self._running.add(handle)
        handle.failed.connect(lambda e, h=handle: self._on_failed(h, e))
        handle.ended.connect(lambda h=handle, c=channel: self._on_ended(h, c))
        worker = create_worker(
            _call, handle.state, fn, args, kwargs, _start_thread=False, _ignore_errors=True
        )
        worker.returned.connect(handle._on_returned)
        worker.errored.connect(handle._on_errored)
        self._workers[handle] = worker
        worker.finished.connect(lambda h=handle: self._workers.pop(h, None))
        self.task_started.emit(handle)
        worker.start()
        return handle

    def running(self) -> list[TaskHandle]:
        return [h for h in self._running if not h.is_done]

    def cancel_all(self) -> None:
        for handle in list(self._running):
            handle.cancel()

    def _on_failed(self, handle: TaskHandle, error: BaseException) -> None:
        if not handle.handles_errors:
            self._reporter.report_exception(error, context=handle.name)

    def _on_ended(self, handle: TaskHandle, channel: str | None) -> None:
        self._running.discard(handle)
        if channel is not None and self._channels.get(channel) is handle:
            del self._channels[channel]
        self.task_ended.emit(handle)


def _call(state: TaskState, fn: Callable[..., Any], args: tuple, kwargs: dict) -> Any:
    state.check_cancelled()
    return fn(state, *args, **kwargs)
