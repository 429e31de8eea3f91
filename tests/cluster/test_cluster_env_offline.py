"""The environment step on a cluster without internet: pip cannot reach an index, and the error
says what to do (a wheelhouse) besides pip's own last line. Real venv, real pip, a dead index."""

from __future__ import annotations

import shutil
import sys

import pytest

from omniopt_desktop.cluster.commands import LocalRunner
from omniopt_desktop.cluster.remote_env import EnvBuilder, EnvConfig
from omniopt_desktop.errors import ClusterError

OFFLINE = (
    "unset PIP_FIND_LINKS PIP_EXTRA_INDEX_URL PIP_CONSTRAINT; "
    "export PIP_CONFIG_FILE=/dev/null PIP_INDEX_URL=http://127.0.0.1:9/simple PIP_RETRIES=0 "
    "PIP_TIMEOUT=2"
)


@pytest.mark.slow
def test_no_internet_on_the_cluster_names_the_wheelhouse(tmp_path):
    python = shutil.which("python3") or sys.executable
    cfg = EnvConfig(base=str(tmp_path / "oo"), python=python, setup_lines=(OFFLINE,))
    steps = []
    with pytest.raises(ClusterError) as e:
        EnvBuilder(LocalRunner(), cfg, lambda s, _f: steps.append(s)).ensure()
    message = str(e.value)
    assert steps[-1] == "creating the virtual environment"
    assert "No matching distribution found for optuna==" in message
    assert "Wheelhouse" in message and "--wheelhouse" in message
    assert "\n" not in message  # one line, the script shortened (CommandResult.describe)
    finished = [p.name for p in (tmp_path / "oo" / "envs").glob("py-*") if ".tmp-" not in p.name]
    assert finished == []  # no half environment where a later submission would look
