"""Before a run: warnings when the program the command starts does not exist on this machine.

A valid study whose program is missing failed 20 trials before saying anything; these checks
say it at once (validate, run, the editor), and never refuse a run."""

from __future__ import annotations

import os
import stat

import pytest

from omniopt_desktop.study.model import Study
from omniopt_desktop.study.program_check import program_warnings


def study(command: str, workdir: str = ".") -> Study:
    return Study.from_dict(
        {
            "study": {"name": "s", "n_trials": 3},
            "objective": [{"name": "RESULT"}],
            "program": {"command": command, "workdir": workdir},
            "parameter": [{"name": "x", "type": "float", "low": 0, "high": 1}],
        }
    )


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "train.py").write_text("print('RESULT: 1')\n")
    sim = tmp_path / "bin" / "simulate"
    sim.parent.mkdir()
    sim.write_text("#!/bin/sh\necho RESULT: 1\n")
    sim.chmod(sim.stat().st_mode | stat.S_IXUSR)
    (tmp_path / "plain.sh").write_text("echo RESULT: 1\n")
    return tmp_path


@pytest.mark.parametrize(
    "command",
    [
        "python3 train.py --x %(x)",
        "python3 -u -W ignore train.py --x %(x)",
        "OMP_NUM_THREADS=1 python3 train.py --x %(x)",
        "env FOO=1 nice -n 5 python3 train.py ($x)",
        "python3 -m json.tool --x %(x)",  # a module: no file to look for
        "python3 -c 'print(1)' %(x)",
        "./bin/simulate --x %(x) > out.txt; cat out.txt",
        "bash plain.sh %(x)",
        "echo RESULT: %(x)",
        "cd bin && ./simulate %(x)",
        "%(x) is not judged",
        "python3 %(x).py",
    ],
)
def test_programs_that_exist_give_no_warning(folder, command):
    assert program_warnings(study(command), str(folder)) == []


@pytest.mark.parametrize(
    "command, says",
    [
        ("python3 tran.py --x %(x)", "python3's script tran.py does not exist in"),
        ("Rscript fit.R %(x)", "'Rscript' is not a program on this machine's PATH"),
        ("pythonX train.py %(x)", "'pythonX' is not a program on this machine's PATH"),
        ("./bin/simulat --x %(x)", "./bin/simulat does not exist in"),
        ("./plain.sh %(x)", "./plain.sh is not executable; run: chmod +x"),
        ("OMP_NUM_THREADS=2 python3 missing.py; echo done", "script missing.py does not exist"),
    ],
)
def test_a_missing_program_or_script_is_named(folder, command, says):
    if command.startswith("Rscript") and os.system("command -v Rscript >/dev/null") == 0:
        pytest.skip("R is installed here")
    [warning] = program_warnings(study(command), str(folder))
    assert warning.startswith("program.command: ") and says in warning, warning


def test_the_workdir_is_relative_to_the_study_file(folder):
    assert program_warnings(study("python3 simulate", workdir="bin"), str(folder)) == []
    [warning] = program_warnings(study("python3 train.py", workdir="nowhere"), str(folder))
    assert warning.startswith("program.workdir: ") and "nowhere does not exist" in warning


def test_validate_prints_the_warning_and_still_succeeds(folder, capsys):
    from omniopt_desktop.cli import main

    path = folder / "study.toml"
    path.write_text(
        '[study]\nname = "s"\nn_trials = 3\n[[objective]]\nname = "RESULT"\n'
        '[program]\ncommand = "python3 trian.py --x %(x)"\n'
        '[[parameter]]\nname = "x"\ntype = "float"\nlow = 0\nhigh = 1\n'
    )
    assert main(["validate", str(path)]) == 0
    err = capsys.readouterr().err
    assert f"{path}: warning: program.command: python3's script trian.py does not exist" in err
