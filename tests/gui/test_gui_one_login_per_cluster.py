"""One login per cluster per app session: every remote operation of the GUI (Load partitions,
Submit, Fetch snapshot, Cancel, the runs list's polls) uses the app's one SSH session to the
cluster, so a user whose cluster asks for a one-time code types it once. A connection lost in
between is connected again once (one more login) and the operation succeeds; a second loss or
a cluster gone gives one line.

Real parts: OpenSSH sshd on loopback (its log counts the logins: ``Accepted publickey for``),
single-node SLURM, and a passphrase-protected key whose passphrase dialog stands in for the
one-time code prompt (OpenSSH needs PAM for real keyboard-interactive prompts; each login asks
for it once, as a one-time code would be asked).
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import tempfile
import threading
from pathlib import Path

import keyring
import keyring.backends.fail
import pytest
from PySide6.QtWidgets import QDialog, QLineEdit
from support.cluster_runs import build_wheelhouse, make_study_folder
from support.gui_helpers import wait_task
from support.remote_callbacks import Scripted
from support.sshd import keygen

from omniopt_desktop.cli import main as cli_main
from omniopt_desktop.errors import RemoteError
from omniopt_desktop.gui.cluster_launch import (
    cancel_remote_run,
    fetch_remote_run,
    launch_cluster,
    load_partitions,
)
from omniopt_desktop.gui.profiles.auth_dialogs import SecretDialog
from omniopt_desktop.gui.session_pool import SessionPool
from omniopt_desktop.gui.settings import ClusterProfile
from omniopt_desktop.gui.tasks import TaskCancelled
from omniopt_desktop.study import run_layout as L

sshd_factory = pytest.importorskip(
    "support.sshd", reason="the SSH layer's sshd fixture is not there"
).sshd_factory  # a fixture: servers this test kills connections of
pytestmark = pytest.mark.sshd
WAIT_MS = 300_000  # generous: the machine is shared; no timing is asserted
LOGIN = "Accepted publickey for "


@pytest.fixture
def no_keyring():
    """No keyring: the passphrase cannot be remembered, so every login asks for it."""
    old = keyring.get_keyring()
    keyring.set_keyring(keyring.backends.fail.Keyring())
    yield
    keyring.set_keyring(old)


@pytest.fixture
def otp_server(sshd_env, sshd_factory, tmp_path, no_keyring):
    """A fresh sshd (its own log) and an ssh config whose key asks for a passphrase."""
    server = sshd_factory()
    passphrase = "pp-" + secrets.token_hex(6)
    key = keygen(tmp_path / "otp_key", passphrase=passphrase)
    server.authorize(sshd_env.account.name, Path(str(key) + ".pub").read_text())
    os.chmod(key, 0o600)
    config = sshd_env.ssh_config(
        path=tmp_path / "ssh_config",
        server=server,
        identity=str(key),
        extra=f"  UserKnownHostsFile {sshd_env.known_hosts_file(tmp_path / 'kh', server)}\n",
    )
    return server, str(config), passphrase


def logins(server) -> int:
    return server.log_text().count(LOGIN)


def drop_connections(server) -> None:
    """The network drops every open connection of ``server`` (its listener stays)."""
    for pid in server.session_pids():
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


# -- the GUI: partitions, submit, fetch, cancel → one login -----------------------------------
@pytest.fixture(scope="module")
def otp_wheelhouse():
    folder = Path(tempfile.mkdtemp(prefix="oo-otp-wheels-"))
    yield build_wheelhouse(folder)
    shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.slurm
@pytest.mark.slow
def test_gui_operations_share_one_login_and_reconnect_once(
    otp_server, sshd_env, slurm_cluster, otp_wheelhouse, qtbot, window, tmp_path, monkeypatch
):
    server, config, passphrase = otp_server
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))  # a private run registry
    asked: list[str] = []

    def answer_passphrase(dialog):  # the user types the code into the real dialog
        asked.append(dialog.windowTitle())
        dialog.findChild(QLineEdit, "secret_edit").setText(passphrase)
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(SecretDialog, "exec", answer_passphrase)
    _, study_path = make_study_folder(
        tmp_path / "study", n_trials=40, workers=1, command="sleep 1; sh ./prog.sh %(x) %(y)"
    )
    base = os.path.join(sshd_env.account.home, f"oo-otp-{secrets.token_hex(3)}")
    window.settings.put_profile(
        ClusterProfile(
            "otp cluster",
            "oo-target",
            base,
            python="/usr/bin/python3",
            slurm_setup=slurm_cluster.shell_prefix,
            ssh_config=config,
            wheelhouse=str(otp_wheelhouse),
        )
    )
    pool = window.runs.live.pool
    run_id = None
    try:
        # -- Load partitions: the first login, its prompt shown once ----------------------
        wait_task(qtbot, window.open_path(str(study_path)))
        wait_task(qtbot, load_partitions(window, "otp cluster"), timeout=WAIT_MS)
        assert window.editor.resources_panel.partition.count() >= 2, window.reporter.history
        assert (logins(server), len(asked)) == (1, 1)
        session = pool.session("oo-target", config)
        assert session is not None and session.transport_is_active()

        # -- Submit: the open session, no prompt ------------------------------------------
        handle = launch_cluster(window, "otp cluster")
        messages, results = [], []
        handle.progress_changed.connect(lambda _f, t: messages.append(t))
        handle.succeeded.connect(results.append)
        wait_task(qtbot, handle, timeout=WAIT_MS)
        assert results, window.reporter.history
        run_id = results[0].run_id
        run_dir = Path(results[0].remote_dir)
        assert "Connecting to oo-target: the open session is used" in messages
        assert (logins(server), len(asked)) == (1, 1)
        assert [t.text() for t in _steps(window.run_dialog)][0].startswith("✓")
        window.run_dialog.grab().save(str(tmp_path / "submit-over-the-open-session.png"))

        # -- Fetch snapshot once the first trial is done: still no second login -----------
        qtbot.waitUntil(lambda: _done_trials(run_dir) >= 1, timeout=WAIT_MS)
        paths = _fetch(qtbot, window, run_id)
        assert os.path.getsize(paths[0]) > 0
        assert (logins(server), len(asked)) == (1, 1)
        assert pool.session("oo-target", config) is session

        # -- the network drops the connection: Cancel connects again once and works ------
        drop_connections(server)
        qtbot.waitUntil(lambda: not session.transport_is_active(), timeout=60_000)
        handle = cancel_remote_run(window, run_id)
        cancelled = []
        handle.succeeded.connect(cancelled.append)
        wait_task(qtbot, handle, timeout=WAIT_MS)
        assert cancelled, window.reporter.history
        run_id = None
        assert (logins(server), len(asked)) == (2, 2)
        assert pool.session("oo-target", config) is session and session.transport_is_active()

        # -- and the next operation uses that session again -------------------------------
        _fetch(qtbot, window, results[0].run_id)
        assert (logins(server), len(asked)) == (2, 2)
        assert pool.keys() == [("oo-target", config)]  # one session for this cluster

        # -- closing the main window closes the session ----------------------------------
        window.close()
        qtbot.waitUntil(lambda: session.state.value == "closed", timeout=30_000)
        qtbot.waitUntil(lambda: not server.session_pids(), timeout=30_000)
    finally:
        if run_id:
            cli_main(["cancel", run_id, "-F", config])
        shutil.rmtree(base, ignore_errors=True)


def _steps(dialog):
    return [dialog.steps.item(i) for i in range(dialog.steps.count())]


def _done_trials(run_dir: Path) -> int:
    trials = run_dir / L.TRIALS_DIR
    if not trials.is_dir():
        return 0
    return sum(1 for d in trials.iterdir() if (d / "status.json").exists())


def _fetch(qtbot, window, run_id: str) -> list[str]:
    handle = fetch_remote_run(window, run_id, open_after=False)
    paths: list[str] = []
    handle.succeeded.connect(paths.append)
    wait_task(qtbot, handle, timeout=WAIT_MS)
    assert paths, window.reporter.history
    return paths


# -- the pool with a real session: retry once, one line, concurrency, cancel --------------------
def test_lost_connection_is_connected_again_once_then_one_line(otp_server, tmp_path):
    server, config, passphrase = otp_server
    pool = SessionPool()
    asks = Scripted(passphrases=[passphrase] * 10)
    try:
        calls = []

        def drop_first(conn):
            calls.append(1)
            if len(calls) == 1:
                drop_connections(server)
            return conn.runner.run("echo hello", timeout=60).stdout.strip()

        assert pool.call("oo-target", config, asks, drop_first) == "hello"
        assert len(calls) == 2 and logins(server) == 2 and len(asks.asked) == 2

        # a loss after the point of no return (retry false): connected again, not repeated
        def drop(conn):
            drop_connections(server)
            return conn.runner.run("sleep 5; echo late", timeout=60).stdout

        with pytest.raises(RemoteError) as e:
            pool.call("oo-target", config, asks, drop, retry=lambda: False)
        line = str(e.value)
        assert line.startswith("lost the connection to oo-target during the operation (")
        assert "not repeated" in line and "\n" not in line
        assert logins(server) == 3 and pool.is_open("oo-target", config)

        # lost again right after connecting again: one line, no third attempt
        with pytest.raises(RemoteError) as e:
            pool.call("oo-target", config, asks, drop)
        line = str(e.value)
        assert line.startswith("lost the connection to oo-target again right after connecting")
        assert "\n" not in line and logins(server) == 4

        # the cluster is gone: the reconnect fails, one line naming why
        server.stop()
        with pytest.raises(RemoteError) as e:
            pool.call("oo-target", config, asks, lambda conn: conn.runner.run("true").ok)
        line = str(e.value)
        assert line.startswith("lost the connection to oo-target (") or line.startswith(
            "cannot reach"
        ), line
        assert "\n" not in line
    finally:
        pool.close_all()


def test_concurrent_users_wait_for_one_login_and_share_sftp(otp_server, sshd_env, tmp_path):
    server, config, passphrase = otp_server
    pool = SessionPool()
    gate, typing = threading.Event(), threading.Event()

    class SlowTyper(Scripted):
        def ask_passphrase(self, request):  # the user takes a while to type the code
            typing.set()
            gate.wait(30)
            return super().ask_passphrase(request)

    asks = SlowTyper(passphrases=[passphrase] * 5)
    home = Path(sshd_env.account.home)
    folder = home / f"oo-pool-{secrets.token_hex(3)}"
    folder.mkdir()
    big = folder / "big.bin"
    big.write_bytes(os.urandom(8 << 20))
    (folder / "small.txt").write_text("small\n")
    os.chown(folder, sshd_env.account.uid, sshd_env.account.gid)
    try:
        # four tasks start at once while the first is logging in: one login for all
        out: list[object] = []
        threads = [
            threading.Thread(target=lambda: out.append(pool.connection("oo-target", config, asks)))
            for _ in range(4)
        ]
        for t in threads:
            t.start()
        assert typing.wait(30)  # one of them is logging in (the dialog is open)
        # a fifth task is cancelled while it waits: it stops waiting at once
        with pytest.raises(TaskCancelled):
            pool.connection("oo-target", config, asks, cancelled=lambda: True)
        gate.set()
        for t in threads:
            t.join(60)
        assert len(out) == 4 and len({id(c) for c in out}) == 1
        assert logins(server) == 1 and len(asks.asked) == 1

        # a download, trial-file reads and commands at once over the one session
        from omniopt_desktop.remote.sftp_reader import SftpReader

        conn = out[0]
        errors: list[BaseException] = []
        local = tmp_path / "big.bin"

        def download():
            try:
                conn.transfer.download(str(big), str(local))
            except BaseException as e:  # noqa: BLE001
                errors.append(e)

        def reads():
            try:
                for _ in range(20):
                    reader = SftpReader(conn.session, lock_timeout=120)
                    assert reader.read_capped(str(folder / "small.txt"), 1000) == b"small\n"
                    assert conn.runner.run("echo ok", timeout=60).stdout == "ok\n"
            except BaseException as e:  # noqa: BLE001
                errors.append(e)

        workers = [threading.Thread(target=download), threading.Thread(target=reads)]
        for t in workers:
            t.start()
        for t in workers:
            t.join(300)
        assert not errors, errors
        assert local.read_bytes() == big.read_bytes()
        assert logins(server) == 1
    finally:
        gate.set()
        pool.close_all()
        shutil.rmtree(folder, ignore_errors=True)
    with pytest.raises(RemoteError, match="the app is closing"):
        pool.connection("oo-target", config, asks)
