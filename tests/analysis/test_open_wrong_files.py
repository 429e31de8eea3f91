"""What a new user passes to `open` by mistake: a study.toml, a CSV, an OmniOpt2 run folder.
Each gets one line saying what it is and what to open instead."""

from __future__ import annotations

import pytest

from omniopt_desktop.analysis.loader import load_trials
from omniopt_desktop.errors import OmniOptError


def message(path) -> str:
    with pytest.raises(OmniOptError) as e:
        load_trials(str(path))
    return str(e.value)


def test_a_study_file_says_to_run_it(tmp_path):
    f = tmp_path / "study.toml"
    f.write_text('[study]\nname = "s"\n')
    assert message(f) == (
        f"{f} is a study file, not its results: run it (omniopt-desktop run {f}), "
        "then open its run folder runs/<study name>"
    )


def test_a_csv_says_what_to_open(tmp_path):
    f = tmp_path / "results.csv"
    f.write_text("trial_index,RESULT\n0,1\n")
    assert message(f).endswith("open the study.db or study.journal of a run, or the run folder")


def test_an_omniopt2_run_folder_is_named(tmp_path):
    (tmp_path / "results.csv").write_text("trial_index,RESULT\n")
    assert message(tmp_path).endswith(
        "(an OmniOpt2 run folder: its results.csv is no Optuna study)"
    )
