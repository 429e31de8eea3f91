"""The loader against studies written by plain Optuna (SQLite and journal), and bad files."""

from __future__ import annotations

import math
import os
import sqlite3

import numpy as np
import pytest
from support.analysis_optuna import fill_study
from support.analysis_studies import make_bulk_db

from omniopt_desktop.analysis.columns import TrialState
from omniopt_desktop.analysis.loader import list_study_names, load_trials
from omniopt_desktop.errors import AnalysisError


def _journal_storage(path):
    import optuna
    from optuna.storages.journal import JournalFileBackend

    return optuna.storages.JournalStorage(JournalFileBackend(str(path)))


def _expected(storage, name):
    import optuna

    return optuna.load_study(study_name=name, storage=storage).get_trials(deepcopy=False)


def _same(a, b):
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    return a == b and type(a) is type(b)


def _check_against_optuna(cols, trials, n_obj):
    assert list(cols.number) == [t.number for t in trials]
    assert [TrialState(s).name for s in cols.state] == [t.state.name for t in trials]
    for i, t in enumerate(trials):
        if t.values is None:
            assert np.isnan(cols.values[i]).all()
        else:
            assert list(cols.values[i]) == list(t.values)
        assert cols.row_params(i) == t.params
        for name, value in t.params.items():
            assert _same(cols.param_value(name, i), value)
        for key, value in t.user_attrs.items():
            got = cols.user_attrs[key][i]
            assert got == value, key
        assert cols.start[i] == pytest.approx(t.datetime_start.timestamp(), abs=1e-3)
        if t.datetime_complete is None:
            assert np.isnan(cols.complete[i])
        else:
            assert cols.complete[i] == pytest.approx(t.datetime_complete.timestamp(), abs=1e-3)
    assert cols.values.shape == (len(trials), n_obj)


@pytest.mark.parametrize("directions", [("minimize",), ("minimize", "maximize")])
def test_sqlite_written_by_optuna_reads_like_optuna(tmp_path, directions):
    url = f"sqlite:///{tmp_path / 'plain.db'}"
    fill_study(url, directions=directions)
    cols = load_trials(str(tmp_path / "plain.db"))
    _check_against_optuna(cols, _expected(url, "plain"), len(directions))
    assert cols.study.name == "plain" and cols.study.directions == directions
    assert cols.param_info["act"].choices == ("relu", 3, 2.5, True, None)
    assert cols.param_info["lr"].log and cols.param_info["layers"].kind.value == "int"
    assert cols.count(TrialState.FAIL) == 2 and cols.count(TrialState.RUNNING) == 1
    if len(directions) > 1:
        assert cols.values[2, 1] == math.inf


@pytest.mark.parametrize("directions", [("minimize",), ("maximize", "minimize")])
def test_journal_written_by_optuna_reads_like_optuna(tmp_path, directions):
    path = tmp_path / "study.journal"
    storage = _journal_storage(path)
    fill_study(storage, directions=directions)
    cols = load_trials(str(path))
    _check_against_optuna(cols, _expected(storage, "plain"), len(directions))
    assert cols.study.storage_kind == "journal"
    assert cols.param_info["act"].choices[3] is True


def test_several_studies_need_a_name(tmp_path):
    url = f"sqlite:///{tmp_path / 'two.db'}"
    fill_study(url, name="first", n=3)
    fill_study(url, name="second", n=5)
    assert list_study_names(str(tmp_path / "two.db")) == ["first", "second"]
    with pytest.raises(AnalysisError, match="several studies \\(first, second\\).*--study"):
        load_trials(str(tmp_path / "two.db"))
    second = load_trials(str(tmp_path / "two.db"), study_name="second")
    _check_against_optuna(second, _expected(url, "second"), 1)
    with pytest.raises(AnalysisError, match="no study named 'third'"):
        load_trials(str(tmp_path / "two.db"), study_name="third")


def test_journal_with_several_studies(tmp_path):
    storage = _journal_storage(tmp_path / "j.journal")
    fill_study(storage, name="a", n=3)
    fill_study(storage, name="b", n=4)
    b = load_trials(str(tmp_path / "j.journal"), study_name="b")
    _check_against_optuna(b, _expected(storage, "b"), 1)


def test_incremental_load_and_merge_equal_a_full_load(tmp_path):
    path = str(tmp_path / "bulk.db")
    make_bulk_db(path, 60, n_params=4, running_last=3)
    first = load_trials(path)
    running = first.number[first.state == int(TrialState.RUNNING)]
    # the running trials finish, and 40 more arrive
    con = sqlite3.connect(path)
    con.execute("UPDATE trials SET state='FAIL' WHERE state='RUNNING'")
    con.commit()
    con.close()
    make_bulk_db(path, 40, n_params=4, create=False, start_number=60, seed=1)
    new = load_trials(path, after_number=first.last_number, numbers=list(running))
    assert list(new.number) == [57, 58, 59, *range(60, 100)]
    merged = first.merged(new)
    full = load_trials(path)
    assert list(merged.number) == list(range(100))
    assert np.array_equal(merged.state, full.state)
    np.testing.assert_array_equal(merged.values, full.values)
    for name in full.params:
        np.testing.assert_array_equal(merged.params[name], full.params[name])
    for key in full.user_attrs:
        assert list(merged.user_attrs[key]) == list(full.user_attrs[key]) or np.allclose(
            merged.user_attrs[key].astype(float), full.user_attrs[key].astype(float), equal_nan=True
        )
    assert len(load_trials(path, after_number=99)) == 0


def test_bulk_values_round_trip_exactly(tmp_path):
    path = str(tmp_path / "bulk.db")
    b = make_bulk_db(path, 300, n_params=10, directions=("minimize", "maximize"))
    cols = load_trials(path)
    for name, expected in b.params.items():
        np.testing.assert_array_equal(cols.params[name], expected)
    np.testing.assert_array_equal(cols.values, b.values)
    np.testing.assert_allclose(cols.start, b.start, atol=1e-6)
    assert set(cols.user_attrs["oo_hostname"]) == set(b.hosts)


def test_run_folder_and_frozen_study_names(tmp_path):
    from omniopt_desktop.study.model import Objective, Parameter, ParamType, Study

    run = tmp_path / "run"
    run.mkdir()
    make_bulk_db(str(run / "study.db"), 5, n_params=4)
    study = Study(
        name="bulk",
        objectives=[Objective("LOSS")],
        parameters=[
            Parameter("x3", ParamType.FLOAT, -5, 5),
            Parameter("lr0", ParamType.FLOAT, 1e-5, 0.1),
        ],
    )
    import json

    (run / "study.json").write_text(json.dumps(study.to_dict()))
    cols = load_trials(str(run))
    assert cols.study.objective_names == ("LOSS",)
    assert cols.param_names[:2] == ("x3", "lr0")


@pytest.mark.parametrize(
    "content, message",
    [
        (
            b"\x00\x01garbage" * 100,
            "not an Optuna study \\(neither an SQLite database nor a journal",
        ),
        (
            b"SQLite format 3\x00" + b"\xff" * 2000,
            "not a readable SQLite database|cannot read the study database",
        ),
        (b"hello,world\n1,2\n", "not an Optuna study"),
        (
            b'{"op_code": 0, "worker_id": "w", "study_name": "s", "directions": [1]}\n{"op_code": 4, broken\n',
            ":2: corrupt journal line",
        ),
        (b'{"a": 1}\n', "not an Optuna journal file"),
        (b"", "holds no study yet"),
    ],
)
def test_bad_files_give_one_clear_line(tmp_path, content, message):
    path = tmp_path / "bad.db"
    path.write_bytes(content)
    with pytest.raises(AnalysisError, match=message) as e:
        load_trials(str(path))
    assert "\n" not in str(e.value) and str(path) in str(e.value)


def test_sqlite_that_is_not_an_optuna_study(tmp_path):
    path = tmp_path / "other.db"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE notes (id INTEGER, text TEXT)")
    con.commit()
    con.close()
    with pytest.raises(AnalysisError, match="not an Optuna study database \\(no table studies"):
        load_trials(str(path))


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(AnalysisError, match="no such file"):
        load_trials(str(tmp_path / "nope.db"))
    with pytest.raises(AnalysisError, match="no study.db or study.journal"):
        load_trials(str(tmp_path))


def test_path_with_odd_characters(tmp_path):
    folder = tmp_path / "we ird#dir?x%20"
    folder.mkdir()
    make_bulk_db(str(tmp_path / "s.db"), 7, n_params=2)  # optuna itself cannot open such a URL
    os.replace(tmp_path / "s.db", folder / "s.db")
    assert len(load_trials(str(folder / "s.db"))) == 7
    assert os.listdir(folder) == ["s.db"]


def _downgrade_to_optuna_3_0_0_c(path):
    """The layout before Optuna's v3.0.0.d migration: no trial_values.value_type, and
    datetimes stored as naive local time (library_version 3.0.0)."""
    con = sqlite3.connect(path)
    con.executescript(
        """
        CREATE TABLE tv_old (trial_value_id INTEGER PRIMARY KEY, trial_id INTEGER NOT NULL,
                             objective INTEGER NOT NULL, value FLOAT, UNIQUE (trial_id, objective));
        INSERT INTO tv_old SELECT trial_value_id, trial_id, objective, value FROM trial_values;
        DROP TABLE trial_values;
        ALTER TABLE tv_old RENAME TO trial_values;
        UPDATE version_info SET library_version = '3.0.0', schema_version = 12;
        """
    )
    con.commit()
    con.close()


def test_older_schema_and_local_time_datetimes(tmp_path, monkeypatch):
    import time

    path = str(tmp_path / "old.db")
    b = make_bulk_db(path, 20, n_params=3)
    _downgrade_to_optuna_3_0_0_c(path)
    monkeypatch.setenv("TZ", "Etc/GMT-2")  # stored wall-clock times are UTC+2 local time
    time.tzset()
    try:
        cols = load_trials(path)
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    np.testing.assert_array_equal(cols.values[:, 0], b.values[:, 0])
    np.testing.assert_allclose(cols.start, b.start - 7200.0, atol=1e-6)


def test_rare_and_odd_user_attrs_and_an_old_running_trial(tmp_path):
    """Keys seen only mid-study, a key holding the reader's separator, a value that is not
    JSON; a trial still running far below the newest ones is re-read by a poll."""
    path = str(tmp_path / "bulk.db")
    make_bulk_db(path, 300, n_params=3)
    con = sqlite3.connect(path)
    con.executemany(
        "INSERT INTO trial_user_attributes (trial_id, key, value_json) VALUES (?, ?, ?)",
        [(151, "rare", '"mid"'), (152, "rare", "7"), (200, "odd\x1fkey", '"x"')],
    )
    con.execute("UPDATE trials SET state='RUNNING', datetime_complete=NULL WHERE number=5")
    con.commit()
    cols = load_trials(path)
    rare = cols.user_attrs["rare"]
    assert rare[150] == "mid" and rare[151] == 7 and rare[0] is None
    assert cols.user_attrs["odd\x1fkey"][199] == "x"
    # the same with a value that is not JSON: kept as its text
    con.execute(
        "UPDATE trial_user_attributes SET value_json='not json' WHERE key='rare' AND trial_id=151"
    )
    con.commit()
    cols = load_trials(path)
    assert cols.user_attrs["rare"][150] == "not json"
    assert cols.user_attrs["oo_hostname"][10] == "node2"
    # an incremental read: the old running trial (number 5) and the new ones
    con.execute("UPDATE trials SET state='COMPLETE' WHERE number=5")
    con.commit()
    con.close()
    make_bulk_db(path, 10, n_params=3, create=False, start_number=300, seed=3)
    new = load_trials(path, after_number=299, numbers=[5])
    assert list(new.number) == [5, *range(300, 310)]
    assert new.state[0] == int(TrialState.COMPLETE)
    merged = cols.merged(new)
    full = load_trials(path)
    np.testing.assert_array_equal(merged.state, full.state)
    for key in full.user_attrs:
        a, b = merged.user_attrs[key], full.user_attrs[key]
        assert [x if x == x else None for x in a] == [x if x == x else None for x in b], key


def test_merging_in_place_never_changes_an_older_result(tmp_path):
    """Appended trials go into spare room after the columns; two merges onto the same older
    columns each get their own trials, and the older columns stay as they were."""
    from dataclasses import replace

    path = str(tmp_path / "bulk.db")
    make_bulk_db(path, 40, n_params=3)
    cols = load_trials(path)
    tail = cols.take(np.arange(30, 40))
    first = cols.merged(replace(tail, number=tail.number + 10))  # trials 40..49
    second = first.merged(replace(tail, number=tail.number + 20))  # 50..59, in place
    other = first.merged(replace(tail, number=tail.number + 30))  # 60..69, from first again
    assert list(first.number) == list(range(50))
    assert list(second.number) == list(range(60))
    assert list(other.number) == [*range(50), *range(60, 70)]
    for name in cols.params:
        np.testing.assert_array_equal(second.params[name][50:], tail.params[name])
        np.testing.assert_array_equal(other.params[name][50:], tail.params[name])
    assert list(cols.number) == list(range(40)) and len(first.values) == 50


def test_user_attrs_of_mixed_types_read_like_optuna(tmp_path):
    """User attributes written by Optuna: numbers (int, float, huge, negative zero), strings
    that look like numbers, bools, None, lists and dicts, keys first set mid-study (not among
    the keys sampled from the first and last trials) and a key on one trial only."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    url = f"sqlite:///{tmp_path / 'mixed.db'}"
    study = optuna.create_study(storage=url, study_name="mixed")
    odd = [0, 1.5, -0.0, 2**70, "3", "", True, False, None, [1, "a"], {"k": 1.25}, 1e-300]
    for i in range(60):
        t = study.ask()
        t.suggest_float("x", 0, 1)
        t.set_user_attr("num", i if i % 3 else float(i) / 7)
        t.set_user_attr("mixed", odd[i % len(odd)])
        if 25 <= i < 35:
            t.set_user_attr("mid", "s" if i % 2 else i)
        if i == 31:
            t.set_user_attr("once", None)
        if i % 5 == 0:
            t.set_user_attr("flag", i % 10 == 0)
        study.tell(t, float(i))
    cols = load_trials(str(tmp_path / "mixed.db"))
    trials = _expected(url, "mixed")
    assert list(cols.number) == [t.number for t in trials]
    assert set(cols.user_attrs) == {k for t in trials for k in t.user_attrs}
    for key in ("num", "mixed", "mid", "once", "flag"):
        col = cols.user_attrs[key]
        for i, t in enumerate(trials):
            want = t.user_attrs.get(key)
            got = col[i]
            if want is None:
                assert got is None or got != got, (key, i)  # None, or NaN in a number column
            else:
                assert got == want, (key, i, got, want)
                if col.dtype == object:  # kept as Optuna gave it (a number column is float)
                    assert type(got) is type(want), (key, i, got, want)
    assert cols.user_attrs["num"].dtype == np.float64
    assert cols.user_attrs["mixed"].dtype == object and cols.user_attrs["flag"].dtype == object


@pytest.mark.parametrize("chunk", [25_000, 16])
def test_parameters_first_suggested_mid_study(tmp_path, monkeypatch, chunk):
    """Parameter names are sampled from the first and last trials; one suggested only in the
    middle of the study (in one chunk of several, or in the only one) is still read, and the
    parameters come in the order of their first use."""
    import optuna

    from omniopt_desktop.analysis import sqlite_reader

    monkeypatch.setattr(sqlite_reader, "CHUNK", chunk)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    url = f"sqlite:///{tmp_path / 'cond.db'}"
    study = optuna.create_study(storage=url, study_name="cond")
    for i in range(70):
        t = study.ask()
        t.suggest_float("x", 0, 1)
        if 30 <= i < 36:
            t.suggest_categorical("opt", ["sgd", "adam"])
            if i % 2:
                t.suggest_int("momentum", 1, 9)
        t.suggest_float("y", -1, 1)
        study.tell(t, float(i))
    cols = load_trials(str(tmp_path / "cond.db"))
    trials = _expected(url, "cond")
    _check_against_optuna(cols, trials, 1)
    assert cols.param_names == ("x", "y", "opt", "momentum")  # by first trial, then suggestion
    assert cols.param_info["opt"].choices == ("sgd", "adam")
    assert np.isnan(cols.params["opt"][:30]).all() and np.isnan(cols.params["opt"][36:]).all()
