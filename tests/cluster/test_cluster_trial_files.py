"""A trial's files read from a run folder: one suite for both readers (this machine, and SFTP
through a real sshd), plus the offline view of a fetched snapshot (files fetched along, else
where they are on the cluster)."""

from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path

import pytest

from omniopt_desktop.cluster.registry import Registry, RunRecord
from omniopt_desktop.cluster.trial_files import (
    CUT,
    LocalReader,
    read_trial_files,
    snapshot_trial_files,
)
from omniopt_desktop.errors import ClusterError, RemoteError

BIG = b"".join(b"line %06d of a chatty program\n" % i for i in range(20_000))  # ~600 kB


def _make_run(run_dir: Path) -> None:
    t = run_dir / "trials" / "3"
    t.mkdir(parents=True)
    (t / "command.txt").write_text("sh ./prog.sh 0.5 2\n")
    (t / "stdout.txt").write_bytes(BIG)
    (t / "stderr.txt").write_text("warning: \u00e9t\u00e9\n")
    (run_dir / "trials" / "4").mkdir()  # started, nothing written yet


@pytest.fixture(params=["local", "sftp"])
def reader_and_run(request, tmp_path):
    """(reader, run folder as the reader sees it, where prefix)."""
    if request.param == "local":
        run_dir = tmp_path / "run"
        _make_run(run_dir)
        yield LocalReader(), str(run_dir), ""
        return
    pytest.importorskip("support.sshd")
    env = request.getfixturevalue("sshd_env")
    from omniopt_desktop.remote.session import Session
    from omniopt_desktop.remote.sftp_reader import SftpReader

    run_dir = Path(env.account.home) / f"oo-trialfiles-{secrets.token_hex(3)}"
    _make_run(run_dir)
    os.chmod(run_dir, 0o755)
    session = Session("oo-target", options=env.session_options(env.ssh_config(tmp_path / "cfg")))
    session.connect()
    try:
        yield SftpReader(session), str(run_dir), "oo-target:"
    finally:
        session.close()
        shutil.rmtree(run_dir, ignore_errors=True)


def test_a_trial_is_read_whole_or_head_and_tail(reader_and_run):
    reader, run_dir, where = reader_and_run
    files = read_trial_files(reader, run_dir, 3)
    assert files.number == 3 and files.folder == f"{where}{run_dir}/trials/3"
    assert files.command == "sh ./prog.sh 0.5 2\n"
    assert files.stdout == BIG.decode()  # under the limit: whole
    assert files.stderr == "warning: \u00e9t\u00e9\n" and files.status is None
    cut = read_trial_files(reader, run_dir, 3, limit=1000)  # a huge file: never read whole
    assert cut.stdout.encode() == BIG[:500] + CUT + BIG[-500:]
    assert cut.command == "sh ./prog.sh 0.5 2\n"


def test_a_started_trial_without_files_and_a_missing_trial(reader_and_run):
    reader, run_dir, where = reader_and_run
    files = read_trial_files(reader, run_dir, 4)
    assert (files.command, files.stdout, files.stderr, files.status) == (None,) * 4
    with pytest.raises(ClusterError) as e:
        read_trial_files(reader, run_dir, 999)
    msg = str(e.value)
    assert f"trial 999 has no folder {where}{run_dir}/trials/999" in msg and "\n" not in msg


@pytest.mark.sshd
def test_sftp_reader_errors_are_one_line(sshd_env, tmp_path):
    pytest.importorskip("support.sshd")
    from omniopt_desktop.remote.session import Session
    from omniopt_desktop.remote.sftp_reader import SftpReader

    run_dir = Path(sshd_env.account.home) / f"oo-trialfiles-{secrets.token_hex(3)}"
    _make_run(run_dir)
    secret = run_dir / "trials" / "3" / "stderr.txt"
    os.chown(secret, 0, 0)
    secret.chmod(0o600)  # the login account may not read it
    session = Session(
        "oo-target", options=sshd_env.session_options(sshd_env.ssh_config(tmp_path / "cfg"))
    )
    session.connect()
    try:
        reader = SftpReader(session)
        with pytest.raises(RemoteError, match=r"^no permission to read oo-target:.*stderr\.txt$"):
            read_trial_files(reader, str(run_dir), 3)
        session.close()
        with pytest.raises(RemoteError) as e:
            read_trial_files(reader, str(run_dir), 3)
        assert "not connected to oo-target" in str(e.value) and "\n" not in str(e.value)
    finally:
        session.close()
        shutil.rmtree(run_dir, ignore_errors=True)


def _snapshot(tmp_path: Path, run_id: str = "quad-1") -> tuple[str, Registry]:
    """A snapshot fetched to <dest>/<run id>/, registered as the GUI's fetch does."""
    dest = tmp_path / "snapshots" / run_id
    dest.mkdir(parents=True)
    db = dest / "study-snapshot.db"
    db.write_bytes(b"")
    registry = Registry(str(tmp_path / "runs.json"))
    registry.put(
        RunRecord(run_id=run_id, host="oo-target", remote_dir="/home/u/runs/quad-1",
                  tag=run_id, study_name="quad", snapshots=(str(db),))
    )  # fmt: skip
    return str(db), registry


def test_snapshot_without_trial_files_says_where_they_are(tmp_path):
    db, registry = _snapshot(tmp_path)
    with pytest.raises(ClusterError) as e:
        snapshot_trial_files(db, 7, registry)
    msg = str(e.value)
    assert "oo-target:/home/u/runs/quad-1/trials/7" in msg and "fetch quad-1 --logs" in msg
    # a database that belongs to no cluster run: the offline reader's answer (no files)
    other = tmp_path / "elsewhere" / "study.db"
    other.parent.mkdir()
    files = snapshot_trial_files(str(other), 7, registry)
    assert files.stdout is None and files.folder == str(other.parent / "trials" / "7")


def test_snapshot_finds_trial_files_fetched_along(tmp_path):
    db, registry = _snapshot(tmp_path)
    _make_run(Path(db).parent / "quad-1-logs")  # what 'fetch --logs' unpacks
    files = snapshot_trial_files(db, 3, registry)
    assert files.stdout == BIG.decode() and files.command == "sh ./prog.sh 0.5 2\n"
    with pytest.raises(
        ClusterError, match="on the cluster in oo-target:/home/u/runs/quad-1/trials/999"
    ):
        snapshot_trial_files(db, 999, registry)  # started after the fetch
