"""A run folder keeps one storage: running it again with another one is refused.

A folder run with --storage journal and then again without it got a new study.db beside the
journal: a second study started at trial 0 and wrote over the first one's trial folders."""

from __future__ import annotations

import shutil

import pytest
from support.cli import run_cli, tiny_study

from omniopt_desktop.engine.frozen import freeze_study
from omniopt_desktop.engine.run_storage import check_run_storage
from omniopt_desktop.errors import OmniOptError
from omniopt_desktop.study import run_layout as L
from omniopt_desktop.study.model import Study


def run(path, *extra):
    return run_cli("run", str(path), "--quiet", *extra)


def test_journal_run_then_default_storage_is_refused(tmp_path):
    path = tmp_path / "study.toml"
    path.write_text(tiny_study("st", 2))
    assert run(path, "--storage", "journal").returncode == 0
    run_dir = tmp_path / "runs" / "st"
    commands = [(run_dir / "trials" / str(n) / "command.txt").read_text() for n in (0, 1)]
    r = run(path)
    assert r.returncode == 1
    (line,) = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert f"run folder {run_dir} holds its trials in study.journal;" in line
    assert "resume it with --storage journal" in line
    assert not (run_dir / "study.db").exists()
    assert [(run_dir / "trials" / str(n) / "command.txt").read_text() for n in (0, 1)] == commands
    again = run(path, "--storage", "journal")
    assert again.returncode == 0, again.stderr


def _frozen(run_dir, url):
    study = Study.from_dict({"study": {"name": "st"}, "parameter": [{"name": "x"}]})
    freeze_study(study, str(run_dir), str(run_dir), url)


def test_a_moved_run_folder_keeps_its_storage(tmp_path):
    old = tmp_path / "old"
    _frozen(old, L.storage_url(old, "sqlite"))
    (old / L.SQLITE_DB).write_bytes(b"x")
    new = tmp_path / "new"
    shutil.move(str(old), str(new))
    check_run_storage(str(new), L.storage_url(new, "sqlite"))


def test_postgres_run_folder_refuses_a_file_storage(tmp_path):
    _frozen(tmp_path, "postgresql://u@db:5432/runs")
    with pytest.raises(OmniOptError) as e:
        check_run_storage(str(tmp_path), L.storage_url(tmp_path, "sqlite"))
    assert "resume it with --storage postgresql://u@db:5432/runs" in str(e.value)


def test_an_empty_earlier_storage_does_not_count(tmp_path):
    _frozen(tmp_path, L.storage_url(tmp_path, "journal"))
    check_run_storage(str(tmp_path), L.storage_url(tmp_path, "sqlite"))  # no journal file


def test_another_study_in_the_same_run_folder_is_refused(tmp_path):
    path = tmp_path / "study.toml"
    path.write_text(tiny_study("st", 2))
    other = tmp_path / "other.toml"
    other.write_text(tiny_study("other", 2))
    run_dir = tmp_path / "shared"
    assert run(path, "--run-dir", str(run_dir)).returncode == 0
    before = (run_dir / "trials" / "0" / "command.txt").read_text()
    r = run(other, "--run-dir", str(run_dir))
    assert r.returncode == 1
    assert f"run folder {run_dir} holds the trials of study 'st'; study 'other' would" in r.stderr
    assert (run_dir / "trials" / "0" / "command.txt").read_text() == before
    assert run(path, "--run-dir", str(run_dir)).returncode == 0  # the same study resumes
