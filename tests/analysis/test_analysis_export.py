"""CSV export: the whole text compared with a golden file; the CLI command."""

from __future__ import annotations

import json
import pathlib
import sqlite3
import subprocess
import sys

from support.analysis_studies import make_bulk_db

from omniopt_desktop.analysis.export import to_csv_text
from omniopt_desktop.analysis.loader import load_trials

GOLDEN = pathlib.Path(__file__).with_name("golden")


def _small_study(path):
    make_bulk_db(
        str(path), 8, n_params=5, directions=("minimize", "maximize"), fail_every=4, running_last=1
    )
    con = sqlite3.connect(path)  # the engine's optional attrs: a signal, a comma and quotes
    con.execute(
        "INSERT INTO trial_user_attributes (trial_id, key, value_json) VALUES"
        " (4, 'oo_signal', '\"SIGKILL\"'), (2, 'oo_info.comment', ?), (3, 'oo_info.comment', ?)",
        (json.dumps('a, "quoted" note'), "not JSON: kept as text"),
    )
    con.commit()
    con.close()


def test_csv_matches_golden_file(tmp_path):
    _small_study(tmp_path / "study.db")
    text = to_csv_text(load_trials(str(tmp_path / "study.db")))
    expected = (GOLDEN / "export_small.csv").read_text()
    assert text == expected


def test_cli_export_writes_the_file_and_prints_its_path(tmp_path):
    _small_study(tmp_path / "study.db")
    out = tmp_path / "results.csv"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "omniopt_desktop.cli",
            "export",
            str(tmp_path / "study.db"),
            "--csv",
            str(out),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == str(out)
    assert out.read_text() == (GOLDEN / "export_small.csv").read_text()


def test_cli_export_error_is_one_line(tmp_path):
    bad = tmp_path / "x.db"
    bad.write_bytes(b"nonsense" * 10)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "omniopt_desktop.cli",
            "export",
            str(bad),
            "--csv",
            str(tmp_path / "o.csv"),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and "not an Optuna study" in proc.stderr
    assert not (tmp_path / "o.csv").exists()


def test_export_of_a_journal_matches_the_same_study_in_sqlite(tmp_path):
    import optuna
    from optuna.storages.journal import JournalFileBackend
    from support.analysis_optuna import fill_study

    fill_study(f"sqlite:///{tmp_path / 's.db'}", n=8)
    fill_study(optuna.storages.JournalStorage(JournalFileBackend(str(tmp_path / "s.journal"))), n=8)
    a = to_csv_text(load_trials(str(tmp_path / "s.db"))).splitlines()
    b = to_csv_text(load_trials(str(tmp_path / "s.journal"))).splitlines()
    assert a[0] == b[0] and len(a) == len(b) == 10
    # same sampler seed: same parameters and values; only the clock columns differ
    cut = lambda line: line.split(",")[5:]  # noqa: E731
    assert [cut(x) for x in a[1:]] == [cut(x) for x in b[1:]]


def test_cli_export_to_stdout_with_a_study_name(tmp_path):
    from support.analysis_optuna import fill_study

    fill_study(f"sqlite:///{tmp_path / 'two.db'}", name="a", n=3)
    fill_study(f"sqlite:///{tmp_path / 'two.db'}", name="b", n=5)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "omniopt_desktop.cli",
            "export",
            str(tmp_path / "two.db"),
            "--csv",
            "-",
            "--study",
            "b",
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("trial_index,") and len(lines) == 1 + 6
