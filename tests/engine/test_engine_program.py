"""The program runner with real subprocesses: timeouts kill children, output stays bounded."""

from __future__ import annotations

import os
import time

from omniopt_desktop.engine.program import CappedFile, run_program


def _run(tmp_path, command, **kw):
    return run_program(
        command,
        cwd=str(tmp_path),
        env=dict(os.environ, GREETING="hi"),
        stdout_path=str(tmp_path / "stdout.txt"),
        stderr_path=str(tmp_path / "stderr.txt"),
        **kw,
    )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is dead for our purposes
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def test_runs_in_cwd_with_env_and_captures_both_streams(tmp_path):
    r = _run(tmp_path, 'pwd; echo "$GREETING"; echo oops >&2; exit 3')
    assert r.exit_code == 3 and r.signal is None and not r.timed_out
    out = (tmp_path / "stdout.txt").read_text().split()
    assert out == [str(tmp_path), "hi"]
    assert (tmp_path / "stderr.txt").read_text() == "oops\n"
    assert r.duration >= 0 and r.host and r.pgid


def test_timeout_kills_the_whole_group_children_included(tmp_path):
    pidfile = tmp_path / "child.pid"
    cmd = f"(sleep 300 & echo $! > {pidfile}; wait) ; sleep 300"
    r = _run(tmp_path, cmd, timeout=1.0, kill_grace=0.5)
    assert r.timed_out and r.exit_code is None and r.signal in ("SIGTERM", "SIGKILL")
    child = int(pidfile.read_text())
    deadline = time.time() + 5
    while _alive(child) and time.time() < deadline:
        time.sleep(0.05)
    assert not _alive(child)


def test_program_ignoring_sigterm_is_killed(tmp_path):
    r = _run(tmp_path, "trap '' TERM; sleep 300", timeout=0.5, kill_grace=0.3)
    assert r.timed_out
    assert r.signal == "SIGKILL"


def test_leftover_background_child_is_killed_when_main_exits(tmp_path):
    pidfile = tmp_path / "bg.pid"
    r = _run(tmp_path, f"sleep 300 & echo $! > {pidfile}; echo RESULT: 1")
    assert r.exit_code == 0
    child = int(pidfile.read_text())
    deadline = time.time() + 5
    while _alive(child) and time.time() < deadline:
        time.sleep(0.05)
    assert not _alive(child)


def test_should_stop_interrupts(tmp_path):
    t0 = time.time()
    r = _run(tmp_path, "sleep 300", should_stop=lambda: time.time() - t0 > 0.3)
    assert r.interrupted and not r.timed_out


def test_missing_workdir_is_a_start_error(tmp_path):
    r = run_program(
        "true",
        cwd=str(tmp_path / "nope"),
        env=dict(os.environ),
        stdout_path=str(tmp_path / "o"),
        stderr_path=str(tmp_path / "e"),
    )
    assert r.start_error and r.exit_code is None


def test_big_output_keeps_head_and_tail_on_disk(tmp_path):
    cmd = "echo FIRST; head -c 50000000 /dev/zero | tr '\\0' 'x'; echo; echo RESULT: 4.5"
    r = _run(tmp_path, cmd, head=1 << 16, tail=1 << 16)
    assert r.exit_code == 0 and r.stdout_bytes > 50_000_000
    data = (tmp_path / "stdout.txt").read_bytes()
    assert len(data) < (1 << 17) + 200
    assert data.startswith(b"FIRST\n")
    assert data.rstrip().endswith(b"RESULT: 4.5")
    assert b"bytes dropped here" in data


def test_capped_file_exact_accounting(tmp_path):
    f = CappedFile(str(tmp_path / "c"), head=4, tail=3)
    for chunk in (b"ab", b"cdef", b"ghij", b"k"):
        f.write(chunk)
    f.close()
    data = (tmp_path / "c").read_bytes()
    assert data == b"abcd\n[... omniopt: 4 bytes dropped here ...]\nijk"
    g = CappedFile(str(tmp_path / "d"), head=4, tail=3)
    g.write(b"abcdef")
    g.close()
    assert (tmp_path / "d").read_bytes() == b"abcdef"
