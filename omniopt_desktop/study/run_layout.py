"""Where things are in a run folder (local or remote). One place, so every layer agrees.

    <run>/study.json            frozen study: Study.to_dict() plus {"run": {...}} (see below)
    <run>/study.toml            the user's study file as it was at submission (for humans)
    <run>/study.db              SQLite storage (storage = "sqlite")
    <run>/study.journal         Optuna journal file (storage = "journal")
    <run>/trials/<number>/      command.txt, stdout.txt, stderr.txt, status.json
    <run>/logs/                 controller.log, worker-<id>.log
    <run>/snapshots/            consistent copies of the database taken for download
    <run>/slurm/                controller.sh, worker.sh (cluster runs)
    <run>/controller.json       the controller job's state and reason (cluster runs)
    <run>/jobs.txt              every SLURM job of the run: "<id> ctl|wrk <count> <unix time>"

Python 3.9+, stdlib only.
"""

from __future__ import annotations

import os
from typing import Any, List, Union

PathLike = Union[str, "os.PathLike[str]"]

FROZEN_STUDY = "study.json"
STUDY_TOML = "study.toml"
SQLITE_DB = "study.db"
JOURNAL_FILE = "study.journal"
TRIALS_DIR = "trials"
LOGS_DIR = "logs"
SNAPSHOTS_DIR = "snapshots"
STOP_FILE = "STOP"  # present: workers finish their trial and exit (cancel / Ctrl-C)
CONTROLLER_SCRIPT = "slurm/controller.sh"
WORKER_SCRIPT = "slurm/worker.sh"
CONTROLLER_STATE = "controller.json"
JOBS_FILE = "jobs.txt"


def trial_dir(run_dir: PathLike, number: int) -> str:
    return os.path.join(os.fspath(run_dir), TRIALS_DIR, str(int(number)))


def default_run_dir(study_file: PathLike, study_name: str) -> str:
    """Local runs live beside the study file: ``<study folder>/runs/<study name>``."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in study_name) or "study"
    return os.path.join(os.path.dirname(os.path.abspath(os.fspath(study_file))), "runs", safe)


def program_workdir(study: Any, study_dir: PathLike) -> str:
    """Where the program runs: ``program.workdir`` relative to the study file's folder."""
    workdir = os.path.expanduser(study.program.workdir or ".")
    return os.path.normpath(os.path.join(os.fspath(study_dir), workdir))


def run_folders_beside(study_file: PathLike) -> List[str]:
    """The run folders in ``<study folder>/runs/`` (those holding a frozen study), oldest first:
    runs started from the command line, or by another app session, show up in the runs list."""
    runs = os.path.join(os.path.dirname(os.path.abspath(os.fspath(study_file))), "runs")
    try:
        names = os.listdir(runs)
    except OSError:
        return []
    found = []
    for name in names:
        frozen = os.path.join(runs, name, FROZEN_STUDY)
        try:
            found.append((os.stat(frozen).st_mtime, os.path.join(runs, name)))
        except OSError:
            continue
    return [path for _mtime, path in sorted(found)]


def storage_url(run_dir: PathLike, storage: str) -> str:
    """The Optuna storage for a run: sqlite/journal files in the run folder, or the URL given."""
    run_dir = os.path.abspath(os.fspath(run_dir))
    if storage == "sqlite":
        return "sqlite:///" + os.path.join(run_dir, SQLITE_DB)
    if storage == "journal":
        return "journal:///" + os.path.join(run_dir, JOURNAL_FILE)
    return storage
