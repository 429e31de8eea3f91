"""OmniOpt2 command lines, the web GUI's curl line and --config_* files → Study."""

from __future__ import annotations

import base64

import pytest
from support.study_import import INPUTS, assert_valid_and_round_trips, param

from omniopt_desktop.study.importers import (
    ImportSourceError,
    SourceKind,
    convert_placeholders,
    import_file,
    import_text,
)
from omniopt_desktop.study.model import Direction


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _cmd(*options: str) -> str:
    return "./omniopt " + " ".join(options)


# -- the documented command line ------------------------------------------------------------------
@pytest.fixture(scope="module")
def command():
    return import_file(INPUTS / "omniopt2_command.sh")


def test_command_kind_and_validity(command):
    assert command.source_kind is SourceKind.OMNIOPT2_COMMAND
    assert_valid_and_round_trips(command.study)
    assert command.approximations == []


def test_command_parameters(command):
    s = command.study
    assert [p.name for p in s.parameters] == ["lr", "epochs", "wd", "act", "opt"]
    assert param(s, "lr") == {
        "name": "lr",
        "type": "float",
        "low": 0.0001,
        "high": 0.1,
        "log": True,
    }
    # int ranges: bounds rounded outwards as OmniOpt2 does (50.5 → 51)
    assert param(s, "epochs") == {"name": "epochs", "type": "int", "low": 1, "high": 51}
    assert param(s, "wd") == {
        "name": "wd",
        "type": "float",
        "low": 0.0,
        "high": 0.01,
    }  # float by default
    assert param(s, "act") == {
        "name": "act",
        "type": "choice",
        "values": ["relu", "tanh", "sigmoid"],
    }
    assert param(s, "opt") == {"name": "opt", "type": "fixed", "value": "adam"}


def test_command_run_program_is_decoded_and_placeholders_mapped(command):
    # %(x), '%(x)', $x, $(x) and %x all become %(x); $HOME (no parameter) stays
    assert command.study.program.command == (
        "python3 train.py --lr=%(lr) --epochs %(epochs) --act=%(act) --opt=%(opt) --wd=%(wd) --home=$HOME"
    )


def test_command_constraints_objectives_and_settings(command):
    s = command.study
    assert s.constraints == ["lr * epochs <= 5", "wd <= 0.005"]  # base64 and plain
    assert [(o.name, o.direction) for o in s.objectives] == [
        ("loss", Direction.MINIMIZE),
        ("acc", Direction.MAXIMIZE),
    ]
    assert (s.name, s.n_trials, s.seed) == ("cli_example", 200, 7)
    assert s.program.timeout == "30m"  # --worker_timeout is in minutes
    r = s.resources
    assert (r.workers, r.partition, r.account, r.reservation) == (10, "alpha", "p_test", "res_2024")
    assert (r.time, r.mem, r.gpus, r.cpus_per_task) == ("90m", "4G", 1, 4)


def test_command_ignored_options_are_listed_not_fatal(command):
    ignored = " | ".join(command.ignored)
    for opt in (
        "--follow",
        "--send_anonymized_usage_stats",
        "--live_share",
        "--model BOTORCH_MODULAR",
    ):
        assert opt in ignored
    assert any(i.startswith("--frobnicate 3: unknown") for i in command.ignored)
    assert any(i.startswith("--num_random_steps 20") for i in command.ignored)


# -- the web GUI's curl line ------------------------------------------------------------------------
def test_curl_line_from_the_web_gui():
    r = import_file(INPUTS / "omniopt2_curl.txt")
    s = r.study
    assert r.source_kind is SourceKind.OMNIOPT2_CURL
    assert s.name == "web_example"
    assert s.program.command == "bash /home/me/run.sh %(x) %(y) %(z)"
    assert param(s, "x") == {"name": "x", "type": "float", "low": -5.0, "high": 5.0}
    assert param(s, "y") == {"name": "y", "type": "int", "low": 1, "high": 1000, "log": True}
    assert param(s, "z")["values"] == ["a", "b", "c"]
    assert [(o.name, o.direction) for o in s.objectives] == [("RESULT", Direction.MAXIMIZE)]
    assert s.resources.reservation == "res_web"  # the installer's --reservation
    assert any("--installation_method" in i for i in r.ignored)
    assert any(i.startswith("--ui_url") for i in r.ignored)
    assert_valid_and_round_trips(s)


def test_curl_line_without_payload_is_an_error():
    with pytest.raises(ImportSourceError, match="no base64 OmniOpt2 command"):
        import_text("curl https://x/install_omniax.sh | bash -s -- --debug", "paste")


# -- config files -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name,kind",
    [
        ("omniopt2_config.toml", SourceKind.OMNIOPT2_TOML),
        ("omniopt2_config.yaml", SourceKind.OMNIOPT2_YAML),
        ("omniopt2_config.json", SourceKind.OMNIOPT2_JSON),
    ],
)
def test_config_files_from_the_docs(name, kind):
    r = import_file(INPUTS / name)
    s = r.study
    assert r.source_kind is kind
    assert s.name == "__main__tests__"
    assert (s.n_trials, s.program.timeout) == (2, "5m")
    assert (s.resources.workers, s.resources.mem, s.resources.time, s.resources.partition) == (
        20,
        "4G",
        "1h",
        "alpha",
    )
    assert s.program.command == (
        "./.tests/optimization_example --int_param=%(int_param) --float_param=%(float_param) "
        "--choice_param=%(choice_param) --int_param_two=%(int_param_two)"
    )
    assert [p.to_dict() for p in s.parameters] == [
        {"name": "int_param", "type": "int", "low": -100, "high": 10},
        {"name": "float_param", "type": "float", "low": -100.0, "high": 10.0},
        {"name": "choice_param", "type": "choice", "values": [1, 2, 4, 8, 16, "hallo"]},
        {"name": "int_param_two", "type": "int", "low": -100, "high": 10},
    ]
    # options nested in the last parameter entry (as in OmniOpt2's YAML/JSON examples) count too
    ignored = " | ".join(r.ignored)
    for key in (
        "live_share",
        "model BOTORCH_MODULAR",
        "num_random_steps 1",
        "auto_exclude_defective_hosts",
    ):
        assert key in ignored
    assert_valid_and_round_trips(s)


def test_command_line_naming_a_config_file_wins_over_it():
    r = import_file(INPUTS / "omniopt2_with_config.sh")
    s = r.study
    assert s.n_trials == 99 and s.resources.partition == "barnard"  # from the command line
    assert len(s.parameters) == 4 and s.program.timeout == "5m"  # from the TOML file
    assert_valid_and_round_trips(s)


def test_config_file_named_but_not_found_is_ignored():
    text = _cmd("--config_yaml nowhere.yaml", "--run_program ./run", "--parameter x range 0 1")
    r = import_text(text, "pasted")
    assert any(i.startswith("--config_yaml nowhere.yaml: file not found") for i in r.ignored)


def test_config_parameter_forms(tmp_path):
    f = tmp_path / "c.json"
    f.write_text(
        '{"run_program": "' + b64("./run --a $a --b $b --c $c") + '",'
        ' "parameter": [["a", "range", 1, 100, "int", true], "b choice x,y", ["c", "fixed", 0.5]],'
        ' "experiment_constraints": ["a >= 2"], "result_names": "q=max", "maximize": true}'
    )
    r = import_file(f)
    s = r.study
    assert s.program.command == "./run --a %(a) --b %(b) --c %(c)"
    assert param(s, "a") == {"name": "a", "type": "int", "low": 1, "high": 100, "log": True}
    assert param(s, "b")["values"] == ["x", "y"]
    assert param(s, "c") == {"name": "c", "type": "fixed", "value": 0.5}
    assert s.constraints == ["a >= 2"]
    assert [(o.name, o.direction) for o in s.objectives] == [("q", Direction.MAXIMIZE)]
    assert any(i.startswith("maximize") for i in r.ignored)  # result_names sets the direction
    assert_valid_and_round_trips(s)


def test_unreadable_config_names_file_and_line(tmp_path):
    f = tmp_path / "bad.toml"
    f.write_text('max_eval = 3\nrun_program = "x\n')
    with pytest.raises(ImportSourceError, match=r"bad.toml.*cannot read this TOML file"):
        import_file(f)
    g = tmp_path / "list.json"
    g.write_text("[1, 2]")
    with pytest.raises(ImportSourceError, match="option = value pairs"):
        import_file(g)


# -- option forms and edge cases --------------------------------------------------------------------
def test_equals_and_space_forms_old_maximize_and_multiple_params_in_one_option():
    text = _cmd(
        "--max_eval=5 --num_parallel_jobs 3 --maximize --workdir=/data/proj",
        "--run_program=" + b64("echo %(x) %(y)"),
        "--parameter x range 0 1 y range 1 2 int",
        "--max_failed_jobs 4 --exclude n1,n2 --time 01:00:00",
    )
    s = import_text(text, "paste").study
    assert (s.n_trials, s.resources.workers, s.max_failures) == (5, 3, 4)
    assert [(o.name, o.direction) for o in s.objectives] == [("RESULT", Direction.MAXIMIZE)]
    assert s.program.workdir == "/data/proj"
    assert [p.name for p in s.parameters] == ["x", "y"]
    assert (s.resources.exclude, s.resources.time) == ("n1,n2", "01:00:00")
    assert_valid_and_round_trips(s)


def test_plain_run_program_and_shell_around_the_command():
    text = "module load Python\nsrun ./omniopt --run_program 'python3 f.py --x=%(x)' --parameter x range 0 1 && echo done"
    s = import_text(text, "paste").study
    assert s.program.command == "python3 f.py --x=%(x)"


def test_range_edge_cases_are_approximations():
    text = _cmd("--run_program ./r", "--parameter a range 5 5", "--parameter b range -1 1 float true",
                "--parameter c range 3 1", "--parameter d choice only")  # fmt: skip
    r = import_text(text, "paste")
    s = r.study
    assert param(s, "a") == {"name": "a", "type": "fixed", "value": 5}
    assert param(s, "b") == {"name": "b", "type": "float", "low": -1.0, "high": 1.0}  # log dropped
    assert param(s, "c") == {"name": "c", "type": "float", "low": 1.0, "high": 3.0}  # swapped
    assert param(s, "d") == {"name": "d", "type": "fixed", "value": "only"}
    notes = " | ".join(r.approximations)
    assert "'a'" in notes and "'b'" in notes and "'d'" in notes


def test_constraints_that_cannot_be_written_here_are_dropped_and_listed():
    text = _cmd(
        "--run_program ./r --parameter x range 0 1",
        "--experiment_constraints 'x <= 0.5'",
        "--experiment_constraints 'y <= 1'",
        "--experiment_constraints '__import__(\"os\")'",
    )
    r = import_text(text, "paste")
    assert r.study.constraints == ["x <= 0.5"]
    assert sum("dropped" in a for a in r.approximations) == 2
    assert_valid_and_round_trips(r.study)


def test_missing_run_program_is_listed_and_missing_parameters_is_an_error():
    r = import_text(_cmd("--parameter x range 0 1"), "paste")
    assert r.study.program.command == ""
    assert any("run_program is missing" in a for a in r.approximations)
    with pytest.raises(ImportSourceError, match="no parameters"):
        import_text(_cmd("--run_program ./r --max_eval 3"), "paste")
    with pytest.raises(ImportSourceError, match="unknown type; OmniOpt2 knows range"):
        import_text(_cmd("--run_program ./r --parameter x between 0 1"), "paste")
    with pytest.raises(ImportSourceError, match=r"--max_eval must be a number"):
        import_text(_cmd("--run_program ./r --parameter x range 0 1 --max_eval lots"), "paste")


def test_convert_placeholders_only_whole_names():
    assert convert_placeholders("a=$lr b=$lr_decay c=%lr d=$(lr) e=%(lr)", ["lr"]) == (
        "a=%(lr) b=$lr_decay c=%(lr) d=%(lr) e=%(lr)"
    )
    assert convert_placeholders("$lr_decay $lr", ["lr", "lr_decay"]) == "%(lr_decay) %(lr)"


@pytest.mark.parametrize(
    "prefix",
    [
        "./omniopt",
        "bash omniopt_docker omniopt",
        "python3 .omniopt.py",
        "srun --ntasks=1 ./omniopt",
        "omniopt",
    ],
)
def test_words_before_the_options_are_skipped(prefix):
    r = import_text(f"{prefix} --run_program ./r --parameter x range 0 1", "paste")
    assert [p.name for p in r.study.parameters] == ["x"] and r.ignored == []
