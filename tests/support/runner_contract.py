"""One test suite for the CommandRunner contract (``omniopt_desktop.cluster.commands``).

A test module runs it against every runner by importing the tests and defining a
``contract_runner`` fixture (parametrized over the runners it has)::

    from support.runner_contract import *  # noqa: F401,F403

    @pytest.fixture(params=["local", "ssh"])
    def contract_runner(request): ...
"""

from __future__ import annotations

import os
import secrets

import pytest

from omniopt_desktop.cluster.commands import CommandResult
from omniopt_desktop.errors import CommandError, CommandTimedOut

TEN_MB = 10 * 1024 * 1024


def test_contract_exit_status_and_streams(contract_runner):
    r = contract_runner.run("echo out; echo err >&2; exit 3")
    assert isinstance(r, CommandResult)
    assert (r.stdout, r.stderr, r.exit_status, r.signal) == ("out\n", "err\n", 3, None)
    assert not r.ok and r.host == contract_runner.host and r.duration >= 0
    assert contract_runner.run("true").ok


def test_contract_quoting_is_the_callers(contract_runner):
    cmd = "printf '%s|' \"a b\" '$HOME' 'ü' \"it's\"; printf '\\n'\nprintf 'line2'"
    r = contract_runner.run(cmd)
    assert r.stdout == "a b|$HOME|ü|it's|\nline2"
    assert contract_runner.run("echo $0").stdout.strip().endswith("sh")


def test_contract_10mb_on_stdout_and_stderr_at_once(contract_runner):
    r = contract_runner.run(
        f"head -c {TEN_MB} /dev/zero | tr '\\0' o & head -c {TEN_MB} /dev/zero | tr '\\0' e >&2; wait",
        timeout=120,
    )
    assert r.ok
    assert len(r.stdout) == TEN_MB and set(r.stdout) == {"o"}
    assert len(r.stderr) == TEN_MB and set(r.stderr) == {"e"}


def test_contract_stdin_input(contract_runner):
    data = b"hello\x00world\n" * 100_000
    r = contract_runner.run("wc -c", input=data)
    assert r.stdout.strip() == str(len(data))
    # without input the command reads end-of-file at once
    assert contract_runner.run("cat; echo done").stdout == "done\n"


def test_contract_killed_by_signal(contract_runner):
    r = contract_runner.run("echo before; kill -KILL $$")
    assert r.exit_status is None and r.signal == "SIGKILL" and r.stdout == "before\n"
    assert "killed by SIGKILL" in r.describe()


def test_contract_timeout_holds_and_carries_the_partial_result(contract_runner):
    with pytest.raises(CommandTimedOut) as e:
        contract_runner.run("echo started; exec sleep 60", timeout=1.5)
    partial = e.value.result
    assert partial.stdout == "started\n" and partial.exit_status is None
    assert "1.5 s" in str(e.value)


def test_contract_timeout_kills_the_process_group(contract_runner):
    tag = f"{os.getpid() % 1000}.{secrets.randbelow(10**6):06d}"
    with pytest.raises(CommandTimedOut):
        contract_runner.run(f"sleep 6{tag} & sleep 7{tag}; wait", timeout=1)
    # nothing of the command is left running, and the runner is still usable
    left = contract_runner.run(f"pgrep -f 'slee[p] [67]{tag}' || echo none")
    assert left.stdout == "none\n"


def test_contract_check_raises_with_the_result(contract_runner):
    with pytest.raises(CommandError) as e:
        contract_runner.run("echo nope >&2; exit 2", check=True)
    assert e.value.result.exit_status == 2
    assert "exited with status 2: nope" in str(e.value)


def test_contract_undecodable_bytes_are_replaced(contract_runner):
    r = contract_runner.run("printf '\\377ok'")
    assert r.stdout == "\ufffdok"
