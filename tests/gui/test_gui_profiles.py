"""Cluster profiles dialog: editing, ~/.ssh/config aliases, Test connection against the real
sshd with the host-key dialog (SHA256 fingerprint), secret and 2FA dialogs."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtWidgets import QDialog, QLineEdit
from support.gui_helpers import wait_task

from omniopt_desktop.gui.profiles import auth_dialogs
from omniopt_desktop.gui.profiles.auth_dialogs import HostKeyDialog, InteractiveDialog, SecretDialog
from omniopt_desktop.gui.profiles.profiles_dialog import ProfilesDialog, ssh_aliases
from omniopt_desktop.gui.profiles.prompts import GuiPrompts
from omniopt_desktop.gui.settings import ClusterProfile
from omniopt_desktop.remote.callbacks import (
    InteractivePrompt,
    InteractiveRound,
    SecretRequest,
)
from omniopt_desktop.remote.known_hosts import HostKeyInfo


def test_ssh_aliases_follow_include_and_skip_patterns(tmp_path):
    (tmp_path / "conf.d").mkdir()
    (tmp_path / "conf.d" / "lab").write_text("Host lab-login\n  HostName login.lab\n")
    cfg = tmp_path / "config"
    cfg.write_text(
        "Include conf.d/*\n# Host commented\nHost taurus alpha\n  User me\n"
        "Host *.example.org !bad\n  User x\nHost=romeo\n"
    )
    assert ssh_aliases(str(cfg)) == ["lab-login", "taurus", "alpha", "romeo"]
    assert ssh_aliases(str(tmp_path / "missing")) == []


def test_profiles_dialog_edits_settings(qtbot, window, tmp_path):
    cfg = tmp_path / "config"
    cfg.write_text("Host taurus\n  HostName taurus.hrsk.tu-dresden.de\n")
    dlg = ProfilesDialog(window.settings, window.tasks, window, ssh_config=str(cfg))
    qtbot.addWidget(dlg)
    qtbot.waitUntil(lambda: dlg.host.count() == 1, timeout=5000)
    assert dlg.host.itemText(0) == "taurus"
    assert not dlg.form_box.isEnabled()
    dlg.add_profile()
    assert dlg.form_box.isEnabled()
    qtbot.keyClicks(dlg.host.lineEdit(), "alice@login.example.org:2222")
    dlg.remote_base.setFocus()
    dlg.remote_base.selectAll()
    qtbot.keyClicks(dlg.remote_base, "/scratch/alice")
    qtbot.keyClicks(dlg.python, "/usr/bin/python3.11")
    dlg.env_setup.setPlainText("module load Python/3.11\nexport X=1")
    dlg.name.selectAll()
    qtbot.keyClicks(dlg.name, "lab")
    assert window.settings.profiles == [
        ClusterProfile(
            "lab",
            "alice@login.example.org:2222",
            "/scratch/alice",
            ("module load Python/3.11", "export X=1"),
            python="/usr/bin/python3.11",
        )
    ]
    assert dlg.list.item(0).text() == "lab"
    dlg.add_profile()
    dlg.remove_profile()
    assert [p.name for p in window.settings.profiles] == ["lab"]
    for w in dlg.findChildren(QLineEdit):
        if not w.objectName().startswith("qt_") and w.parent() is not dlg.host:
            assert w.toolTip(), w.objectName()


def _info():
    return HostKeyInfo("[127.0.0.1]:2222", "ssh-ed25519", "SHA256:abcDEF123", "AAAA")


def test_host_key_dialog_shows_the_fingerprint_and_defaults_to_no(qtbot, monkeypatch):
    dlg = HostKeyDialog(_info())
    qtbot.addWidget(dlg)
    assert dlg.fingerprint.text() == "SHA256:abcDEF123"
    assert not dlg.trust_button.isDefault()
    monkeypatch.setattr(HostKeyDialog, "exec", lambda self: QDialog.DialogCode.Rejected)
    assert HostKeyDialog(_info()).ask() is False


def test_secret_and_interactive_dialogs(qtbot, monkeypatch):
    def accept_with(text):
        def exec_(self):
            for e in self.findChildren(QLineEdit):
                e.setText(text)
            if hasattr(self, "remember"):
                self.remember.setChecked(True)
            return QDialog.DialogCode.Accepted

        return exec_

    monkeypatch.setattr(SecretDialog, "exec", accept_with("s3cret"))
    answer = SecretDialog("password", SecretRequest("alice@host")).ask()
    assert answer.secret == "s3cret" and answer.remember is True
    dlg = SecretDialog("passphrase", SecretRequest("/k", attempt=2, can_remember=False))
    qtbot.addWidget(dlg)
    assert not dlg.remember.isEnabled() and "keyring" in dlg.remember.toolTip()
    assert dlg.edit.echoMode() == QLineEdit.EchoMode.Password
    monkeypatch.setattr(InteractiveDialog, "exec", accept_with("123456"))
    rnd = InteractiveRound(
        "alice@host", "2FA", "Enter your code", (InteractivePrompt("Code: ", False),)
    )
    assert InteractiveDialog(rnd).ask() == ["123456"]
    assert auth_dialogs  # module used


def test_prompts_from_a_worker_thread_are_answered_on_the_gui_thread(qtbot, monkeypatch):
    prompts = GuiPrompts()
    seen = []

    def answer(self, kind, payload):
        seen.append((kind, threading.current_thread() is threading.main_thread()))
        return True

    monkeypatch.setattr(GuiPrompts, "answer", answer)
    out = []
    t = threading.Thread(target=lambda: out.append(prompts.confirm_host_key(_info())))
    t.start()
    qtbot.waitUntil(lambda: bool(out), timeout=5000)
    t.join()
    assert out == [True] and seen == [("host_key", True)]


@pytest.mark.sshd
@pytest.mark.slow
def test_test_connection_asks_for_the_unknown_host_key(
    qtbot, window, sshd_env, tmp_path, monkeypatch
):
    known = tmp_path / "known_hosts"
    known.write_text("")
    cfg = sshd_env.ssh_config(path=tmp_path / "config", extra=f"  UserKnownHostsFile {known}\n")
    window.settings.put_profile(ClusterProfile("test", "oo-target", ssh_config=str(cfg)))
    shown = []

    def exec_(self):
        shown.append(self.fingerprint.text())
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(HostKeyDialog, "exec", exec_)
    dlg = ProfilesDialog(window.settings, window.tasks, window, ssh_config=str(cfg))
    qtbot.addWidget(dlg)
    dlg.list.setCurrentRow(0)
    h = dlg.test_connection()
    wait_task(qtbot, h, timeout=60000)
    text = dlg.test_output.toPlainText()
    assert text.startswith("OK"), text
    assert "connected to" in text and "python3:" in text
    assert len(shown) == 1 and shown[0].startswith("SHA256:")
    assert shown[0] in text  # the same fingerprint the report shows
    assert known.read_text().strip()  # trusted key remembered where the config says


@pytest.mark.sshd
@pytest.mark.slow
def test_refused_host_key_fails_with_one_line(qtbot, window, sshd_env, tmp_path, monkeypatch):
    known = tmp_path / "known_hosts"
    known.write_text("")
    cfg = sshd_env.ssh_config(path=tmp_path / "config", extra=f"  UserKnownHostsFile {known}\n")
    window.settings.put_profile(ClusterProfile("test", "oo-target", ssh_config=str(cfg)))
    monkeypatch.setattr(HostKeyDialog, "exec", lambda self: QDialog.DialogCode.Rejected)
    dlg = ProfilesDialog(window.settings, window.tasks, window, ssh_config=str(cfg))
    qtbot.addWidget(dlg)
    dlg.list.setCurrentRow(0)
    wait_task(qtbot, dlg.test_connection(), timeout=60000)
    text = dlg.test_output.toPlainText()
    assert text.startswith("Failed:") and "\n" not in text.strip(), text
    assert known.read_text() == ""


def test_a_new_profile_and_the_command_line_use_the_same_remote_folder():
    """A profile put runs under ~/omniopt-runs, `submit` under ~/omniopt-desktop: the same
    study submitted both ways landed in two places and set up two environments."""
    from omniopt_desktop.cli import build_parser
    from omniopt_desktop.cluster.remote_env import EnvConfig
    from omniopt_desktop.gui.settings import ClusterProfile

    args = build_parser().parse_args(["submit", "s.toml", "--host", "h"])
    assert ClusterProfile("p", "h").remote_base == args.remote_base == EnvConfig().base
