"""A private PostgreSQL 15 cluster for tests: initdb in a temp dir, a free loopback port, trust auth.

Use the ``postgres_server`` fixture (session scope) and ``server.create_database()`` for a fresh
database per test::

    from support.postgres import postgres_server  # noqa: F401  (re-export the fixture)

    def test_x(postgres_server):
        url = postgres_server.create_database()   # postgresql://postgres@127.0.0.1:PORT/db_N

The server runs as the ``postgres`` OS user when the tests run as root (PostgreSQL refuses root)
and as the current user otherwise. It listens on 127.0.0.1 only (and a socket in its temp dir),
with ``trust`` authentication, so URLs carry no password. The finalizer stops it (``pg_ctl stop
-m immediate``, then SIGKILL of the postmaster) and removes the folder. Tests are skipped when
the PostgreSQL 15 binaries are missing (``PG_BIN`` overrides their folder).
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from typing import Iterator, List, Optional

import pytest

PG_BIN = os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class PostgresServer:
    datadir: str
    port: int
    user: str
    os_user: Optional[str]
    host: str = "127.0.0.1"
    _counter: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    databases: List[str] = field(default_factory=list)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/{database}"

    def psql(self, sql: str, database: str = "postgres") -> str:
        proc = subprocess.run(
            [os.path.join(PG_BIN, "psql"), "-h", self.host, "-p", str(self.port), "-U", self.user,
             "-d", database, "-v", "ON_ERROR_STOP=1", "-Atc", sql],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        if proc.returncode != 0:
            raise RuntimeError(f"psql failed: {proc.stderr.strip()}")
        return proc.stdout

    def create_database(self, name: Optional[str] = None) -> str:
        """Create a fresh database; return its URL (no password)."""
        name = name or f"db_{os.getpid()}_{next(self._counter)}"
        self.psql(f'CREATE DATABASE "{name}"')
        self.databases.append(name)
        return self.url(name)


def _run_as(os_user: Optional[str], argv: List[str], **kw) -> subprocess.CompletedProcess:
    if os_user is not None:
        argv = ["runuser", "-u", os_user, "--", *argv]
    return subprocess.run(argv, capture_output=True, text=True, **kw)


def start_postgres() -> PostgresServer:
    """Start a private server (see the module docstring); call :func:`stop_postgres` after."""
    if not os.path.exists(os.path.join(PG_BIN, "initdb")):
        pytest.skip(f"PostgreSQL binaries not found in {PG_BIN} (set PG_BIN)")
    os_user = "postgres" if os.geteuid() == 0 else None
    base = tempfile.mkdtemp(prefix="oo-pg-")
    datadir = os.path.join(base, "data")
    if os_user is not None:
        pw = pwd.getpwnam(os_user)
        os.chmod(base, 0o755)
        os.chown(base, pw.pw_uid, pw.pw_gid)
    user = os_user or pwd.getpwuid(os.geteuid()).pw_name
    init = _run_as(
        os_user,
        [os.path.join(PG_BIN, "initdb"), "-D", datadir, "-U", user, "--auth=trust",
         "-E", "UTF8", "--no-sync"],
        timeout=120,
    )  # fmt: skip
    if init.returncode != 0:
        shutil.rmtree(base, ignore_errors=True)
        raise RuntimeError(f"initdb failed: {init.stderr.strip()}")
    for attempt in range(5):
        port = free_port()
        opts = (
            f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={base} "
            "-c fsync=off -c max_connections=200 -c shared_buffers=32MB"
        )
        start = _run_as(
            os_user,
            [os.path.join(PG_BIN, "pg_ctl"), "-D", datadir, "-o", opts, "-l",
             os.path.join(base, "server.log"), "-w", "-t", "60", "start"],
            timeout=90,
        )  # fmt: skip
        if start.returncode == 0:
            return PostgresServer(datadir=datadir, port=port, user=user, os_user=os_user)
        time.sleep(0.2 * (attempt + 1))
    log = ""
    try:
        with open(os.path.join(base, "server.log")) as f:
            log = f.read()[-2000:]
    except OSError:
        pass
    shutil.rmtree(base, ignore_errors=True)
    raise RuntimeError(f"pg_ctl start failed: {start.stderr.strip()} {log}")


def stop_postgres(server: PostgresServer) -> None:
    pidfile = os.path.join(server.datadir, "postmaster.pid")
    _run_as(
        server.os_user,
        [os.path.join(PG_BIN, "pg_ctl"), "-D", server.datadir, "-m", "immediate", "-w", "stop"],
        timeout=60,
    )
    try:
        with open(pidfile) as f:
            os.kill(int(f.readline().strip()), signal.SIGKILL)
    except (OSError, ValueError):
        pass
    shutil.rmtree(os.path.dirname(server.datadir), ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    server = start_postgres()
    try:
        yield server
    finally:
        stop_postgres(server)
