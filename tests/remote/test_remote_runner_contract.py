"""The shared CommandRunner suite, run against LocalRunner and the SSH runner."""

from __future__ import annotations

import pytest
from support.runner_contract import *  # noqa: F401,F403

from omniopt_desktop.cluster.commands import LocalRunner
from omniopt_desktop.remote.session import Session

pytestmark = pytest.mark.sshd


@pytest.fixture(scope="module")
def ssh_session(sshd_env):
    with Session("oo-target", options=sshd_env.session_options()) as s:
        yield s


@pytest.fixture(params=["local", "ssh"])
def contract_runner(request):
    if request.param == "local":
        return LocalRunner()
    return request.getfixturevalue("ssh_session").runner()
