"""Fixtures of the SSH layer's tests: real sshd servers, a fake HOME, an in-memory keyring."""

from __future__ import annotations

import os
import shutil
import tempfile

import keyring
import keyring.backend
import pytest
from support.slurm import slurm_cluster  # noqa: F401
from support.sshd import sshd_account, sshd_env, sshd_factory, sshd_root  # noqa: F401


class MemoryKeyring(keyring.backend.KeyringBackend):
    """A file-less keyring for tests (never the user's real one)."""

    priority = 1

    def __init__(self) -> None:
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.store.pop((service, username), None)


@pytest.fixture(autouse=True)
def fake_home(tmp_path, monkeypatch):
    """~ is a temporary folder: tests never read or write the real ~/.ssh."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    return home


@pytest.fixture(autouse=True)
def memory_keyring():
    old = keyring.get_keyring()
    kr = MemoryKeyring()
    keyring.set_keyring(kr)
    yield kr
    keyring.set_keyring(old)


@pytest.fixture
def remote_dir(sshd_env):  # noqa: F811 (the fixture imported above)
    """A temporary folder owned by the sshd test account (the remote side of transfers)."""
    d = tempfile.mkdtemp(prefix="oo-remote-")
    os.chown(d, sshd_env.account.uid, sshd_env.account.gid)
    yield d
    shutil.rmtree(d, ignore_errors=True)
