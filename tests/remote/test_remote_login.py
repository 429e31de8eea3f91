"""Logins against a real OpenSSH sshd: key, encrypted key, agent, ProxyJump; state machine."""

from __future__ import annotations

import os
import signal
import subprocess

import pytest
from support.remote_callbacks import Scripted
from support.sshd import keygen

from omniopt_desktop.errors import AuthenticationError, HostKeyError
from omniopt_desktop.remote.callbacks import NoPrompts
from omniopt_desktop.remote.secrets import SERVICE
from omniopt_desktop.remote.session import Session
from omniopt_desktop.remote.state import ConnectionState

pytestmark = pytest.mark.sshd


def test_key_login_runs_commands_and_reports_state(sshd_env):
    seen = []
    s = Session("oo-target", options=sshd_env.session_options())
    s.add_listener(lambda old, new, why: seen.append((old, new)))
    with s:
        assert s.info.host == f"{sshd_env.account.name}@127.0.0.1:{sshd_env.server.port}"
        assert s.info.fingerprint == sshd_env.server.host_fingerprint()
        assert s.info.auth_methods == (f"publickey ({sshd_env.account.key_path})",)
        r = s.runner().run("id -un; echo $HOME")
        assert r.stdout.split() == [sshd_env.account.name, sshd_env.account.home]
    S = ConnectionState
    assert seen == [
        (S.DISCONNECTED, S.CONNECTING),
        (S.CONNECTING, S.CONNECTED),
        (S.CONNECTED, S.CLOSED),
    ]
    assert s.state is S.CLOSED


def test_encrypted_key_passphrase_asked_then_taken_from_keyring(sshd_env, tmp_path, memory_keyring):
    key = keygen(tmp_path / "id_enc", passphrase="correct horse")
    sshd_env.server.authorize(sshd_env.account.name, (tmp_path / "id_enc.pub").read_text())
    cfg = sshd_env.ssh_config(tmp_path / "config", identity=str(key))
    asks = Scripted(passphrases=["wrong", "correct horse"], remember=True)
    with Session("oo-target", asks, sshd_env.session_options(cfg)) as s:
        assert s.runner().run("true").ok
    attempts = [q.attempt for kind, q in asks.asked if kind == "passphrase"]
    assert attempts == [1, 2]
    assert memory_keyring.store == {(SERVICE, f"passphrase:{key}"): "correct horse"}
    # the next session needs no prompt
    with Session("oo-target", NoPrompts(), sshd_env.session_options(cfg)) as s:
        assert s.info.auth_methods == (f"publickey ({key})",)


def test_encrypted_key_without_answer_fails_cleanly(sshd_env, tmp_path):
    key = keygen(tmp_path / "id_enc2", passphrase="secret-pp")
    cfg = sshd_env.ssh_config(tmp_path / "config", identity=str(key))
    s = Session("oo-target", NoPrompts(), sshd_env.session_options(cfg))
    with pytest.raises(AuthenticationError) as e:
        s.connect()
    assert "secret-pp" not in str(e.value) and "login to" in str(e.value)
    assert s.state is ConnectionState.FAILED


@pytest.fixture
def agent(tmp_path):
    sock = tmp_path / "agent.sock"
    proc = subprocess.Popen(
        ["ssh-agent", "-D", "-a", str(sock)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        for _ in range(100):
            if sock.exists():
                break
            subprocess.run(["sleep", "0.05"])
        yield str(sock)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(5)


def test_agent_login(sshd_env, tmp_path, agent):
    key = keygen(tmp_path / "id_agent")
    sshd_env.server.authorize(sshd_env.account.name, (tmp_path / "id_agent.pub").read_text())
    subprocess.run(
        ["ssh-add", "-q", str(key)], env={**os.environ, "SSH_AUTH_SOCK": agent}, check=True
    )
    os.unlink(key)  # only the agent has the private key now
    cfg = tmp_path / "config"
    cfg.write_text(
        f"Host viaagent\n  HostName 127.0.0.1\n  Port {sshd_env.server.port}\n"
        f"  User {sshd_env.account.name}\n  IdentityAgent {agent}\n"
    )
    with Session("viaagent", NoPrompts(), sshd_env.session_options(cfg)) as s:
        assert s.info.auth_methods == ("publickey (agent)",)
        assert s.runner().run("echo hi").stdout == "hi\n"


def test_proxy_jump_checks_each_host_key(sshd_env, tmp_path):
    cfg = sshd_env.ssh_config(tmp_path / "config", via_jump=True)
    with Session("oo-target", NoPrompts(), sshd_env.session_options(cfg)) as s:
        assert s.info.jump_hosts == (f"{sshd_env.account.name}@127.0.0.1:{sshd_env.jump.port}",)
        assert s.info.fingerprint == sshd_env.server.host_fingerprint()
        assert s.runner().run("echo $SSH_CONNECTION").ok
    # the jump host's key is checked under its own name: unknown there → refused
    only_target = sshd_env.known_hosts_file(tmp_path / "kh", sshd_env.server)
    opts = sshd_env.session_options(cfg, known_hosts=(only_target,))
    with pytest.raises(HostKeyError) as e:
        Session("oo-target", NoPrompts(), opts).connect()
    assert f"[127.0.0.1]:{sshd_env.jump.port}" in str(e.value)
    assert sshd_env.jump.host_fingerprint() in str(e.value)


def test_user_at_host_port_without_config(sshd_env, tmp_path):
    (tmp_path / "home").mkdir(exist_ok=True)
    ssh = tmp_path / "home" / ".ssh"
    ssh.mkdir(exist_ok=True)
    os.symlink(sshd_env.account.key_path, ssh / "id_ed25519")
    host = f"{sshd_env.account.name}@127.0.0.1:{sshd_env.server.port}"
    opts = sshd_env.session_options(tmp_path / "no-such-config")
    with Session(host, NoPrompts(), opts) as s:
        assert s.runner().run("true").ok


def test_reconnect_is_explicit(sshd_env):
    s = Session("oo-target", options=sshd_env.session_options())
    s.connect()
    first = s.info.fingerprint
    s.close()
    with pytest.raises(Exception, match="reconnect"):
        s.runner().run("true")
    s.reconnect()
    assert s.state is ConnectionState.CONNECTED and s.info.fingerprint == first
    s.close()


def test_two_jump_hosts_and_config_warnings_reach_the_user(sshd_env, sshd_factory, tmp_path):
    hop2 = sshd_factory()
    cfg = sshd_env.ssh_config(
        tmp_path / "config",
        extra=f"  ProxyJump oo-jump,{sshd_env.account.name}@127.0.0.1:{hop2.port}\n"
        "  LocalForward 8080 localhost:80\n",
    )
    with open(cfg, "a") as fh:  # the second hop by user@host:port gets its key from here
        fh.write(
            f"\nHost 127.0.0.1\n  IdentityFile {sshd_env.account.key_path}\n  IdentityAgent none\n"
        )
    kh = sshd_env.known_hosts_file(tmp_path / "kh", sshd_env.server, sshd_env.jump, hop2)
    asks = Scripted()
    with Session("oo-target", asks, sshd_env.session_options(cfg, known_hosts=(kh,))) as s:
        assert s.info.jump_hosts == (
            f"{sshd_env.account.name}@127.0.0.1:{sshd_env.jump.port}",
            f"{sshd_env.account.name}@127.0.0.1:{hop2.port}",
        )
        assert s.runner().run("echo through").stdout == "through\n"
    assert any("LocalForward 8080 localhost:80" in n and "not supported" in n for n in asks.notices)
    assert any("LocalForward" in w for w in s.info.warnings)
    assert "Accepted publickey" in hop2.log_text()
