from __future__ import annotations

import subprocess
import sys

import pytest

from omniopt_desktop.study.toml_io import loads_study

BASE = """[study]
name = "s"
n_trials = 10
[[objective]]
name = "RESULT"
direction = "minimize"
[program]
command = "./run %(lr) %(n)"
[[parameter]]
name = "lr"
type = "float"
low = 0.01
high = 0.1
[[parameter]]
name = "n"
type = "int"
low = 1
high = 8
"""


def messages(text: str) -> list[str]:
    return [str(i) for i in loads_study(text, "study.toml").all_issues()]


def test_base_is_valid():
    assert messages(BASE) == []


@pytest.mark.parametrize(
    "old,new,expected",
    [
        (
            "low = 0.01\nhigh = 0.1",
            "low = 0.1\nhigh = 0.01",
            "study.toml:12: parameter 'lr': low (0.1) must be below high (0.01)",
        ),
        (
            "n_trials = 10",
            "n_trails = 10",
            "study.toml:3: [study]: unknown key 'n_trails'; did you mean 'n_trials'?",
        ),
        (
            'name = "s"',
            'name = "s"\nsampler = "tpee"',
            "study.toml:3: [study]: unknown sampler 'tpee'; did you mean 'tpe'?",
        ),
        (
            'direction = "minimize"',
            'direction = "minimise"',
            "study.toml:6: objective 'RESULT': direction 'minimise' must be \"minimize\" or \"maximize\"",
        ),
        (
            "./run %(lr) %(n)",
            "./run %(lr) %(nn)",
            "study.toml:8: [program]: command uses %(nn), which is not a parameter; did you mean 'n'?",
        ),
        (
            "low = 1\nhigh = 8",
            "low = 1\nhigh = 8.5",
            "study.toml:18: parameter 'n': high (8.5) must be a whole number for an int parameter",
        ),
        (
            "low = 0.01\nhigh = 0.1",
            "low = 0.0\nhigh = 0.1\nlog = true",
            "study.toml:12: parameter 'lr': low (0.0) must be above 0 when log = true",
        ),
        (
            "low = 0.01\nhigh = 0.1",
            "low = 0.01\nhigh = 0.1\nlog = true\nstep = 0.01",
            "study.toml:15: parameter 'lr': step and log = true cannot be combined; drop one",
        ),
        (
            'type = "int"',
            'type = "int_"',
            "study.toml:16: parameter 'n': type 'int_' is unknown; allowed: float, int, choice, fixed",
        ),
        (
            "high = 8",
            'high = "8"',
            "study.toml:18: parameter 'n': 'high' must be a number, not '8'; write it without quotes: high = 8",
        ),
        ("n_trials = 10", "n_trials = 0", "study.toml:3: [study]: n_trials (0) must be 1 or more"),
        (
            'name = "s"',
            'name = "s"\nstorage = "postgresql://u:secret@h/db"',
            "study.toml:3: [study]: storage URL holds a password; remove it and keep the password in the keyring or ~/.pgpass",
        ),
        (
            "high = 8",
            'high = 8\nwhen = "lr > 0.05 and open(1)"',
            "study.toml:19: parameter 'n': when 'lr > 0.05 and open(1)': only these functions may be called: abs, exp, log, max, min, sqrt",
        ),
        (
            'name = "lr"\ntype = "float"',
            'name = "lr"\ntype = "float"\nwhen = "n > 2"',
            "study.toml:12: parameter 'lr': when uses 'n', which is not a parameter defined above; move this parameter below it",
        ),
        (
            'name = "n"',
            'name = "lr"',
            "study.toml:15: parameter 'lr': the name is used twice; parameter names must differ",
        ),
    ],
)
def test_messages_name_file_line_and_fix(old, new, expected):
    text = BASE.replace(old, new, 1)
    assert text != BASE
    assert expected in messages(text)


def test_constraints_and_resources():
    text = (
        BASE
        + '[constraints]\nrules = ["n * 2 <= k", "n >"]\n[resources]\nworkers = 0\nmem = "lots"\ntime = "forever"\n'
    )
    msgs = messages(text)
    assert (
        "study.toml:20: constraint 'n * 2 <= k': 'k' is not a parameter; parameters are: lr, n"
        in msgs
    )
    assert any("constraint 'n >': syntax error" in m for m in msgs)
    assert "study.toml:22: [resources]: workers (0) must be a whole number, 1 or more" in msgs
    assert any(m.startswith("study.toml:23: [resources]: mem 'lots'") for m in msgs)
    assert any(
        m.startswith("study.toml:24: [resources]: time 'forever' is not a duration") for m in msgs
    )


def test_newer_schema_is_refused_with_upgrade_hint():
    assert any(
        "written by a newer OmniOpt Desktop" in m for m in messages("schema_version = 9\n" + BASE)
    )


def test_validate_command_exit_codes(tmp_path):
    good = tmp_path / "good.toml"
    good.write_text(BASE)
    bad = tmp_path / "bad.toml"
    bad.write_text(BASE.replace("high = 0.1", "high = 0.001"))
    cli = [sys.executable, "-m", "omniopt_desktop.cli"]
    ok = subprocess.run(cli + ["validate", str(good)], capture_output=True, text=True)
    assert ok.returncode == 0 and "OK" in ok.stdout
    ko = subprocess.run(cli + ["validate", str(bad)], capture_output=True, text=True)
    assert ko.returncode == 1
    assert f"{bad}:12: parameter 'lr': low (0.01) must be below high (0.001)" in ko.stderr
