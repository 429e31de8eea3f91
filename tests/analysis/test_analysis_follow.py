"""Following a study being written: only new or changed trials are read."""

from __future__ import annotations

import os
import sqlite3

import numpy as np
from support.analysis_optuna import fill_study
from support.analysis_studies import make_bulk_db

from omniopt_desktop.analysis.loader import StudyFollower, load_trials


def _journal(path):
    import optuna
    from optuna.storages.journal import JournalFileBackend

    return optuna.storages.JournalStorage(JournalFileBackend(str(path)))


def test_journal_follower_reads_only_appended_operations(tmp_path):
    import optuna

    path = tmp_path / "study.journal"
    storage = _journal(path)
    fill_study(storage, n=6)  # trials 0..5 finished, trial 6 left RUNNING
    follower = StudyFollower(str(path))
    first = follower.poll()
    assert first.full and list(first.columns.number) == list(range(7))
    size = os.path.getsize(path)
    assert follower._journal.offset == size
    # the running trial finishes and two more arrive
    study = optuna.load_study(study_name="plain", storage=storage)
    running = study.trials[6]
    study.tell(running.number, 0.5)
    for _ in range(2):
        t = study.ask()
        t.suggest_float("lr", 1e-5, 1e-1, log=True)
        study.tell(t, 1.5)
    second = follower.poll()
    assert not second.full
    assert list(second.columns.number) == [6, 7, 8]
    assert second.columns.values[:, 0].tolist() == [0.5, 1.5, 1.5]
    assert len(follower.poll().columns) == 0  # nothing new
    merged = first.columns.merged(second.columns)
    full = load_trials(str(path))
    np.testing.assert_array_equal(merged.values, full.values)
    np.testing.assert_array_equal(merged.state, full.state)


def test_sqlite_follower_rereads_unfinished_and_notices_a_replaced_file(tmp_path):
    db = str(tmp_path / "study.db")
    make_bulk_db(db, 30, n_params=3, running_last=2)
    follower = StudyFollower(db)
    assert follower.poll().full
    con = sqlite3.connect(db)
    con.execute("UPDATE trials SET state='FAIL' WHERE number = 28")
    con.commit()
    con.close()
    make_bulk_db(db, 3, n_params=3, create=False, start_number=30, seed=2)
    step = follower.poll()
    assert not step.full and list(step.columns.number) == [28, 29, 30, 31, 32]
    step = follower.poll()
    assert list(step.columns.number) == [29]  # still running: read again
    newer = str(tmp_path / "newer.db")
    make_bulk_db(newer, 10, n_params=3)
    os.replace(newer, db)
    again = follower.poll()
    assert again.full and len(again.columns) == 10


def test_follower_seeded_from_loaded_columns(tmp_path):
    db = str(tmp_path / "study.db")
    make_bulk_db(db, 20, n_params=2, running_last=1)
    cols = load_trials(db)
    follower = StudyFollower(db)
    follower.seed(cols)
    make_bulk_db(db, 2, n_params=2, create=False, start_number=20, seed=3)
    step = follower.poll()
    assert not step.full and list(step.columns.number) == [19, 20, 21]


def test_a_half_written_last_line_is_left_for_the_next_poll(tmp_path):
    import json

    path = tmp_path / "study.journal"
    fill_study(_journal(path), n=3)
    follower = StudyFollower(str(path))
    n = len(follower.poll().columns)
    line = json.dumps({"op_code": 4, "worker_id": "x", "study_id": 0, "datetime_start": None})
    with open(path, "a") as f:
        f.write(line[:10])  # a writer is in the middle of this line
    assert len(load_trials(str(path))) == n
    assert len(follower.poll().columns) == 0
    with open(path, "a") as f:
        f.write(line[10:] + "\n")
    new = follower.poll().columns
    assert list(new.number) == [n]
