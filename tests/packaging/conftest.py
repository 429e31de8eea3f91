"""Fixtures of the packaging tests: the PyInstaller bundle (built once per session), and the
real sshd, single-node SLURM and wheelhouse for the bundle's cluster run."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from support.bundle import bundle_for_tests
from support.cluster_runs import build_wheelhouse
from support.slurm import slurm_cluster  # noqa: F401
from support.sshd import sshd_account, sshd_env, sshd_root  # noqa: F401


@pytest.fixture(scope="session")
def bundle(tmp_path_factory) -> Path:
    return bundle_for_tests(tmp_path_factory.mktemp("bundle"))


@pytest.fixture(scope="session")
def wheelhouse():
    return build_wheelhouse(Path(tempfile.mkdtemp(prefix="oo-wheels-")))
