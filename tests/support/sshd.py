"""Real OpenSSH sshd servers on loopback for tests (reusable by any area).

Use::

    from support.sshd import sshd_env, sshd_factory  # noqa: F401  (pytest fixtures)

    def test_x(sshd_env):
        cfg = sshd_env.ssh_config()                  # ~/.ssh/config-style file, alias "oo-target"
        opts = sshd_env.session_options(cfg)         # SessionOptions with the test known_hosts
        with Session("oo-target", options=opts) as s: ...

``sshd_env`` (session scope) holds ``account`` (a non-root user made with ``useradd`` and unlocked
with ``usermod -p '*'``: ``.name``, ``.home``, ``.key_path``), ``server`` and ``jump`` (two sshd,
``.port``, ``.host``, ``.known_hosts_line()``). ``sshd_factory(**options)`` starts extra servers
for tests that kill, freeze or reconfigure one. Every sshd is stopped in a finalizer. The
account stays on the machine (re-used by the next run); its authorized keys live in each
server's own folder (``AuthorizedKeysFile``), never in the account's home.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

SSHD = "/usr/sbin/sshd"
ACCOUNT = "oodtest"


def free_port() -> int:
    with contextlib.closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ensure_account(name: str = ACCOUNT) -> pwd.struct_passwd:
    """Create (once) a non-root login account with bash, unlocked without a password."""
    try:
        pw = pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "-m", "-s", "/bin/bash", name], check=True)
        pw = pwd.getpwnam(name)
    subprocess.run(["usermod", "-p", "*", name], check=True)
    return pw


def keygen(path: Path, passphrase: str = "", kind: str = "ed25519") -> Path:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", kind, "-N", passphrase, "-C", "oo-test", "-f", str(path)],
        check=True,
    )
    return path


@dataclass
class Account:
    name: str
    home: str
    uid: int
    gid: int
    key_path: str  # unencrypted ed25519 private key (its .pub next to it)

    @property
    def public_key(self) -> str:
        return Path(self.key_path + ".pub").read_text().strip()


def _children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as fh:
                for c in fh.read().split():
                    out.append(int(c))
                    out += _children(int(c))
    except OSError:
        pass
    return out


@dataclass
class SshServer:
    """One sshd started by the tests; ``extra`` lines are appended to its sshd_config."""

    dir: Path
    users: tuple[str, ...]
    password_auth: bool = False
    sftp: str = "internal-sftp"
    extra: tuple[str, ...] = ()
    host_key_kind: str = "ed25519"  # or "rsa", "ecdsa"
    port: int = 0
    host: str = "127.0.0.1"
    proc: subprocess.Popen | None = None
    authorized: dict[str, list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.dir, 0o755)
        self.host_key = self.dir / f"ssh_host_{self.host_key_kind}_key"
        if not self.host_key.exists():
            keygen(self.host_key, kind=self.host_key_kind)
        (self.dir / "authorized_keys").mkdir(exist_ok=True)
        os.chmod(self.dir / "authorized_keys", 0o755)

    @property
    def host_key_type(self) -> str:
        return Path(str(self.host_key) + ".pub").read_text().split()[0]

    @property
    def host_key_base64(self) -> str:
        return Path(str(self.host_key) + ".pub").read_text().split()[1]

    @property
    def key_name(self) -> str:
        return f"[{self.host}]:{self.port}"

    def host_fingerprint(self) -> str:
        out = subprocess.run(
            ["ssh-keygen", "-l", "-E", "sha256", "-f", str(self.host_key) + ".pub"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        return out.split()[1]

    def known_hosts_line(self) -> str:
        return f"{self.key_name} {self.host_key_type} {self.host_key_base64}"

    def authorize(self, user: str, public_key_line: str) -> None:
        self.authorized.setdefault(user, []).append(public_key_line.strip())
        path = self.dir / "authorized_keys" / user
        path.write_text("\n".join(self.authorized[user]) + "\n")
        os.chmod(path, 0o644)

    def _write_config(self) -> Path:
        lines = [
            f"Port {self.port}",
            f"ListenAddress {self.host}",
            f"HostKey {self.host_key}",
            f"PidFile {self.dir / 'sshd.pid'}",
            "UsePAM no",
            "StrictModes no",
            f"AuthorizedKeysFile {self.dir / 'authorized_keys'}/%u",
            f"PasswordAuthentication {'yes' if self.password_auth else 'no'}",
            "KbdInteractiveAuthentication no",
            "PubkeyAuthentication yes",
            "PermitRootLogin no",
            f"AllowUsers {' '.join(self.users)}",
            "AllowTcpForwarding yes",
            f"Subsystem sftp {self.sftp}",
            "MaxStartups 100:30:200",
            "MaxSessions 100",
            "LogLevel VERBOSE",
            *self.extra,
        ]
        path = self.dir / "sshd_config"
        path.write_text("\n".join(lines) + "\n")
        return path

    def start(self) -> SshServer:
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
        if not self.port:
            self.port = free_port()
        config = self._write_config()
        subprocess.run([SSHD, "-t", "-f", str(config)], check=True)
        log = open(self.dir / "sshd.log", "ab")
        self.proc = subprocess.Popen(
            [SSHD, "-D", "-e", "-f", str(config)], stdout=log, stderr=log, start_new_session=True
        )
        log.close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"sshd exited: {(self.dir / 'sshd.log').read_text()[-2000:]}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection((self.host, self.port), 0.2),
            ):
                return self
            time.sleep(0.05)
        raise RuntimeError("sshd did not start listening within 10 s")

    def session_pids(self) -> list[int]:
        """Processes sshd forked for connections (what a connection talks to)."""
        return _children(self.proc.pid) if self.proc else []

    def signal_all(self, sig: int) -> None:
        """Send ``sig`` to the listener and every connection process it forked."""
        if not self.proc:
            return
        for pid in [self.proc.pid, *self.session_pids()]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)

    def stop(self) -> None:
        if not self.proc:
            return
        pids = [self.proc.pid, *self.session_pids()]
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(5)
        self.proc = None

    def log_text(self) -> str:
        p = self.dir / "sshd.log"
        return p.read_text(errors="replace") if p.exists() else ""


@dataclass
class SshdEnv:
    root: Path
    account: Account
    server: SshServer
    jump: SshServer

    def known_hosts_file(self, path: Path | None = None, *servers: SshServer) -> Path:
        path = path or self.root / "client" / "known_hosts"
        path.parent.mkdir(parents=True, exist_ok=True)
        servers = servers or (self.server, self.jump)
        path.write_text("".join(s.known_hosts_line() + "\n" for s in servers))
        return path

    def ssh_config(
        self,
        path: Path | None = None,
        alias: str = "oo-target",
        via_jump: bool = False,
        server: SshServer | None = None,
        user: str | None = None,
        identity: str | None = None,
        extra: str = "",
    ) -> Path:
        """Write an ``~/.ssh/config``-style file with ``alias`` (and ``oo-jump``); return it."""
        server = server or self.server
        path = path or self.root / "client" / f"config-{alias}"
        path.parent.mkdir(parents=True, exist_ok=True)
        user = user or self.account.name
        identity = identity or self.account.key_path
        text = (
            f"Host oo-jump\n  HostName {self.jump.host}\n  Port {self.jump.port}\n"
            f"  User {self.account.name}\n  IdentityFile {self.account.key_path}\n"
            f"  IdentityAgent none\n\n"
            f"Host {alias}\n  HostName {server.host}\n  Port {server.port}\n  User {user}\n"
            f"  IdentityFile {identity}\n  IdentityAgent none\n"
            + ("  ProxyJump oo-jump\n" if via_jump else "")
            + extra
        )
        path.write_text(text)
        return path

    def session_options(self, ssh_config: Path | None = None, **kw):
        from omniopt_desktop.remote.session import SessionOptions

        known = kw.pop("known_hosts", None) or (str(self.known_hosts_file()),)
        return SessionOptions(
            ssh_config=str(ssh_config or self.ssh_config()),
            known_hosts=tuple(str(k) for k in known),
            app_known_hosts=str(self.root / "client" / "app_known_hosts"),
            **kw,
        )


@pytest.fixture(scope="session")
def sshd_root():
    root = Path(tempfile.mkdtemp(prefix="oo-sshd-"))
    os.chmod(root, 0o755)
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def sshd_account(sshd_root) -> Account:
    pw = ensure_account(ACCOUNT)
    keydir = sshd_root / "client-keys"
    keydir.mkdir()
    key = keygen(keydir / "id_ed25519")
    return Account(pw.pw_name, pw.pw_dir, pw.pw_uid, pw.pw_gid, str(key))


@pytest.fixture(scope="session")
def sshd_env(sshd_root, sshd_account):
    servers: list[SshServer] = []
    try:
        for name in ("target", "jump"):
            s = SshServer(sshd_root / name, users=(sshd_account.name,))
            servers.append(s)
            s.authorize(sshd_account.name, sshd_account.public_key)
            s.start()
        yield SshdEnv(sshd_root, sshd_account, servers[0], servers[1])
    finally:
        for s in servers:
            s.stop()


@pytest.fixture
def sshd_factory(sshd_root, sshd_account, tmp_path):
    """``sshd_factory(users=..., password_auth=..., sftp=..., extra=...)`` → a started SshServer."""
    started: list[SshServer] = []

    def make(**kw) -> SshServer:
        kw.setdefault("users", (sshd_account.name,))
        d = Path(tempfile.mkdtemp(prefix="srv-", dir=sshd_root))
        s = SshServer(d, **kw)
        started.append(s)
        for u in s.users:
            s.authorize(u, sshd_account.public_key)
        return s.start()

    yield make
    for s in started:
        s.stop()
