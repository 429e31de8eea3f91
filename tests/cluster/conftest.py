"""Fixtures of the cluster tests: the real single-node SLURM (tests/support/slurm.py), the real
sshd with a non-root account (tests/support/sshd.py) and a wheelhouse for the remote venv."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from support.cluster_runs import build_wheelhouse
from support.postgres import postgres_server  # noqa: F401
from support.slurm import slurm_cluster  # noqa: F401

try:  # the SSH layer's fixtures (tests/support/sshd.py)
    from support.sshd import sshd_account, sshd_env, sshd_root  # noqa: F401
except ImportError:  # pragma: no cover - before the SSH layer lands
    pass


@pytest.fixture(scope="session")
def wheelhouse():
    folder = Path(tempfile.mkdtemp(prefix="oo-wheels-"))
    return build_wheelhouse(folder)
