"""A script saved with Windows line endings: '#!/bin/bash' + CR is 'not found' and bash trips on
every line; the trial only said 'program exited with status 127; ./run.sh: not found'. The
program check now warns before the run, with the command that fixes the file."""

from __future__ import annotations

import stat

import pytest

from omniopt_desktop.study.model import Study
from omniopt_desktop.study.program_check import program_warnings


def study(command: str) -> Study:
    return Study.from_dict(
        {
            "study": {"name": "s", "n_trials": 3},
            "objective": [{"name": "RESULT"}],
            "program": {"command": command},
            "parameter": [{"name": "x", "type": "float", "low": 0, "high": 1}],
        }
    )


@pytest.fixture
def folder(tmp_path):
    run = tmp_path / "run.sh"
    run.write_bytes(b"#!/bin/bash\r\necho RESULT: $1\r\n")
    run.chmod(run.stat().st_mode | stat.S_IXUSR)
    (tmp_path / "body.sh").write_bytes(b"echo RESULT: $1\r\n")
    (tmp_path / "train.py").write_bytes(b"print('RESULT: 1')\r\n")
    ok = tmp_path / "ok.sh"
    ok.write_bytes(b"#!/bin/bash\necho RESULT: $1\n")
    ok.chmod(ok.stat().st_mode | stat.S_IXUSR)
    return tmp_path


@pytest.mark.parametrize(
    "command, shown", [("./run.sh %(x)", "./run.sh"), ("bash body.sh %(x)", "body.sh")]
)
def test_crlf_script_is_named_with_the_fix(folder, command, shown):
    (w,) = program_warnings(study(command), str(folder))
    assert w.startswith(f"program.command: {shown} has Windows line endings (CRLF)")
    assert w.endswith(f"sed -i 's/\\r$//' {folder / shown.lstrip('./')}")


@pytest.mark.parametrize("command", ["python3 train.py %(x)", "./ok.sh %(x)"])
def test_interpreters_that_read_crlf_and_unix_files_pass(folder, command):
    assert program_warnings(study(command), str(folder)) == []
