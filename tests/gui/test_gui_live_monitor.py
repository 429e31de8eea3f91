"""Watching a cluster run from the GUI, against the real sshd + single-node SLURM: the runs list
polls the running run in the background (job states, growing trial counts), Open results opens
the live monitor whose views gain trials as they finish, Cancel (confirmed) stops every job,
Fetch snapshot downloads the database and opens it offline.

Set OO_SCREENSHOTS_DIR=docs/screenshots to save runs-list-live.png and live-monitor.png.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox
from support.cluster_runs import build_wheelhouse, make_study_folder, submit_over_ssh
from support.gui_helpers import wait_task

from omniopt_desktop.analysis.columns import TrialState
from omniopt_desktop.cli import main as cli_main
from omniopt_desktop.cluster.registry import Registry

pytest.importorskip("support.sshd", reason="the SSH layer's sshd fixture is not there")
pytestmark = [pytest.mark.slurm, pytest.mark.sshd, pytest.mark.slow]
WAIT_MS = 300_000  # generous: the test machine is shared and slow; no timing is asserted


@pytest.fixture(scope="module")
def live_wheelhouse():
    folder = Path(tempfile.mkdtemp(prefix="oo-live-wheels-"))
    yield build_wheelhouse(folder)
    shutil.rmtree(folder, ignore_errors=True)


def _confirm_only_the_cancel_box(monkeypatch):
    asked = []

    def exec_(box):
        assert box.objectName() == "confirm_cancel_box", f"unexpected dialog {box.windowTitle()}"
        asked.append(box.text())
        return QMessageBox.StandardButton.Yes

    monkeypatch.setattr(QMessageBox, "exec", exec_)
    return asked


def test_watch_cancel_and_fetch_a_cluster_run(
    sshd_env, slurm_cluster, live_wheelhouse, qtbot, window, tmp_path, monkeypatch
):
    # a private run registry: runs other tests left "submitted" would be polled here too
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    _, study_path = make_study_folder(
        tmp_path / "study", n_trials=60, workers=2, command="sleep 1; sh ./prog.sh %(x) %(y)"
    )
    config, base, record = submit_over_ssh(
        sshd_env, slurm_cluster, live_wheelhouse, study_path, tmp_path, "oo-live"
    )
    run_id = record.run_id
    shots = os.environ.get("OO_SCREENSHOTS_DIR")
    try:
        # -- the runs list polls the run in the background --------------------------------
        window.runs_dock.show()
        wait_task(qtbot, window.runs.refresh())
        poller = window.runs.live.get(run_id)
        assert poller is not None, "the running cluster run is not polled"
        done_seen = []
        poller.updated.connect(
            lambda u: (
                None if u.status.stale else done_seen.append(u.status.counts.get("COMPLETE", 0))
            )
        )

        def row():
            return next(r for r in window.runs.model.rows if r.key == run_id)

        qtbot.waitUntil(
            lambda: "worker" in row().jobs and "RUNNING" in row().jobs and len(set(done_seen)) >= 2,
            timeout=WAIT_MS,
        )
        assert row().state == "running" and not row().stale
        assert row().trials.endswith("of 60") and " done, " in row().trials
        assert done_seen == sorted(done_seen) and done_seen[-1] > done_seen[0]  # growing
        assert row().jobs.startswith("controller RUNNING")
        pool = window.runs.live.pool
        session = pool.session("oo-target", str(config))
        assert session is not None and pool.keys() == [("oo-target", str(config))]
        if shots:
            window.runs.view.selectRow([r.key for r in window.runs.model.rows].index(run_id))
            window.runs.view.resizeColumnsToContents()
            window.resize(1300, 760)
            window.resizeDocks([window.runs_dock], [300], Qt.Orientation.Vertical)
            qtbot.wait(50)
            window.grab().save(os.path.join(shots, "runs-list-live.png"))

        # -- Open results: the live monitor; its views gain trials ------------------------
        window.runs.view.selectRow([r.key for r in window.runs.model.rows].index(run_id))
        window.runs.open_selected()
        monitor = window._monitor_windows[-1]
        assert monitor.poller is poller
        model = monitor.panel.model
        qtbot.waitUntil(lambda: model.cols is not None and model.n >= 2, timeout=WAIT_MS)
        first = model.n
        qtbot.waitUntil(lambda: model.n >= first + 2, timeout=WAIT_MS)
        assert model.last_change == "append"  # new trials were appended, not reloaded
        monitor.panel.flush()
        history = monitor.panel.show_view("history")
        xs, _ys = history.points.getData()
        assert len(xs) == model.cols.count(TrialState.COMPLETE) >= 2
        table = monitor.panel.show_view("table")
        assert table.table_model.rowCount() == model.n
        assert pool.session("oo-target", str(config)) is session  # one login for all polls
        states = monitor.jobs.states()
        assert "RUNNING" in states.values() and len(states) >= 2
        if shots:
            monitor.resize(1400, 860)
            monitor.panel.show_view("history")
            monitor.panel.flush()
            qtbot.wait(50)
            monitor.grab().save(os.path.join(shots, "live-monitor.png"))

        # -- Cancel (confirmed): every job stops, the monitor sees the end -----------------
        asked = _confirm_only_the_cancel_box(monkeypatch)
        with qtbot.waitSignal(poller.finished, timeout=WAIT_MS):
            wait_task(qtbot, monitor.cancel_clicked(), timeout=WAIT_MS)
        assert asked and run_id in asked[0]
        assert not poller.last.jobs.active() and not poller.active
        assert all(s not in ("RUNNING", "PENDING") for s in monitor.jobs.states().values())
        assert "ended" in monitor.header.text() and not monitor.cancel_button.isEnabled()
        assert Registry().get(run_id).state == "cancelled"
        qtbot.waitUntil(lambda: model.cols.count(TrialState.RUNNING) == 0, timeout=WAIT_MS)
        run_id_cancelled, run_id = run_id, None

        # -- Fetch snapshot: downloaded, opened offline with the same trials ---------------
        handle = monitor.fetch_clicked()
        paths = []
        handle.succeeded.connect(paths.append)
        wait_task(qtbot, handle, timeout=WAIT_MS)
        assert paths and os.path.isfile(paths[0]), window.reporter.history
        offline = window._analysis_windows[-1]
        assert offline.path == os.path.abspath(paths[0])
        qtbot.waitUntil(lambda: offline.panel.model.n == model.n, timeout=WAIT_MS)
        assert offline.panel.model.cols.number.tolist() == model.cols.number.tolist()
        assert Registry().get(run_id_cancelled).snapshots[-1] == paths[0]
        monitor.close()
    finally:
        if run_id:
            cli_main(["cancel", run_id, "-F", str(config)])
        shutil.rmtree(base, ignore_errors=True)
