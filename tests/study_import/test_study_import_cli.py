"""``omniopt-desktop import SOURCE --out STUDY.toml``: output, overwrite guard, the written file."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
from support.study_import import INPUTS

from omniopt_desktop.cli import main
from omniopt_desktop.study.importers import import_file
from omniopt_desktop.study.toml_io import load_study
from omniopt_desktop.study.trial_attrs import STATUS_FILE, STDERR_FILE


@pytest.mark.parametrize(
    "name",
    [
        "omniopt1_all_generators.ini",
        "omniopt1_gui.ini",
        "omniopt2_command.sh",
        "omniopt2_curl.txt",
        "omniopt2_config.toml",
        "omniopt2_config.yaml",
        "omniopt2_config.json",
    ],
)
def test_import_writes_a_valid_study(tmp_path, capsys, name):
    out = tmp_path / "study.toml"
    assert main(["import", str(INPUTS / name), "--out", str(out)]) == 0
    stdout, stderr = capsys.readouterr()
    assert stdout.splitlines()[-1] == str(out)  # the thing produced is the last line
    assert stderr == ""  # nothing to fix before running
    loaded = load_study(out)
    assert loaded.all_issues() == []
    expected = import_file(INPUTS / name)
    assert loaded.study.to_dict() == expected.study.to_dict()
    for text in expected.ignored + expected.approximations:
        assert f"  - {text}" in stdout
        assert f"#   - {text}" in out.read_text()  # kept as comments in the file


def _installed_exe():
    """The installed console script: next to this Python (a venv run without activation), or
    on PATH."""
    beside = os.path.join(os.path.dirname(sys.executable), "omniopt-desktop")
    return beside if os.access(beside, os.X_OK) else shutil.which("omniopt-desktop")

def test_lists_ignored_and_approximations(tmp_path, capsys):
    out = tmp_path / "s.toml"
    main(["import", str(INPUTS / "omniopt1_all_generators.ini"), "--out", str(out)])
    stdout = capsys.readouterr().out
    assert stdout.startswith("imported OmniOpt1 config.ini from ")
    assert "ignored (no meaning here):\n  - [DEBUG]" in stdout
    assert "approximations (no exact equivalent):\n" in stdout
    assert "mu ± 3·sigma" in stdout


def test_refuses_to_overwrite_without_force(tmp_path, capsys):
    out = tmp_path / "study.toml"
    out.write_text("# mine\n")
    assert main(["import", str(INPUTS / "omniopt2_command.sh"), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("omniopt-desktop: error: ") and "--force" in err
    assert out.read_text() == "# mine\n"
    assert main(["import", str(INPUTS / "omniopt2_command.sh"), "--out", str(out), "--force"]) == 0
    assert load_study(out).study.name == "cli_example"


def test_bad_source_is_one_line_exit_1(tmp_path, capsys):
    src = tmp_path / "config.ini"
    src.write_text(
        "[DATA]\nmax_evals = 3\n[DIMENSIONS]\ndimensions = 1\nrange_generator_0 = hp.nope\n"
    )
    out = tmp_path / "s.toml"
    assert main(["import", str(src), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and f"{src}:5:" in err and "hp.nope" in err
    assert not out.exists()
    assert main(["import", str(tmp_path / "missing.ini"), "--out", str(out)]) == 1
    assert "no such file" in capsys.readouterr().err


def test_unfinished_study_is_written_with_what_to_fix(tmp_path, capsys):
    src = tmp_path / "cmd.txt"
    src.write_text("./omniopt --parameter x range 0 1 --max_eval 3\n")
    out = tmp_path / "s.toml"
    assert main(["import", str(src), "--out", str(out)]) == 0
    stdout, stderr = capsys.readouterr()
    assert stdout.splitlines()[-1] == str(out)
    assert "to fix before running: " in stderr and "command is missing" in stderr


def test_kind_option_and_stdin(tmp_path, monkeypatch, capsys):
    import io

    text = (INPUTS / "omniopt2_config.yaml").read_text()
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))
    out = tmp_path / "s.toml"
    assert main(["import", "-", "--kind", "omniopt2-yaml", "--out", str(out)]) == 0
    assert "OmniOpt2 --config_yaml file from standard input" in capsys.readouterr().out
    assert len(load_study(out).study.parameters) == 4


def test_installed_entry_point(tmp_path):
    exe = _installed_exe()
    if exe is None:
        pytest.skip("omniopt-desktop is not installed (pip install -e .)")
    out = tmp_path / "s.toml"
    proc = subprocess.run(
        [exe, "import", str(INPUTS / "omniopt2_curl.txt"), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == str(out)
    check = subprocess.run([exe, "validate", str(out)], capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stderr


def test_imported_study_runs_locally(tmp_path):
    """OmniOpt1 config → study.toml → a real local run: the program gets the values it expects."""
    exe = _installed_exe()
    if exe is None:
        pytest.skip("omniopt-desktop is not installed (pip install -e .)")
    project = tmp_path / "projects" / "quadratic"
    project.mkdir(parents=True)
    (project / "f.py").write_text(
        "import sys\n"
        "x, n, act = float(sys.argv[1]), int(sys.argv[2]), sys.argv[3]\n"
        "assert act in ('a b', 'cc'), act\n"
        "print(f'RESULT: {(x - 1) ** 2 + n}')\n"
    )
    (project / "config.ini").write_text(
        "[DATA]\nmax_evals = 3\nseed = 3\n"
        "objective_program = python3 ($thisprojectdir)/f.py ($x_0) int($x_1) '($x_2)'\n"
        "[DIMENSIONS]\ndimensions = 3\n"
        "range_generator_0 = hp.normal\nmu_0 = 1\nsigma_0 = 0.5\n"
        "range_generator_1 = hp.uniform\nmin_dim_1 = 0\nmax_dim_1 = 5\n"
        "range_generator_2 = hp.pchoice\noptions_2 = a b=50,cc=50\n"
    )
    study = project / "study.toml"
    assert main(["import", str(project / "config.ini"), "--out", str(study)]) == 0
    assert load_study(study).study.name == "quadratic"  # the OmniOpt1 project folder
    proc = subprocess.run(
        [exe, "run", str(study), "--run-dir", str(tmp_path / "run"), "--quiet"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    trials = sorted((tmp_path / "run" / "trials").iterdir())
    assert len(trials) == 3
    for trial in trials:
        status = json.loads((trial / STATUS_FILE).read_text())
        assert (status["state"], status["exit_code"]) == ("COMPLETE", 0), (
            trial / STDERR_FILE
        ).read_text()
