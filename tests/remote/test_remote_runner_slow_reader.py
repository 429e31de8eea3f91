"""Input for a remote command that reads it slowly: every byte arrives and then its end, even
when the server's window stays full for longer than the runner's 0.2 s read timeout (before,
the feeder gave up silently and the command waited for the end of its input until the timeout:
a wheel upload of a submission hung on a loaded machine)."""

from __future__ import annotations

import hashlib
import os

import pytest

from omniopt_desktop.remote.session import Session

pytestmark = pytest.mark.sshd


def test_a_slow_reader_gets_all_its_input_and_its_end(sshd_env):
    data = os.urandom(6 << 20)  # more than the server's channel window (2 MiB)
    with Session("oo-target", options=sshd_env.session_options()) as s:
        result = s.runner().run("sleep 2; sha256sum", input=data, timeout=120)
    assert result.ok, result.describe()
    assert result.stdout.split()[0] == hashlib.sha256(data).hexdigest()
