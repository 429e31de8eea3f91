"""A path the user gives that cannot be written: one line naming it, never a traceback
(export --csv, import --out into a missing folder printed Python tracebacks)."""

from __future__ import annotations

import optuna
import pytest
from support.cli import run_cli as cli


@pytest.fixture
def db(tmp_path):
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    s = optuna.create_study(storage=f"sqlite:///{tmp_path}/s.db", study_name="s")
    s.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    return tmp_path / "s.db"


def test_export_into_a_missing_folder(db, tmp_path):
    r = cli("export", str(db), "--csv", str(tmp_path / "no" / "such" / "out.csv"))
    assert r.returncode == 1
    assert r.stderr.strip() == (
        f"omniopt-desktop: error: {tmp_path / 'no' / 'such'}: no such folder; "
        "create it first or choose another path"
    )


def test_import_into_a_missing_folder(tmp_path):
    src = tmp_path / "cmd.txt"
    src.write_text("./omniopt --run_program ZWNobyAlKHgp --parameter x range 0 1 float\n")
    r = cli("import", str(src), "--out", str(tmp_path / "missing" / "study.toml"))
    assert r.returncode == 1
    assert "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines()[-1] == (
        f"omniopt-desktop: error: {tmp_path / 'missing'}: no such folder; "
        "create it first or choose another path"
    )
