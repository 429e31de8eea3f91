"""publickey + keyboard-interactive (password, then OTP) against a paramiko server stub.

OpenSSH needs PAM for real OTP prompts, so this one server is a stub; the client side is the
real session code (``Transport.auth_interactive`` after a partial success, never stdin).
"""

from __future__ import annotations

import socket
import threading
import time

import paramiko
import pytest
from support.remote_callbacks import Scripted
from support.sshd import keygen

from omniopt_desktop.errors import AuthenticationError, CommandTimedOut
from omniopt_desktop.remote.session import Session, SessionOptions

PASSWORD = "stub-pass-1"
OTP = "424242"


class TwoFactorServer(paramiko.ServerInterface):
    def __init__(self, client_key: paramiko.PKey) -> None:
        self.client_key = client_key
        self.pubkey_ok = False
        self.stage = 0

    def get_allowed_auths(self, username: str) -> str:
        return "keyboard-interactive" if self.pubkey_ok else "publickey"

    def check_auth_publickey(self, username: str, key: paramiko.PKey) -> int:
        if key.asbytes() == self.client_key.asbytes():
            self.pubkey_ok = True
            return paramiko.AUTH_PARTIALLY_SUCCESSFUL
        return paramiko.AUTH_FAILED

    def check_auth_interactive(self, username: str, submethods: str):
        if not self.pubkey_ok:
            return paramiko.AUTH_FAILED
        self.stage = 1
        return paramiko.InteractiveQuery("", "", ("Password: ", False))

    def check_auth_interactive_response(self, responses):
        if self.stage == 1 and list(responses) == [PASSWORD]:
            self.stage = 2
            return paramiko.InteractiveQuery(
                "Two-factor", "Enter the code from your app", ("Verification code: ", False)
            )
        if self.stage == 2 and list(responses) == [OTP]:
            return paramiko.AUTH_SUCCESSFUL
        return paramiko.AUTH_FAILED

    def check_channel_request(self, kind: str, chanid: int) -> int:
        return (
            paramiko.OPEN_SUCCEEDED
            if kind == "session"
            else paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED
        )

    def check_channel_exec_request(self, channel, command) -> bool:
        def answer():
            time.sleep(0.2)  # let the exec request be acknowledged first
            channel.sendall(b"\x1eOO\x1fstub\n")
            channel.sendall_stderr(b"\x1eOO4242\x1f")
            if b"hang" in command:
                return  # never an exit status, never a close
            if b"nostatus" not in command:
                channel.send_exit_status(0)
            channel.close()

        threading.Thread(target=answer, daemon=True).start()
        return True


@pytest.fixture
def stub(tmp_path):
    host_key = paramiko.PKey.from_path(keygen(tmp_path / "stub_host"))
    client_path = keygen(tmp_path / "client")
    client_key = paramiko.PKey.from_path(client_path)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    port = listener.getsockname()[1]
    transports: list[paramiko.Transport] = []
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            t = paramiko.Transport(conn)
            t.add_server_key(host_key)
            transports.append(t)
            t.start_server(server=TwoFactorServer(client_key))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    kh = tmp_path / "known_hosts"
    kh.write_text(f"[127.0.0.1]:{port} {host_key.get_name()} {host_key.get_base64()}\n")
    cfg = tmp_path / "config"
    cfg.write_text(
        f"Host stub\n  HostName 127.0.0.1\n  Port {port}\n  User alice\n"
        f"  IdentityFile {client_path}\n  IdentityAgent none\n"
    )
    yield SessionOptions(
        ssh_config=str(cfg), known_hosts=(str(kh),), app_known_hosts=str(tmp_path / "app_kh")
    )
    stop.set()
    listener.close()
    for t in transports:
        t.close()


def test_publickey_then_two_interactive_rounds(stub):
    asks = Scripted(rounds=[[PASSWORD], [OTP]])
    with Session("stub", asks, stub) as s:
        assert s.info.auth_methods[1] == "keyboard-interactive"
        assert s.info.auth_methods[0].startswith("publickey (")
        assert s.runner().run("anything").stdout == "stub\n"
        # one session, many commands: no new prompts
        assert s.runner().run("again").ok
    rounds = [q for kind, q in asks.asked if kind == "interactive"]
    assert [r.round for r in rounds] == [1, 2]
    assert [p.text for p in rounds[0].prompts] == ["Password: "]
    assert rounds[1].name == "Two-factor" and rounds[1].instructions.startswith("Enter the code")
    assert not rounds[1].prompts[0].echo


def test_wrong_otp_gives_one_clean_error(stub):
    asks = Scripted(rounds=[[PASSWORD], ["000000"]])
    with pytest.raises(AuthenticationError) as e:
        Session("stub", asks, stub).connect()
    msg = str(e.value)
    assert "keyboard-interactive" in msg and "rejected after 2 prompt round(s)" in msg
    assert "000000" not in msg and PASSWORD not in msg
    assert e.value.__cause__ is None and "\n" not in msg
    assert len([1 for kind, _ in asks.asked if kind == "interactive"]) == 2


def test_cancelled_prompt(stub):
    with pytest.raises(AuthenticationError, match="cancelled"):
        Session("stub", Scripted(rounds=[]), stub).connect()


def test_missing_exit_status_is_reported_and_timeout_holds_without_one(stub):
    with Session("stub", Scripted(rounds=[[PASSWORD], [OTP]]), stub) as s:
        r = s.runner().run("nostatus")
        assert r.stdout == "stub\n" and r.exit_status is None and r.signal is None
        assert "ended without an exit status" in r.describe()
        with pytest.raises(CommandTimedOut) as e:
            s.runner().run("hang", timeout=1)
        assert e.value.result.stdout == "stub\n" and e.value.result.exit_status is None
        assert s.runner().run("after").ok


def test_a_failing_prompt_callback_is_a_cancel_not_a_dead_transport(stub):
    class Broken(Scripted):
        def ask_interactive(self, round):
            raise RuntimeError("dialog crashed")

    with pytest.raises(AuthenticationError, match="cancelled"):
        Session("stub", Broken(), stub).connect()
