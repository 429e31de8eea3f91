"""Password logins, the keyring, and a canary password that must leak nowhere."""

from __future__ import annotations

import logging
import os
import secrets
import subprocess

import keyring
import keyring.backends.fail
import pytest
from support.remote_callbacks import Scripted
from support.sshd import ensure_account, keygen

from omniopt_desktop.errors import AuthenticationError
from omniopt_desktop.remote.callbacks import NoPrompts
from omniopt_desktop.remote.secrets import SERVICE, SecretStore, keyring_status
from omniopt_desktop.remote.session import Session

pytestmark = pytest.mark.sshd
PASS_ACCOUNT = "oodpass"


@pytest.fixture
def password_account():
    pw = ensure_account(PASS_ACCOUNT)
    canary = "canary-" + secrets.token_hex(8)
    subprocess.run(["chpasswd"], input=f"{PASS_ACCOUNT}:{canary}\n".encode(), check=True)
    yield pw, canary
    subprocess.run(["usermod", "-p", "*", PASS_ACCOUNT], check=True)


@pytest.fixture
def debug_log(tmp_path):
    path = tmp_path / "debug.log"
    handler = logging.FileHandler(path)
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield path
    root.removeHandler(handler)
    root.setLevel(old_level)
    handler.close()


def _files_containing(needle: bytes, *roots) -> list[str]:
    hits = []
    for root in roots:
        for dirpath, _, files in os.walk(root):
            for f in files:
                p = os.path.join(dirpath, f)
                try:
                    with open(p, "rb") as fh:
                        if needle in fh.read():
                            hits.append(p)
                except OSError:
                    pass
    return hits


def test_password_login_remembered_and_canary_found_nowhere(
    sshd_env, sshd_factory, password_account, tmp_path, debug_log, memory_keyring
):
    _, canary = password_account
    wrong = canary + "-wrong"
    srv = sshd_factory(users=(PASS_ACCOUNT,), password_auth=True)
    unauthorized = keygen(tmp_path / "not_authorized")
    cfg = sshd_env.ssh_config(
        tmp_path / "config", server=srv, user=PASS_ACCOUNT, identity=str(unauthorized)
    )
    kh = sshd_env.known_hosts_file(tmp_path / "kh", srv)
    opts = sshd_env.session_options(cfg, known_hosts=(kh,))
    errors = []

    asks = Scripted(passwords=[wrong, canary], remember=True)
    with Session("oo-target", asks, opts) as s:
        assert s.info.auth_methods == ("password",)
        assert s.runner().run("id -un").stdout.strip() == PASS_ACCOUNT
        seen = repr(s.info) + repr(s.config) + repr(asks.asked)
    assert [q.attempt for kind, q in asks.asked if kind == "password"] == [1, 2]
    assert memory_keyring.store == {
        (SERVICE, f"password:{PASS_ACCOUNT}@127.0.0.1:{srv.port}"): canary
    }
    # the next session takes it from the keyring without asking
    with Session("oo-target", NoPrompts(), opts) as s:
        assert s.info.auth_methods == ("password (keyring)",)
    # wrong passwords only: one clean error
    memory_keyring.store.clear()
    with pytest.raises(AuthenticationError) as e:
        Session("oo-target", Scripted(passwords=[wrong] * 3), opts).connect()
    errors.append(str(e.value) + repr(e.value.args))
    assert "rejected 3 times" in str(e.value)

    for needle in (canary, wrong):
        assert needle not in seen
        assert needle not in debug_log.read_text()
        assert not any(needle in text for text in errors)
        roots = [tmp_path, sshd_env.root] + [
            os.environ[v]
            for v in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME")
            if os.path.isdir(os.environ[v])
        ]
        assert _files_containing(needle.encode(), *roots) == []
    assert debug_log.stat().st_size > 0  # paramiko and the session did log


def test_no_usable_keyring_is_detected_and_nothing_is_stored(
    sshd_env, sshd_factory, password_account, tmp_path
):
    _, canary = password_account
    keyring.set_keyring(keyring.backends.fail.Keyring())
    status = keyring_status()
    assert not status.usable and "no system keyring" in status.reason
    srv = sshd_factory(users=(PASS_ACCOUNT,), password_auth=True)
    cfg = sshd_env.ssh_config(
        tmp_path / "config", server=srv, user=PASS_ACCOUNT, identity=str(keygen(tmp_path / "k"))
    )
    opts = sshd_env.session_options(
        cfg, known_hosts=(sshd_env.known_hosts_file(tmp_path / "kh", srv),)
    )
    asks = Scripted(passwords=[canary], remember=True)
    with Session("oo-target", asks, opts):
        pass
    request = asks.asked[0][1]
    assert request.can_remember is False
    assert any("not remembered" in n and "no system keyring" in n for n in asks.notices)
    assert SecretStore().get("password", "x") is None


def test_plaintext_backend_is_refused():
    class PlaintextKeyring(keyring.backend.KeyringBackend):
        priority = 1

        def get_password(self, service, username):
            return None

        def set_password(self, service, username, password):
            raise AssertionError("must not be called")

        def delete_password(self, service, username):
            pass

    keyring.set_keyring(PlaintextKeyring())
    store = SecretStore()
    assert not store.status.usable and "unencrypted" in store.status.reason
    assert store.set("password", "x", "y") is False
