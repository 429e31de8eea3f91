"""Faults: sshd killed mid-upload, sshd frozen (SIGSTOP), connection state on loss."""

from __future__ import annotations

import os
import signal
import threading
from dataclasses import replace

import pytest

from omniopt_desktop.errors import RemoteError
from omniopt_desktop.remote.callbacks import NoPrompts
from omniopt_desktop.remote.session import Session
from omniopt_desktop.remote.state import ConnectionState
from omniopt_desktop.remote.transfer import Transfer

pytestmark = [pytest.mark.sshd, pytest.mark.timeout(120)]


def _opts(sshd_env, srv, tmp_path, **kw):
    cfg = sshd_env.ssh_config(tmp_path / "config", server=srv)
    kh = sshd_env.known_hosts_file(tmp_path / "kh", srv)
    return replace(sshd_env.session_options(cfg, known_hosts=(kh,)), **kw)


def test_sshd_killed_mid_upload_keeps_the_old_file_and_next_upload_works(
    sshd_env, sshd_factory, tmp_path, remote_dir
):
    srv = sshd_factory()
    target = os.path.join(remote_dir, "data.bin")
    with open(target, "wb") as fh:
        fh.write(b"old content\n")
    os.chown(target, sshd_env.account.uid, sshd_env.account.gid)
    local = tmp_path / "data.bin"
    payload = os.urandom(1 << 20) * 48
    local.write_bytes(payload)
    opts = _opts(sshd_env, srv, tmp_path)
    killed = []

    def progress(p):
        if p.bytes_done > (8 << 20) and not killed:
            killed.append(p.bytes_done)
            srv.signal_all(signal.SIGKILL)

    s = Session("oo-target", NoPrompts(), opts).connect()
    with pytest.raises(RemoteError) as e:
        Transfer(s, progress, progress_interval=0).upload_file(str(local), target)
    assert killed
    assert "lost during upload" in str(e.value) and "not replaced" in str(e.value)
    with open(target, "rb") as fh:
        assert fh.read() == b"old content\n"
    assert s.state is ConnectionState.LOST
    s.close()

    srv.proc.wait(5)
    srv.start()  # same port, same host key
    with Session("oo-target", NoPrompts(), opts) as s2:
        Transfer(s2).upload_file(str(local), target)
    with open(target, "rb") as fh:
        assert fh.read() == payload
    assert oct(os.stat(target).st_mode & 0o777) == oct(local.stat().st_mode & 0o777)


def test_frozen_sshd_is_detected_within_the_bound_without_hanging(sshd_env, sshd_factory, tmp_path):
    srv = sshd_factory()
    opts = _opts(sshd_env, srv, tmp_path, liveness_interval=0.5, liveness_timeout=3)
    s = Session("oo-target", NoPrompts(), opts).connect()
    states = []
    lost = threading.Event()

    def listener(old, new, why):
        states.append((new, why))
        if new is ConnectionState.LOST:
            lost.set()

    s.add_listener(listener)
    assert s.runner().run("echo alive").ok
    srv.signal_all(signal.SIGSTOP)
    try:
        # a command started on the frozen server ends with an error, it does not hang
        with pytest.raises(RemoteError) as e:
            s.runner().run("echo never", timeout=None)
        assert lost.wait(10)
        assert s.state is ConnectionState.LOST
        assert "did not answer a keepalive within 3 s" in s.state_reason
        assert "reconnect" in str(e.value)
        with pytest.raises(RemoteError, match="reconnect"):
            s.sftp()
    finally:
        srv.signal_all(signal.SIGCONT)
    s.reconnect()
    assert s.runner().run("echo back").stdout == "back\n"
    s.close()


def test_connection_reset_moves_to_lost(sshd_env, sshd_factory, tmp_path):
    srv = sshd_factory()
    opts = _opts(sshd_env, srv, tmp_path, liveness_interval=0.3, liveness_timeout=2)
    s = Session("oo-target", NoPrompts(), opts).connect()
    for pid in srv.session_pids():
        os.kill(pid, signal.SIGKILL)
    with pytest.raises(RemoteError):
        s.runner().run("echo x", timeout=10)
    assert s.state is ConnectionState.LOST
    s.close()


def test_upload_to_a_server_frozen_midway_fails_without_hanging(
    sshd_env, sshd_factory, tmp_path, remote_dir
):
    srv = sshd_factory()
    opts = _opts(sshd_env, srv, tmp_path, liveness_interval=0.5, liveness_timeout=3)
    local = tmp_path / "big.bin"
    local.write_bytes(os.urandom(1 << 20) * 64)
    frozen = []

    def progress(p):
        if p.bytes_done > (4 << 20) and not frozen:
            frozen.append(True)
            srv.signal_all(signal.SIGSTOP)

    s = Session("oo-target", NoPrompts(), opts).connect()
    try:
        with pytest.raises(RemoteError) as e:
            Transfer(s, progress, progress_interval=0).upload_file(
                str(local), os.path.join(remote_dir, "big.bin")
            )
        assert frozen and s.state is ConnectionState.LOST
        assert "reconnect" in str(e.value)
    finally:
        srv.signal_all(signal.SIGCONT)
        s.close()
    assert not os.path.exists(os.path.join(remote_dir, "big.bin"))
