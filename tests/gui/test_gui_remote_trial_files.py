"""A trial's command, stdout and stderr in the live monitor of a cluster run, read from the run
folder on the cluster over the monitor's SSH session (real sshd + single-node SLURM): a
finished trial shows what the program printed, a missing trial folder and a dropped session
give clear answers, the fetched snapshot's offline view says where the files are. The monitor
and offline windows are separate windows owned by the main window and close with it.

Set OO_SCREENSHOTS_DIR=docs/screenshots to save live-monitor-trial-files.png.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from pathlib import Path

import pytest
from support.cluster_runs import build_wheelhouse, make_study_folder, submit_over_ssh
from support.gui_helpers import wait_task

from omniopt_desktop.analysis.columns import TrialState
from omniopt_desktop.cli import main as cli_main
from omniopt_desktop.cluster.registry import RunRecord
from omniopt_desktop.errors import RemoteError
from omniopt_desktop.gui.error_reporter import ErrorReporter
from omniopt_desktop.gui.live_runs import LiveRuns
from omniopt_desktop.gui.tasks import TaskRunner

sshd_factory = pytest.importorskip(
    "support.sshd", reason="the SSH layer's sshd fixture is not there"
).sshd_factory  # a fixture: servers this test may stop
WAIT_MS = 300_000  # generous: the test machine is shared and slow; no timing is asserted
PROGRAM = (
    'echo "hello from the program: x=$1 y=$2"\n'
    'echo "a warning on stderr" >&2\n'
    'awk -v x="$1" -v y="$2" \'BEGIN { print "RESULT: " x * x + y }\'\n'
)


@pytest.fixture(scope="module")
def files_wheelhouse():
    folder = Path(tempfile.mkdtemp(prefix="oo-files-wheels-"))
    yield build_wheelhouse(folder)
    shutil.rmtree(folder, ignore_errors=True)


def _texts(table):
    return (
        table.command_text.toPlainText(),
        table.stdout_text.toPlainText(),
        table.stderr_text.toPlainText(),
    )


@pytest.mark.slurm
@pytest.mark.sshd
@pytest.mark.slow
def test_monitor_shows_a_trials_files_from_the_cluster(
    sshd_env, slurm_cluster, files_wheelhouse, qtbot, window, tmp_path, monkeypatch
):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))  # a private run registry
    _, study_path = make_study_folder(tmp_path / "study", n_trials=3, workers=1, program=PROGRAM)
    config, base, record = submit_over_ssh(
        sshd_env, slurm_cluster, files_wheelhouse, study_path, tmp_path, "oo-files"
    )
    run_id = record.run_id
    try:
        window.runs_dock.show()
        wait_task(qtbot, window.runs.refresh())
        monitor = window.open_run_monitor(run_id)
        # its own window, owned by the main window
        assert monitor.parent() is window and monitor.isWindow()
        assert window._monitor_windows == [monitor]
        poller = monitor.poller
        model = monitor.panel.model
        qtbot.waitUntil(
            lambda: model.cols is not None and model.cols.count(TrialState.COMPLETE) == 3,
            timeout=WAIT_MS,
        )
        table = monitor.panel.show_view("table")
        monitor.panel.flush()

        # -- a user clicks the first trial: its files come from the cluster -----------------
        table.table.selectRow(0)
        number = int(model.cols.number[table.table_model.rows[0]])
        qtbot.waitUntil(lambda: "RESULT:" in table.stdout_text.toPlainText(), timeout=60_000)
        command, stdout, stderr = _texts(table)
        assert command.startswith("sh ./prog.sh ")
        x, y = command.split()[2:4]
        assert f"hello from the program: x={x} y={y}" in stdout
        assert stderr.strip() == "a warning on stderr"
        session = poller.pool.session("oo-target", str(config))
        assert session is not None  # the poll's session, no second login

        shots = os.environ.get("OO_SCREENSHOTS_DIR") or str(tmp_path)
        monitor.resize(1400, 860)
        table.details.setCurrentWidget(table.stdout_text)
        qtbot.wait(100)
        shot = os.path.join(shots, "live-monitor-trial-files.png")
        monitor.grab().save(shot)
        assert os.path.getsize(shot) > 10_000

        # -- a trial with no folder: one clear line -----------------------------------------
        table.show_trial(999)
        qtbot.waitUntil(lambda: "loading" not in table.stdout_text.toPlainText(), timeout=60_000)
        line = table.stdout_text.toPlainText()
        assert line.startswith("cannot read the files of trial 999: trial 999 has no folder ")
        assert f"oo-target:{record.remote_dir}/trials/999" in line and "\n" not in line

        # -- the session dropped: the next click connects again ------------------------------
        session.close()
        table.show_trial(number)
        qtbot.waitUntil(lambda: "RESULT:" in table.stdout_text.toPlainText(), timeout=60_000)
        assert poller.pool.session("oo-target", str(config)).transport_is_active()

        # -- the run is over: Fetch snapshot opens offline; the files are still on the cluster
        qtbot.waitUntil(lambda: poller.is_finished, timeout=WAIT_MS)
        handle = monitor.fetch_clicked()
        paths = []
        handle.succeeded.connect(paths.append)
        wait_task(qtbot, handle, timeout=WAIT_MS)
        assert paths, window.reporter.history
        offline = window._analysis_windows[-1]
        assert offline.parent() is window and offline.isWindow()
        qtbot.waitUntil(lambda: offline.panel.model.n == 3, timeout=WAIT_MS)
        offline_table = offline.panel.show_view("table")
        offline_table.show_trial(number)
        qtbot.waitUntil(
            lambda: "loading" not in offline_table.stdout_text.toPlainText(), timeout=60_000
        )
        line = offline_table.stdout_text.toPlainText()
        assert "not fetched with the snapshot" in line
        assert f"oo-target:{record.remote_dir}/trials/{number}" in line
        assert f"fetch {run_id} --logs" in line

        # -- Fetch snapshot "with trial logs": the offline window shows the program's output
        monitor.fetch_logs.setChecked(True)
        handle = monitor.fetch_clicked()
        wait_task(qtbot, handle, timeout=WAIT_MS)
        with_logs = window._analysis_windows[-1]
        assert with_logs is not offline
        qtbot.waitUntil(lambda: with_logs.panel.model.n == 3, timeout=WAIT_MS)
        logs_table = with_logs.panel.show_view("table")
        logs_table.show_trial(number)
        qtbot.waitUntil(lambda: "RESULT:" in logs_table.stdout_text.toPlainText(), timeout=60_000)
        assert f"hello from the program: x={x} y={y}" in logs_table.stdout_text.toPlainText()
        with_logs.close()

        # -- closing the main window closes (and deletes) the monitor and offline windows ----
        gone = []
        monitor.destroyed.connect(lambda *_: gone.append("monitor"))
        offline.destroyed.connect(lambda *_: gone.append("offline"))
        window.close()
        qtbot.waitUntil(lambda: sorted(gone) == ["monitor", "offline"], timeout=20_000)
        assert window._monitor_windows == [] and window._analysis_windows == []
        assert not poller.watched and not poller.active
        run_id = None
    finally:
        if run_id:
            cli_main(["cancel", run_id, "-F", str(config)])
        shutil.rmtree(base, ignore_errors=True)


@pytest.mark.sshd
def test_trial_files_connect_on_demand_and_say_when_the_cluster_is_gone(
    sshd_env, sshd_factory, qtbot, tmp_path
):
    """A finished run's poller no longer polls (its session was released): a click connects on
    demand; a cluster that stopped answering gives one line, never a hang."""
    server = sshd_factory()
    config = sshd_env.ssh_config(
        path=tmp_path / "ssh_config",
        server=server,
        extra=f"  UserKnownHostsFile {sshd_env.known_hosts_file(tmp_path / 'kh', server)}\n",
    )
    run_dir = Path(sshd_env.account.home) / f"oo-files-{secrets.token_hex(3)}"
    (run_dir / "trials" / "5").mkdir(parents=True)
    (run_dir / "trials" / "5" / "stdout.txt").write_text("RESULT: 1.5\n")
    record = RunRecord(run_id="r", host="oo-target", remote_dir=str(run_dir), tag="r",
                       study_name="s", ssh_config=str(config))  # fmt: skip
    live = LiveRuns(TaskRunner(ErrorReporter()))
    poller = live.poller(record)
    try:
        assert live.pool.session("oo-target", str(config)) is None  # never polled
        files = poller.trial_files(5)
        assert files.stdout == "RESULT: 1.5\n" and files.stderr is None
        assert files.folder == f"oo-target:{run_dir}/trials/5"
        server.stop()  # the cluster is gone: the lost session is connected again, which fails
        with pytest.raises(RemoteError) as e:
            poller.trial_files(5)
        line = str(e.value)
        assert line.startswith("cannot connect to oo-target: ") and "\n" not in line
        assert f"port {server.port}" in line
    finally:
        live.close()
        shutil.rmtree(run_dir, ignore_errors=True)
