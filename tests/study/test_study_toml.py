from __future__ import annotations

import os
import stat

import pytest

from omniopt_desktop.errors import StudyFileError
from omniopt_desktop.study.model import Direction, Parameter, ParamType, Study
from omniopt_desktop.study.toml_io import (
    check_file,
    dumps_study,
    load_study,
    loads_study,
    save_study,
)

EXAMPLE = """# cnn study -- a comment the app must keep
[study]
name = "cnn-tuning"
n_trials = 200
sampler = "tpe"          # tpe (default) | random | grid | cmaes | gp | nsga2
seed = 1
[[objective]]
name = "RESULT"          # the program prints 'RESULT: 0.123'
direction = "minimize"
[program]
command = "python3 train.py --lr %(lr) --layers %(layers) --act %(act) --epochs %(epochs)"
workdir = "."
timeout = "30m"
[[parameter]]
name = "lr"
type = "float"
low = 1e-5
high = 1e-1
log = true
[[parameter]]
name = "layers"
type = "int"
low = 1
high = 8
[[parameter]]
name = "act"
type = "choice"
values = ["relu", "tanh", "gelu"]
[[parameter]]
name = "epochs"
type = "fixed"
value = 10
[[parameter]]
name = "momentum"
type = "float"
low = 0.0
high = 0.99
log = false
when = "act == 'relu'"
[constraints]
rules = ["layers * 2 <= 12"]
[resources]              # used when the study runs on SLURM
workers = 16
partition = "batch"
time = "02:00:00"
cpus_per_task = 4
mem = "8G"
gpus = 1
account = "p_team"
extra_sbatch = ["--mail-type=END"]
"""


def test_issue_example_loads_with_every_field():
    loaded = loads_study(EXAMPLE)
    assert loaded.all_issues() == []
    s = loaded.study
    assert (s.name, s.n_trials, s.sampler, s.seed) == ("cnn-tuning", 200, "tpe", 1)
    assert s.objectives[0].direction is Direction.MINIMIZE
    assert s.program.timeout_seconds() == 1800
    lr, layers, act, epochs, mom = s.parameters
    assert (lr.type, lr.low, lr.high, lr.log) == (ParamType.FLOAT, 1e-5, 1e-1, True)
    assert (layers.type, layers.low, layers.high) == (ParamType.INT, 1, 8)
    assert act.values == ["relu", "tanh", "gelu"]
    assert (epochs.type, epochs.value) == (ParamType.FIXED, 10)
    assert mom.when == "act == 'relu'"
    assert s.constraints == ["layers * 2 <= 12"]
    r = s.resources
    assert (r.workers, r.partition, r.time, r.cpus_per_task, r.mem, r.gpus) == (
        16,
        "batch",
        "02:00:00",
        4,
        "8G",
        1,
    )
    assert r.account == "p_team" and r.extra_sbatch == ["--mail-type=END"]


def test_unchanged_save_is_byte_identical():
    assert dumps_study(loads_study(EXAMPLE)) == EXAMPLE


def test_edit_keeps_comments_and_order_and_changes_only_what_changed():
    loaded = loads_study(EXAMPLE)
    loaded.study.parameters[0].high = 0.5
    loaded.study.parameters[4].when = None
    loaded.study.parameters.append(Parameter("wd", low=0.0, high=0.1))
    out = dumps_study(loaded)
    assert "# cnn study -- a comment the app must keep" in out
    assert (
        "# the program prints 'RESULT: 0.123'" in out
        and "# used when the study runs on SLURM" in out
    )
    assert "high = 0.5" in out and "when =" not in out and "log = false" in out
    assert out.index("[study]") < out.index("[program]") < out.index("[constraints]")
    again = loads_study(out).study
    assert again == loaded.study


def test_removing_and_reordering_parameters():
    loaded = loads_study(EXAMPLE)
    p = loaded.study.parameters
    p[0], p[1] = p[1], p[0]
    del p[3:]
    out = dumps_study(loaded)
    assert [q.name for q in loads_study(out).study.parameters] == ["layers", "lr", "act"]


def test_json_form_round_trips():
    s = loads_study(EXAMPLE).study
    assert Study.from_dict(s.to_dict()) == s


def test_fresh_file_round_trips_and_is_valid(tmp_path):
    s = loads_study(EXAMPLE).study
    path = save_study(s, tmp_path / "new.toml")
    assert load_study(path).study == s
    assert check_file(path).study == s


def test_save_is_atomic_and_keeps_mode(tmp_path):
    path = tmp_path / "study.toml"
    path.write_text(EXAMPLE)
    os.chmod(path, 0o640)
    loaded = load_study(path)
    loaded.study.n_trials = 5
    save_study(loaded)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
    assert load_study(path).study.n_trials == 5
    assert [f.name for f in tmp_path.iterdir()] == ["study.toml"]


def test_syntax_error_names_file_and_line(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text('[study]\nname = "x"\nn_trials = = 3\n')
    with pytest.raises(StudyFileError, match=r"broken.toml:3: not valid TOML"):
        load_study(path)


def test_missing_file_and_binary_file(tmp_path):
    with pytest.raises(StudyFileError, match="no such file"):
        load_study(tmp_path / "nope.toml")
    (tmp_path / "bin.toml").write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(StudyFileError, match="not a text file"):
        load_study(tmp_path / "bin.toml")


def test_single_objective_table_is_accepted():
    text = EXAMPLE.replace("[[objective]]", "[objective]")
    loaded = loads_study(text)
    assert loaded.all_issues() == []
    assert loaded.study.objectives[0].name == "RESULT"
    assert dumps_study(loaded) == text
