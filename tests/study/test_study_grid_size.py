"""The grid sampler with more trials than grid points: Optuna's GridSampler draws visited points
again once the grid is exhausted, so a 9-point grid with the default n_trials = 100 ran 91
duplicates. Validation now says to set n_trials to the grid's size; an OmniOpt1 gridsearch
import takes it over."""

from __future__ import annotations

import pytest

from omniopt_desktop.study.importers import import_text
from omniopt_desktop.study.toml_io import loads_study

TEXT = """[study]
name = "g"
sampler = "grid"
{trials}
[program]
command = "echo RESULT: %(a) %(b) %(c)"
[[parameter]]
name = "a"
type = "int"
low = 1
high = 5
step = 2
[[parameter]]
name = "b"
type = "choice"
values = ["x", "y"]
[[parameter]]
name = "c"
type = "float"
low = 0.0
high = 1.0
step = 0.25
"""


def messages(trials: str) -> list[str]:
    return [str(i) for i in loads_study(TEXT.format(trials=trials)).all_issues()]


def test_default_trials_beyond_the_grid_is_an_issue():
    # 3 (1, 3, 5) x 2 x 5 (0, .25, .5, .75, 1) = 30 points
    assert messages("") == [
        "study.toml:1: [study]: n_trials (100) is more than the grid's 30 points; the grid "
        "sampler would run points again: set n_trials = 30"
    ]


@pytest.mark.parametrize("n", [30, 12])
def test_trials_up_to_the_grid_are_fine(n):
    assert messages(f"n_trials = {n}") == []


def test_omniopt1_gridsearch_import_caps_max_evals_at_the_grid():
    ini = (
        "[DATA]\nmax_evals = 50\nalgo_name = gridsearch\nobjective_program = ./run ($x_0)\n\n"
        "[DIMENSIONS]\ndimensions = 1\ndim_0_name = n\nrange_generator_0 = hp.randint\n"
        "max_dim_0 = 5\n"
    )
    r = import_text(ini, "config.ini")
    assert r.study.sampler == "grid" and r.study.n_trials == 5
    assert any("max_evals = 50 is more than the grid's 5 points" in n for n in r.approximations)
