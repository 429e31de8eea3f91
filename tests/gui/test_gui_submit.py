"""Submit from the GUI to the real sshd + single-node SLURM while a probe timer watches the
event loop: the submission (connect, remote environment from a wheelhouse, upload, sbatch)
runs off the GUI thread, its steps show in the progress dialog, the run appears in the runs
list from the run registry, and the event loop never stalls over 100 ms."""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from pathlib import Path

import pytest
from support.cluster_runs import build_wheelhouse, make_study_folder
from support.gui_helpers import wait_task
from support.gui_probe import StallProbe

from omniopt_desktop.cli import main as cli_main
from omniopt_desktop.gui.cluster_launch import (
    SUBMIT_STEPS,
    cancel_remote_run,
    launch_cluster,
    load_partitions,
)
from omniopt_desktop.gui.settings import ClusterProfile

pytest.importorskip("support.sshd", reason="the SSH layer's sshd fixture is not there")
pytestmark = [pytest.mark.slurm, pytest.mark.sshd, pytest.mark.slow]
STALL_LIMIT_MS = 100.0


@pytest.fixture(scope="module")
def gui_wheelhouse():
    folder = Path(tempfile.mkdtemp(prefix="oo-gui-wheels-"))
    yield build_wheelhouse(folder)
    shutil.rmtree(folder, ignore_errors=True)


def test_submit_from_the_gui_without_stalling(
    qtbot, window, sshd_env, slurm_cluster, gui_wheelhouse, tmp_path
):
    _, study_path = make_study_folder(tmp_path / "study", n_trials=4, workers=2)
    config = sshd_env.ssh_config(
        path=tmp_path / "ssh_config",
        extra=f"  UserKnownHostsFile {sshd_env.known_hosts_file()}\n",
    )
    base = os.path.join(sshd_env.account.home, f"oo-gui-{secrets.token_hex(3)}")
    window.settings.put_profile(
        ClusterProfile(
            "test cluster",
            "oo-target",
            base,
            python="/usr/bin/python3",
            slurm_setup=slurm_cluster.shell_prefix,
            ssh_config=str(config),
            wheelhouse=str(gui_wheelhouse),
        )
    )
    wait_task(qtbot, window.open_path(str(study_path)))
    wait_task(qtbot, window.warm_up())  # as the app does at start-up
    assert window.act_submit.isEnabled()
    run_id = None
    probe = StallProbe()
    probe.start()
    try:
        handle = launch_cluster(window, "test cluster")
        assert handle is not None
        dialog = window.run_dialog
        messages, results, errors = [], [], []
        handle.progress_changed.connect(lambda _f, t: messages.append(t))
        handle.succeeded.connect(results.append)
        handle.failed.connect(errors.append)
        wait_task(qtbot, handle, timeout=600000)
        probe.stop()
        assert not errors, errors
        [record] = results
        run_id = record.run_id
        assert record.host == "oo-target" and record.remote_dir.startswith(base)
        assert record.job_ids, "no controller job queued"
        # every step was reported and ticked off in the dialog
        texts = [dialog.steps.item(i).text() for i in range(dialog.steps.count())]
        assert texts == [f"✓ {s}" for s in SUBMIT_STEPS]
        assert any(m.startswith("Connecting") for m in messages)
        assert any("queue" in m for m in messages)
        # the runs list shows it from the registry
        wait_task(qtbot, window.runs.refresh())
        rows = {r.key: r for r in window.runs.model.rows}
        assert run_id in rows and rows[run_id].kind == "remote"
        print(f"event-loop probe during submission: {probe.report()}")
        assert probe.max_own_gap_ms < STALL_LIMIT_MS, probe.report()
        # Stop in the runs list cancels the cluster run over SSH
        window.runs.view.selectRow([r.key for r in window.runs.model.rows].index(run_id))
        assert window.runs.stop_button.isEnabled() and window.runs.fetch_button.isEnabled()
        handle = cancel_remote_run(window, run_id)
        cancelled = []
        handle.succeeded.connect(cancelled.append)
        wait_task(qtbot, handle, timeout=120000)
        assert cancelled, window.reporter.history
        wait_task(qtbot, window.runs.refresh())
        assert {r.key: r for r in window.runs.model.rows}[run_id].state == "cancelled"
        run_id = None
    finally:
        probe.stop()
        if run_id:
            cli_main(["cancel", run_id, "-F", str(config)])
        shutil.rmtree(base, ignore_errors=True)


def test_partitions_loaded_from_the_cluster(qtbot, window, sshd_env, slurm_cluster, tmp_path):
    config = sshd_env.ssh_config(
        path=tmp_path / "ssh_config",
        extra=f"  UserKnownHostsFile {sshd_env.known_hosts_file()}\n",
    )
    window.settings.put_profile(
        ClusterProfile(
            "test cluster",
            "oo-target",
            slurm_setup=slurm_cluster.shell_prefix,
            ssh_config=str(config),
        )
    )
    window.new_study()
    panel = window.editor.resources_panel
    wait_task(qtbot, load_partitions(window), timeout=120000)
    names = [panel.partition.itemText(i) for i in range(panel.partition.count())]
    assert len(names) >= 2 and names[0] == "", names  # "" = the cluster's default
    panel.partition.setCurrentIndex(1)
    assert "nodes" in panel.partition_info.text()
    assert window.doc.study.resources.partition == names[1]
