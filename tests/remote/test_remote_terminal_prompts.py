"""The CLI's prompts: questions on stderr (stdout stays the command's), secrets via getpass."""

from __future__ import annotations

import io

from omniopt_desktop.remote.callbacks import InteractivePrompt, InteractiveRound, SecretRequest
from omniopt_desktop.remote.known_hosts import HostKeyInfo
from omniopt_desktop.remote.terminal_prompts import TerminalPrompts

INFO = HostKeyInfo("[h]:2222", "ssh-ed25519", "SHA256:" + "x" * 43, "AAAA")


def test_host_key_question_and_answers(monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO("yes\nno\n"))
    p = TerminalPrompts(interactive=True)
    assert p.confirm_host_key(INFO) is True
    assert p.confirm_host_key(INFO) is False
    out, err = capsys.readouterr()
    assert out == "" and "SHA256:" + "x" * 43 in err and "[h]:2222" in err


def test_given_fingerprint_is_accepted_without_asking_and_others_refused(capsys):
    p = TerminalPrompts(("SHA256:" + "x" * 43,), interactive=True)
    assert p.confirm_host_key(INFO) is True
    other = HostKeyInfo("h", "ssh-ed25519", "SHA256:" + "y" * 43, "AAAA")
    assert p.confirm_host_key(other) is False
    assert "not the one given" in capsys.readouterr().err


def test_secrets_use_getpass_and_remember_is_asked(monkeypatch, capsys):
    asked = []
    monkeypatch.setattr("getpass.getpass", lambda prompt: asked.append(prompt) or "s3cret")
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))
    ans = TerminalPrompts(interactive=True).ask_password(SecretRequest("u@h", 1, True))
    assert (ans.secret, ans.remember) == ("s3cret", True)
    assert asked == ["u@h's password: "]
    assert "s3cret" not in repr(ans)
    ans = TerminalPrompts(interactive=True).ask_passphrase(SecretRequest("/k", 2, False))
    assert ans.remember is False and "try again" in capsys.readouterr().err


def test_interactive_round_and_no_terminal(monkeypatch):
    monkeypatch.setattr("getpass.getpass", lambda prompt: "123456")
    monkeypatch.setattr("sys.stdin", io.StringIO("alice\n"))
    rnd = InteractiveRound(
        "u@h", "2FA", "", (InteractivePrompt("User: ", True), InteractivePrompt("Code: ", False))
    )
    assert TerminalPrompts(interactive=True).ask_interactive(rnd) == ["alice", "123456"]
    quiet = TerminalPrompts(interactive=False)
    assert quiet.ask_interactive(rnd) is None
    assert quiet.ask_password(SecretRequest("u@h")) is None
    assert quiet.confirm_host_key(INFO) is False
