"""The GUI's background polling of cluster runs, with scripted status answers: polls run as
tasks, back off while the cluster cannot be reached, stop when the run is finished or nobody
watches; the runs list shows job states, counts and a stale marker; a monitor window gets all
trials first, then only the new ones. (The real cluster: test_gui_live_monitor.py.)"""

from __future__ import annotations

import pytest
from support.scripted_runs import ScriptedRuns, demo_record, finished_status, stale, status, trial

from omniopt_desktop.errors import RemoteError
from omniopt_desktop.gui.error_reporter import ErrorReporter
from omniopt_desktop.gui.live_runs import LiveRuns
from omniopt_desktop.gui.remote_monitor import RemoteMonitorWindow
from omniopt_desktop.gui.runs_list import RunRow, RunsPanel
from omniopt_desktop.gui.tasks import TaskRunner


@pytest.fixture
def tasks(qtbot):
    return TaskRunner(ErrorReporter())


def _live(tasks, script, **kw):
    runs = ScriptedRuns(script)
    opened = []

    def open_runs(record, prompts):
        opened.append(record.run_id)
        item = kw.pop("connect_error", None)
        if item is not None:
            raise item
        return runs

    live = LiveRuns(tasks, open_runs=open_runs, interval=0.01, max_interval=0.05)
    return live, runs, opened


def test_polling_stops_when_the_run_is_finished(qtbot, tasks, tmp_path):
    script = [status([trial(0, "RUNNING")]), status([trial(0)]), finished_status([trial(1)])]
    live, runs, _ = _live(tasks, script)
    poller = live.poller(demo_record(tmp_path))
    owner = object()
    with qtbot.waitSignal(poller.finished, timeout=10000):
        poller.subscribe(owner)
    assert len(runs.calls) == 3 and not poller.active
    qtbot.wait(200)
    assert len(runs.calls) == 3  # no poll after the end
    assert poller.last.controller_state == "done"


def test_unsubscribing_stops_and_stale_polls_back_off(qtbot, tasks, tmp_path):
    script = [status([trial(0)]), stale(), RemoteError("connection lost"), stale(), stale()]
    live, runs, _ = _live(tasks, script)
    poller = live.poller(demo_record(tmp_path))
    updates = []
    poller.updated.connect(updates.append)
    owner = object()
    poller.subscribe(owner)
    qtbot.waitUntil(lambda: len(updates) >= 5, timeout=10000)
    assert [u.status.stale for u in updates[:5]] == [False, True, True, True, True]
    assert updates[2].status.error == "connection lost"
    assert updates[3].status.counts == {"COMPLETE": 1}  # last known counts kept
    assert poller.next_interval == 0.05  # backed off to the cap
    poller.unsubscribe(owner)
    assert not poller.active
    n = len(runs.calls)
    qtbot.wait(200)
    assert len(runs.calls) == n


def test_a_connection_that_fails_gives_stale_and_is_tried_again(qtbot, tasks, tmp_path):
    live, runs, opened = _live(
        tasks, [status([trial(0)])], connect_error=RemoteError("no route to host")
    )
    poller = live.poller(demo_record(tmp_path))
    updates = []
    poller.updated.connect(updates.append)
    poller.subscribe(object())
    qtbot.waitUntil(lambda: len(updates) >= 2, timeout=10000)
    assert updates[0].status.stale and "no route to host" in updates[0].status.error
    assert not updates[1].status.stale and len(opened) >= 2
    live.close()


def test_runs_list_shows_polled_state_and_stale_marker(qtbot, tasks, tmp_path, settings):
    record = demo_record(tmp_path)
    row = RunRow("demo", "remote", "demo", "local:/x", "submitted", record=record)
    panel = RunsPanel(tasks, settings, loaders=[lambda: [row]])
    script = [
        status([trial(0), trial(1, "RUNNING")], counts={"COMPLETE": 1, "RUNNING": 1}),
        stale(),
    ]
    runs = ScriptedRuns(script)
    panel.live.open_runs = lambda rec, prompts: runs
    panel.live.interval, panel.live.max_interval = 0.01, 0.05
    qtbot.addWidget(panel)
    panel.show()
    panel.refresh()

    def cells():
        m = panel.model
        return [m.data(m.index(0, c)) for c in range(m.columnCount())] if m.rows else []

    qtbot.waitUntil(lambda: "(stale)" in str(cells()), timeout=10000)
    kind, study, state, trials, jobs, best, where = cells()
    assert state == "running (stale)"
    assert trials == "1 done, 1 running, 0 failed of 6"
    assert jobs == "controller RUNNING, 1 worker RUNNING"
    tip = panel.model.data(panel.model.index(0, 2), 3)  # ToolTipRole
    assert "squeue failed: timeout" in tip
    panel.view.selectRow(0)
    assert panel.open_button.isEnabled() and panel.stop_button.isEnabled()
    requested = []
    panel.monitor_requested.connect(requested.append)
    panel.open_selected()
    assert requested == ["demo"]
    panel.hide()  # a hidden list does not poll
    assert not panel.live.get("demo").active


def test_monitor_window_gets_all_trials_then_the_new_ones(qtbot, tasks, tmp_path):
    script = [
        status([trial(0), trial(1, "RUNNING")]),
        status([trial(1), trial(2)]),
        status([trial(3)], counts={"COMPLETE": 4}),
        finished_status([]),
    ]
    live, runs, _ = _live(tasks, script)
    poller = live.poller(demo_record(tmp_path))
    w = RemoteMonitorWindow(poller, tasks=tasks)
    qtbot.addWidget(w)
    w.show()
    with qtbot.waitSignal(poller.finished, timeout=10000):
        pass
    model = w.panel.model
    assert model.cols.number.tolist() == [0, 1, 2, 3]
    assert model.cols.param_info["x"].low == -1  # the kinds come from the run's frozen study
    w.panel.flush()
    xs, ys = w.panel.show_view("history").points.getData()
    assert sorted(xs.tolist()) == [0.0, 1.0, 2.0, 3.0] and ys.tolist() == [0.25] * 4
    assert w.jobs.states() == {"9": "COMPLETED", "10_0": "COMPLETED"}
    assert "ended" in w.header.text() and not w.cancel_button.isEnabled()
    w.close()
    assert not poller.active


def test_monitor_opened_while_the_cluster_is_silent_gets_the_trials_later(qtbot, tasks, tmp_path):
    script = [stale(), stale(), status([trial(0), trial(1)]), finished_status([])]
    live, runs, _ = _live(tasks, script)
    poller = live.poller(demo_record(tmp_path))
    w = RemoteMonitorWindow(poller, tasks=tasks)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.updates >= 1, timeout=10000)
    assert "STALE" in w.header.text() and w.panel.model.cols is None
    with qtbot.waitSignal(poller.finished, timeout=10000):
        pass
    assert w.panel.model.cols.number.tolist() == [0, 1]
    w.close()
