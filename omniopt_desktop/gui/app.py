"""Start the desktop app: ``run(study_path, screenshot)`` (called by ``omniopt-desktop``)."""

from __future__ import annotations

import os
import signal
import sys

from PySide6.QtCore import QEventLoop, QThreadPool, QTimer
from PySide6.QtWidgets import QApplication, QWidget

from ..errors import OmniOptError
from .error_reporter import ErrorReporter
from .main_window import MainWindow
from .tasks import TaskHandle


def application() -> QApplication:
    app = QApplication.instance()
    if app is None:
        app = QApplication(sys.argv[:1])
        app.setApplicationName("OmniOpt Desktop")
        app.setOrganizationName("omniopt-desktop")
        app.setDesktopFileName("omniopt-desktop")
    assert isinstance(app, QApplication)
    return app


def wait_for(handle: TaskHandle | None, timeout_ms: int = 30000) -> None:
    """Run the event loop until ``handle`` has ended (or the timeout passes)."""
    if handle is None or handle.is_done:
        return
    loop = QEventLoop()
    handle.ended.connect(loop.quit)
    QTimer.singleShot(timeout_ms, loop.quit)
    loop.exec()


def settle(ms: int = 300) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def save_screenshot(widget: QWidget, path: str) -> str:
    """Render ``widget`` (with its children and docks) to an image file."""
    path = os.path.abspath(path)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if not widget.grab().save(path):
        raise OmniOptError(f"{path}: cannot write the screenshot (unknown image type or no access)")
    return path


def close_on_signals(app: QApplication, window: QWidget) -> QTimer:
    """Ctrl-C in the terminal or a SIGTERM closes the window as its close button does (unsaved
    edits and running local runs are asked about; a run is stopped so it can resume); a second
    signal quits at once. The returned timer lets Python see signals while Qt's loop runs."""
    signals = []

    def handler(signum: int, _frame: object) -> None:
        signals.append(signum)
        if len(signals) == 1:
            QTimer.singleShot(0, window.close)
        else:
            app.quit()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, handler)
    timer = QTimer(window)
    timer.timeout.connect(lambda: None)
    timer.start(250)
    return timer


def run(study_path: str | None = None, screenshot: str | None = None) -> int:
    """The GUI main loop; with ``screenshot``, render the window to that file and return."""
    app = application()
    reporter = ErrorReporter()
    reporter.install()
    window = MainWindow(reporter=reporter)
    window.show()
    if not screenshot:
        window.warm_up()
    handle = window.open_path(study_path) if study_path else None
    if screenshot:
        wait_for(handle)
        settle()
        failed = reporter.history
        path = save_screenshot(window, screenshot)
        window.tasks.cancel_all()
        window.save_layout()
        QThreadPool.globalInstance().waitForDone(10000)  # no worker outlives its signals
        reporter.uninstall()
        if failed:
            raise OmniOptError(failed[-1][0])
        print(path)
        return 0
    window.runs.refresh()
    close_on_signals(app, window)
    code = app.exec()
    window.tasks.cancel_all()
    QThreadPool.globalInstance().waitForDone(10000)
    reporter.uninstall()
    return int(code)
