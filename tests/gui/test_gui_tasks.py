"""The one background-work helper: results by signal, progress, cancel, newer cancels older,
errors reach the reporter, no exception of any thread is lost."""

from __future__ import annotations

import threading
import time

import pytest
from PySide6.QtCore import QThread
from support.gui_helpers import wait_task

from omniopt_desktop.errors import OmniOptError
from omniopt_desktop.gui.error_reporter import ErrorReporter, one_line
from omniopt_desktop.gui.tasks import TaskRunner


@pytest.fixture
def reporter(qtbot):
    return ErrorReporter()


@pytest.fixture
def runner(reporter):
    r = TaskRunner(reporter)
    yield r
    r.cancel_all()


def test_result_progress_and_partials_arrive_on_the_gui_thread(qtbot, runner):
    main = QThread.currentThread()
    seen = {"threads": set(), "progress": [], "partial": []}

    def work(state, n):
        seen["threads"].add(threading.current_thread().name)
        for i in range(n):
            state.set_progress((i + 1) / n, f"step {i + 1}")
            state.set_partial_result(i)
        return n * 10

    h = runner.submit(work, 3, name="work")
    h.progress_changed.connect(
        lambda f, t: seen["progress"].append((f, t, QThread.currentThread() is main))
    )
    h.partial_result_arrived.connect(lambda v: seen["partial"].append(v))
    with qtbot.waitSignal(h.succeeded, timeout=5000) as sig:
        pass
    assert sig.args == [30]
    assert threading.main_thread().name not in seen["threads"]
    qtbot.waitUntil(lambda: len(seen["partial"]) == 3)
    assert seen["partial"] == [0, 1, 2]
    assert all(on_main for *_x, on_main in seen["progress"])


def test_newer_task_on_a_channel_cancels_the_older(qtbot, runner):
    started = threading.Event()

    def slow(state):
        started.set()
        while not state.cancelled:
            time.sleep(0.01)
        return "old"

    old = runner.submit(slow, channel="c")
    started.wait(5)
    results = []
    old.succeeded.connect(results.append)
    with qtbot.waitSignal(old.cancelled, timeout=5000):
        new = runner.submit(lambda s: "new", channel="c")
    wait_task(qtbot, new)
    assert old.state.cancelled and old.is_done
    assert results == []


def test_cancel_runs_hooks_and_drops_the_result(qtbot, runner):
    hooked = threading.Event()
    release = threading.Event()

    def blocking(state):
        state.on_cancel(hooked.set)
        state.on_cancel(release.set)
        release.wait(5)
        return "late"

    h = runner.submit(blocking)
    got = []
    h.succeeded.connect(got.append)
    qtbot.wait(50)
    h.cancel()
    assert hooked.is_set() and h.is_done
    qtbot.wait(100)
    assert got == []


def test_errors_reach_the_reporter_in_one_line(qtbot, runner, reporter):
    def fails(state):
        raise OmniOptError("study.toml:3: something is wrong; fix it")

    with qtbot.waitSignal(reporter.error_reported, timeout=5000) as sig:
        runner.submit(fails, name="failing")
    assert sig.args == ["study.toml:3: something is wrong; fix it", "failing"]


def test_errors_handled_by_the_caller_are_not_reported_twice(qtbot, runner, reporter):
    h = runner.submit(lambda s: 1 / 0, handles_errors=True)
    with qtbot.waitSignal(h.failed, timeout=5000) as sig:
        pass
    assert isinstance(sig.args[0], ZeroDivisionError)
    qtbot.wait(50)
    assert reporter.history == []


def test_thread_and_sys_exceptions_are_not_lost(qtbot, reporter):
    reporter.install()
    try:
        with qtbot.waitSignal(reporter.error_reported, timeout=5000) as sig:
            t = threading.Thread(target=lambda: 1 / 0, name="stray")
            t.start()
            t.join()
        assert sig.args[0] == "ZeroDivisionError: division by zero"
        assert sig.args[1] == "stray"
        import sys

        with qtbot.waitSignal(reporter.error_reported, timeout=5000) as sig:
            try:
                raise ValueError("bad value")
            except ValueError as e:
                sys.excepthook(type(e), e, e.__traceback__)
        assert sig.args[0] == "ValueError: bad value"
    finally:
        reporter.uninstall()


def test_one_line():
    assert one_line(OmniOptError("a\nb")) == "a"
    assert one_line(FileNotFoundError(2, "No such file or directory", "/x")) == (
        "No such file or directory: /x"
    )
    assert one_line(RuntimeError()) == "RuntimeError"
