"""Files written whole through a temporary file get the mode open() would give (umask), not
mkstemp's 0600: a run folder's study.json and status.json, and exported CSVs, must be readable
by the colleagues the folder is shared with."""

from __future__ import annotations

import os
import stat

from support.cli import run_cli, tiny_study


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def cli(*args):
    return run_cli(*args, preexec_fn=lambda: os.umask(0o022))


def test_run_folder_and_csv_follow_the_umask(tmp_path):
    (tmp_path / "study.toml").write_text(tiny_study("m", 1))
    assert cli("run", str(tmp_path / "study.toml"), "--quiet").returncode == 0
    run = tmp_path / "runs" / "m"
    assert mode(run / "study.json") == 0o644
    assert mode(run / "trials" / "0" / "status.json") == 0o644
    assert cli("export", str(run), "--csv", str(tmp_path / "r.csv")).returncode == 0
    assert mode(tmp_path / "r.csv") == 0o644


def test_a_replaced_csv_keeps_its_mode(tmp_path):
    (tmp_path / "study.toml").write_text(tiny_study("m", 1))
    assert cli("run", str(tmp_path / "study.toml"), "--quiet").returncode == 0
    out = tmp_path / "r.csv"
    out.write_text("old\n")
    out.chmod(0o640)
    assert cli("export", str(tmp_path / "runs" / "m"), "--csv", str(out)).returncode == 0
    assert mode(out) == 0o640 and out.read_text() != "old\n"
