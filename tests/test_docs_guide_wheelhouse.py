"""The guide's wheelhouse command (for a cluster without internet) really makes a wheelhouse
that a fresh virtual environment installs the engine's Optuna from with ``--no-index``, as the
environment step on the cluster does (cluster/remote_env.py)."""

from __future__ import annotations

import os
import pathlib
import re
import shutil
import subprocess
import sys
from importlib import metadata

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PYTHON = shutil.which("python3") or sys.executable


def _only_the_wheelhouse() -> dict[str, str]:
    """No pip configuration (files or PIP_* variables) that could add another source."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    return dict(env, PIP_CONFIG_FILE=os.devnull)


def _guide_line() -> str:
    text = (ROOT / "docs" / "guide.md").read_text()
    blocks = re.findall(r"```sh\n(.*?)```", text, re.S)
    [line] = [x for b in blocks for x in b.splitlines() if "pip download" in x]
    return line.strip()


@pytest.mark.slow
def test_the_guides_wheelhouse_installs_optuna_without_an_index(tmp_path):
    line = _guide_line()
    assert "-d wheels" in line and "--python-version 3.11" in line
    version = subprocess.run(
        [PYTHON, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    # the guide's cluster has Python 3.11; here the "cluster" is this machine's python3
    line = line.replace("--python-version 3.11", f"--python-version {version}")
    (tmp_path / ".venv").symlink_to(pathlib.Path(sys.executable).parents[1])
    subprocess.run(["bash", "-c", line], cwd=tmp_path, check=True, timeout=600)
    optuna = metadata.version("optuna")
    assert list((tmp_path / "wheels").glob(f"optuna-{optuna}-*.whl"))
    env = tmp_path / "env"
    subprocess.run([PYTHON, "-m", "venv", str(env)], check=True, timeout=300)
    subprocess.run(
        [str(env / "bin" / "python"), "-m", "pip", "install", "-q", "--no-index",
         "--find-links", str(tmp_path / "wheels"), f"optuna=={optuna}"],
        check=True, timeout=600, env=_only_the_wheelhouse(),
    )  # fmt: skip
    out = subprocess.run(
        [str(env / "bin" / "python"), "-c", "import optuna; print(optuna.__version__)"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    assert out == optuna
