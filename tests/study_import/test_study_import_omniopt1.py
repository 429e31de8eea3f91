"""OmniOpt1 config.ini → Study: every range generator, every [DATA] option, the error paths."""

from __future__ import annotations

import math

import pytest
from support.study_import import INPUTS, assert_valid_and_round_trips, param

from omniopt_desktop.study.importers import ImportSourceError, SourceKind, import_file, import_text
from omniopt_desktop.study.model import Direction, ParamType


@pytest.fixture(scope="module")
def all_generators():
    return import_file(INPUTS / "omniopt1_all_generators.ini")


def _ini(dimensions: str, data: str = "max_evals = 10\nobjective_program = ./run ($x_0)\n") -> str:
    return f"[DATA]\n{data}\n[DIMENSIONS]\n{dimensions}\n"


def test_kind_and_validity(all_generators):
    assert all_generators.source_kind is SourceKind.OMNIOPT1_INI
    assert all_generators.source_kind == "omniopt1-ini"
    assert_valid_and_round_trips(all_generators.study)


def test_data_section(all_generators):
    s = all_generators.study
    assert s.name == "all_generators"
    assert s.n_trials == 300
    assert s.sampler == "tpe"
    assert s.seed == 1234
    assert [(o.name, o.direction) for o in s.objectives] == [("RESULT", Direction.MINIMIZE)]
    r = s.resources
    assert (r.workers, r.partition, r.account, r.reservation) == (8, "alpha", "p_test", "res_2020")
    assert r.time == "10h"  # computing_time is in hours
    assert r.mem == "4G"  # mem_per_cpu = 4096 (MB)
    assert r.gpus == 2
    assert any("mem_per_cpu" in a for a in all_generators.approximations)


def test_objective_program_placeholders(all_generators):
    # ($x_N), int($x_N), ($name) and int($name) all become %(name); ($thisprojectdir) a folder
    assert all_generators.study.program.command == (
        "python3 ./train.py --seed %(seed) --opt %(optimizer) --act=%(act) --lr %(lr) "
        "--wd %(wd) --layers %(layers) --batch %(batch) --units %(units) --mom %(mom) "
        "--scale %(scale) --shift %(shift) --tokens %(tokens) --width %(width) "
        "--heads %(heads) --depth %(depth)"
    )
    assert any("($thisprojectdir)" in a for a in all_generators.approximations)


def test_randint_default_generator_is_zero_to_max_minus_one(all_generators):
    # dim 0 has no range_generator_0: range_generator_name = hp.randint applies; max 100 → 0..99
    assert param(all_generators.study, "seed") == {
        "name": "seed",
        "type": "int",
        "low": 0,
        "high": 99,
    }


def test_choice_and_pchoice(all_generators):
    s = all_generators.study
    assert param(s, "optimizer")["values"] == ["adam", "sgd", "rmsprop"]
    assert param(s, "act") == {"name": "act", "type": "choice", "values": ["relu", "tanh", "elu"]}
    (note,) = [a for a in all_generators.approximations if "'act'" in a]
    assert "probabilities" in note and "relu=60" in note


def test_uniform_loguniform_uniformint(all_generators):
    s = all_generators.study
    assert param(s, "lr") == {"name": "lr", "type": "float", "low": 0.001, "high": 0.5}
    wd = param(s, "wd")  # hyperopt's loguniform bounds are in log space
    assert wd["type"] == "float" and wd["log"] is True
    assert wd["low"] == pytest.approx(math.exp(-9)) and wd["high"] == pytest.approx(math.exp(-2))
    assert param(s, "layers") == {"name": "layers", "type": "int", "low": 1, "high": 6}


def test_quniform_and_qloguniform(all_generators):
    s = all_generators.study
    assert param(s, "batch") == {
        "name": "batch",
        "type": "float",
        "low": 16.0,
        "high": 256.0,
        "step": 16.0,
    }
    # round(exp(2)/8)*8 = 8, round(exp(6)/8)*8 = 400
    assert param(s, "units") == {
        "name": "units",
        "type": "float",
        "low": 8.0,
        "high": 400.0,
        "step": 8.0,
    }
    assert any("'units'" in a and "log-uniform" in a for a in all_generators.approximations)


def test_normal_priors_become_bounded_ranges_and_are_listed(all_generators):
    s, notes = all_generators.study, all_generators.approximations
    mom = param(s, "mom")  # normal(0.9, 0.02) → 0.9 ± 3·0.02
    assert (mom["type"], mom["low"], mom["high"]) == ("float", 0.84, 0.96)
    scale = param(s, "scale")  # lognormal(0, 1) → exp(±3), log scale
    assert scale["log"] is True
    assert scale["low"] == pytest.approx(math.exp(-3)) and scale["high"] == pytest.approx(
        math.exp(3)
    )
    assert param(s, "shift") == {
        "name": "shift",
        "type": "float",
        "low": -6.0,
        "high": 6.0,
        "step": 0.5,
    }
    # qlognormal(3, 0.5, 1): round(exp(1.5)) = 4, round(exp(4.5)) = 90
    assert param(s, "tokens") == {
        "name": "tokens",
        "type": "float",
        "low": 4.0,
        "high": 90.0,
        "step": 1.0,
    }
    for name in ("mom", "scale", "shift", "tokens"):
        assert any(f"'{name}'" in a and "3·sigma" in a for a in notes), name


def test_choicestep_and_choiceint(all_generators):
    s = all_generators.study
    assert param(s, "width") == {"name": "width", "type": "choice", "values": [32, 64, 96, 128]}
    assert param(s, "heads") == {"name": "heads", "type": "choice", "values": [1, 2, 3, 4]}


def test_int_of_a_real_parameter_becomes_the_integers_it_could_give(all_generators):
    # depth: hp.uniform(2, 8.5) used as int($depth) → the program saw 2..8
    assert param(all_generators.study, "depth") == {
        "name": "depth",
        "type": "int",
        "low": 2,
        "high": 8,
    }
    assert any("'depth'" in a and "int(" in a for a in all_generators.approximations)


def test_ignored_sections_and_keys(all_generators):
    ignored = all_generators.ignored
    assert any(i.startswith("[DEBUG]") for i in ignored)
    assert any(i.startswith("[MONGODB]") for i in ignored)
    assert any("precision" in i for i in ignored)


def test_gui_made_config():
    r = import_file(INPUTS / "omniopt1_gui.ini")
    s = r.study
    assert s.sampler == "random"  # hyperopt.rand.suggest
    assert s.seed == 42 and s.n_trials == 50
    assert s.resources.time == "02:30:00"
    assert s.resources.gpus == 0  # enable_gpus = 0
    assert s.program.command == "bash run.sh %(epochs) %(dropout)"  # quotes around ($x_N) dropped
    assert param(s, "epochs") == {"name": "epochs", "type": "int", "low": 0, "high": 9}
    assert param(s, "dropout")["values"] == [0.1, 0.25, 0.5]
    assert_valid_and_round_trips(s)


@pytest.mark.parametrize(
    "algo,sampler,approximated",
    [
        ("tpe.suggest", "tpe", False),
        ("hyperopt.tpe.suggest", "tpe", False),
        ("rand.suggest", "random", False),
        ("hyperopt.rand.suggest", "random", False),
        ("gridsearch", "grid", False),
        ("simulated_annealing", "tpe", True),
        ("anneal.suggest", "tpe", True),
        ("no_such_algo", "tpe", True),
    ],
)
def test_algo_name(algo, sampler, approximated):
    text = _ini(
        "dimensions = 1\ndim_0_name = n\nrange_generator_0 = hp.randint\nmax_dim_0 = 5\n",
        f"max_evals = 3\nalgo_name = {algo}\nobjective_program = ./run ($x_0)\n",
    )
    r = import_text(text, "config.ini")
    assert r.study.sampler == sampler
    assert any("algo_name" in a for a in r.approximations) is approximated
    assert_valid_and_round_trips(r.study)


def test_gridsearch_with_a_continuous_parameter_falls_back_to_tpe():
    text = _ini(
        "dimensions = 1\nrange_generator_0 = hp.uniform\nmin_dim_0 = 0\nmax_dim_0 = 1\n",
        "max_evals = 3\nalgo_name = gridsearch\nobjective_program = ./run ($x_0)\n",
    )
    r = import_text(text, "config.ini")
    assert r.study.sampler == "tpe"
    assert any("gridsearch" in a for a in r.approximations)
    assert r.study.parameters[0].name == "x_0"  # no dim_0_name: OmniOpt1's own label
    assert_valid_and_round_trips(r.study)


def test_range_generator_name_in_dimensions_and_randint_with_min():
    text = _ini(
        "dimensions = 2\nrange_generator_name = hp.uniform\nmin_dim_0 = -1\nmax_dim_0 = 1\n"
        "range_generator_1 = hp.randint\nmin_dim_1 = 5\nmax_dim_1 = 10\n",
        "max_evals = 3\nobjective_program = ./run ($x_0) ($x_1)\n",
    )
    s = import_text(text, "config.ini").study
    assert param(s, "x_0") == {"name": "x_0", "type": "float", "low": -1.0, "high": 1.0}
    assert param(s, "x_1") == {"name": "x_1", "type": "int", "low": 5, "high": 9}


def test_names_are_made_valid_and_unique():
    text = _ini(
        "dimensions = 2\ndim_0_name = learning rate\ndim_1_name = learning_rate\n"
        "range_generator_0 = hp.uniform\nmin_dim_0 = 0\nmax_dim_0 = 1\n"
        "range_generator_1 = hp.uniform\nmin_dim_1 = 0\nmax_dim_1 = 1\n",
        "max_evals = 3\nobjective_program = ./run ($x_0) ($x_1)\n",
    )
    r = import_text(text, "config.ini")
    assert [p.name for p in r.study.parameters] == ["learning_rate", "learning_rate_2"]
    assert r.study.program.command == "./run %(learning_rate) %(learning_rate_2)"
    assert any("renamed" in a for a in r.approximations)
    assert_valid_and_round_trips(r.study)


def test_missing_bound_names_key_and_line():
    text = _ini("dimensions = 1\ndim_0_name = lr\nrange_generator_0 = hp.uniform\nmin_dim_0 = 0\n")
    with pytest.raises(ImportSourceError) as e:
        import_text(text, "proj/config.ini")
    msg = str(e.value)
    assert msg.startswith("proj/config.ini:8: ") and "max_dim_0" in msg and "write max_dim_0" in msg


def test_unknown_generator_is_an_error_listing_the_known_ones():
    text = _ini("dimensions = 1\nrange_generator_0 = hp.gauss\nmax_dim_0 = 3\n")
    with pytest.raises(ImportSourceError, match=r"config.ini:7: .*hp.gauss.*hp.randint"):
        import_text(text, "config.ini")


def test_not_a_number_names_the_key():
    text = _ini("dimensions = 1\nrange_generator_0 = hp.randint\nmax_dim_0 = ten\n")
    with pytest.raises(
        ImportSourceError, match=r"config.ini:8: \[DIMENSIONS\] max_dim_0 must be a number"
    ):
        import_text(text, "config.ini")


def test_no_dimensions_section_and_no_section_header():
    with pytest.raises(ImportSourceError, match="no \\[DIMENSIONS\\] section"):
        import_text("[DATA]\nmax_evals = 3\n", "config.ini")
    with pytest.raises(ImportSourceError, match="config.ini:1: .*section header"):
        import_text("max_evals = 3\n[DIMENSIONS]\ndimensions = 1\n", "config.ini")


def test_single_value_choice_and_equal_bounds_become_fixed():
    text = _ini(
        "dimensions = 2\nrange_generator_0 = hp.choice\noptions_0 = only\n"
        "range_generator_1 = hp.uniform\nmin_dim_1 = 3\nmax_dim_1 = 3\n",
        "max_evals = 3\nobjective_program = ./run ($x_0) ($x_1)\n",
    )
    s = import_text(text, "config.ini").study
    assert [(p.type, p.value) for p in s.parameters] == [
        (ParamType.FIXED, "only"),
        (ParamType.FIXED, 3),
    ]
    assert_valid_and_round_trips(s)


def test_int_of_stepped_and_choice_parameters():
    text = _ini(
        "dimensions = 4\nrange_generator_0 = hp.quniform\nmin_dim_0 = 0\nmax_dim_0 = 100\nq_0 = 10\n"
        "range_generator_1 = hp.choice\noptions_1 = 1.5,2.5,3\n"
        "range_generator_2 = hp.uniform\nmin_dim_2 = -3.5\nmax_dim_2 = 4\n"
        "range_generator_3 = hp.uniform\nmin_dim_3 = 0\nmax_dim_3 = 1\n",
        "max_evals = 3\nobjective_program = ./run int($x_0) int($x_1) int($x_2) ($x_3) int($x_3)\n",
    )
    r = import_text(text, "config.ini")
    s = r.study
    # quniform with a whole step: exactly the integers 0, 10, ..., 100
    assert param(s, "x_0") == {"name": "x_0", "type": "int", "low": 0, "high": 100, "step": 10}
    assert param(s, "x_1")["values"] == [1, 2, 3]  # int() of the choices
    assert param(s, "x_2") == {"name": "x_2", "type": "int", "low": -3, "high": 3}  # truncation
    assert param(s, "x_3")["type"] == "float"  # used both ways: stays real, listed
    assert s.program.command == "./run %(x_0) %(x_1) %(x_2) %(x_3) %(x_3)"
    notes = " | ".join(r.approximations)
    assert "'x_1'" in notes and "'x_2'" in notes and "'x_3'" in notes
    assert_valid_and_round_trips(s)


def test_unknown_dollar_placeholder_and_home_folder():
    text = _ini(
        "dimensions = 1\nrange_generator_0 = hp.randint\nmax_dim_0 = 3\n",
        "max_evals = 3\nobjective_program = ($homepath)/run ($x_0) ($x_9)\n",
    )
    r = import_text(text, "config.ini")
    assert r.study.program.command == "$HOME/run %(x_0) $x_9"
    assert any("($x_9)" in a for a in r.approximations)
    assert_valid_and_round_trips(r.study)
