"""``omniopt-desktop run`` as a user types it: progress, last line, Ctrl-C, resume."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import optuna
from optuna.trial import TrialState

from omniopt_desktop.engine.storage import open_storage
from omniopt_desktop.study import trial_attrs as A

optuna.logging.set_verbosity(optuna.logging.WARNING)

STUDY = """\
[study]
name = "cli"
n_trials = {n}
seed = 3

[[objective]]
name = "RESULT"
direction = "minimize"

[program]
command = "sh prog.sh %(x)"
timeout = "1m"

[[parameter]]
name = "x"
type = "float"
low = -3.0
high = 3.0
"""

PROG = """\
echo $$ > "$OMNIOPT_TRIAL_DIR/pid"
sleep {sleep}
echo "RESULT: $1"
"""


def _setup(tmp_path, n, sleep):
    (tmp_path / "study.toml").write_text(STUDY.format(n=n))
    (tmp_path / "prog.sh").write_text(PROG.format(sleep=sleep))
    return tmp_path / "study.toml"


def _cli(*args, **kw):
    return subprocess.Popen(
        [sys.executable, "-m", "omniopt_desktop.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kw,
    )


def _trials(run_dir):
    st = open_storage(f"sqlite:///{run_dir}/study.db")
    return st.get_all_trials(st.get_study_id_from_name("cli"))


def test_run_prints_run_folder_last(tmp_path):
    study = _setup(tmp_path, n=4, sleep=0)
    proc = _cli("run", str(study), "--workers", "2")
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    run_dir = tmp_path / "runs" / "cli"
    assert out.strip().splitlines()[-1] == str(run_dir)
    assert re.search(r"\b[45]/4 trials COMPLETE", out)  # 2 racing workers: at most 1 extra
    assert (run_dir / "study.toml").read_text() == study.read_text()


def test_ctrl_c_stops_cleanly_and_run_again_resumes(tmp_path):
    study = _setup(tmp_path, n=8, sleep=2)
    run_dir = tmp_path / "run"
    proc = _cli("run", str(study), "--workers", "2", "--run-dir", str(run_dir))
    deadline = time.time() + 90
    states = []
    st = None
    while time.time() < deadline and proc.poll() is None:
        time.sleep(0.1)
        try:
            if st is None:
                if not (run_dir / "study.db").exists():
                    continue
                st = open_storage(f"sqlite:///{run_dir}/study.db")
            states = [t.state for t in st.get_all_trials(st.get_study_id_from_name("cli"))]
        except Exception:
            continue
        if states.count(TrialState.COMPLETE) >= 1 and TrialState.RUNNING in states:
            break
    if proc.poll() is not None:
        raise AssertionError(f"run ended early ({proc.returncode}): {proc.communicate()}")
    assert TrialState.RUNNING in states, states
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert out.strip().splitlines()[-1] == str(run_dir)
    assert "interrupted" in err
    trials = _trials(run_dir)
    assert not [t for t in trials if t.state == TrialState.RUNNING]
    stopped = [t for t in trials if t.state == TrialState.FAIL]
    assert stopped and all(t.user_attrs[A.FAIL_REASON].startswith("interrupted") for t in stopped)
    for t in stopped:  # their programs are gone (if they had started)
        pid_file = run_dir / "trials" / str(t.number) / "pid"
        if not pid_file.exists():
            continue
        pid = int(pid_file.read_text())
        assert not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split(")")[
            -1
        ].split()[0] in ("Z", "X")
    before = len([t for t in trials if t.state == TrialState.COMPLETE])
    assert before < 8

    again = _cli("run", str(study), "--workers", "2", "--run-dir", str(run_dir), "--quiet")
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    trials = _trials(run_dir)
    done = [t for t in trials if t.state == TrialState.COMPLETE]
    assert 8 <= len(done) <= 9
    assert not [t for t in trials if t.state == TrialState.RUNNING]


def test_invalid_study_is_one_line_error(tmp_path):
    (tmp_path / "study.toml").write_text(STUDY.format(n=0).replace("low = -3.0", "low = 5.0"))
    proc = _cli("run", str(tmp_path / "study.toml"))
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert "study.toml" in err and "error" in err
    assert not (tmp_path / "runs").exists()


def test_password_in_storage_url_is_refused(tmp_path):
    study = _setup(tmp_path, n=1, sleep=0)
    proc = _cli("run", str(study), "--storage", "postgresql://u:hunter2@localhost:5432/db")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1 and "pgpass" in err and "hunter2" not in err + out
