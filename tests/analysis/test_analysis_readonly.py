"""The loader never writes and never stalls a study being written; replaced snapshots are fine."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap
import threading

from support.analysis_optuna import fill_study
from support.analysis_studies import make_bulk_db

from omniopt_desktop.analysis.loader import load_trials


def _digest(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def test_loading_changes_nothing(tmp_path):
    db = tmp_path / "study.db"
    fill_study(f"sqlite:///{db}", n=8)
    os.chmod(db, 0o444)  # a read-only snapshot must load as well
    before = (_digest(db), os.stat(db).st_mtime_ns, sorted(os.listdir(tmp_path)))
    for _ in range(3):
        load_trials(str(db))
        load_trials(str(db), after_number=3)
    assert (_digest(db), os.stat(db).st_mtime_ns, sorted(os.listdir(tmp_path))) == before


WRITER = textwrap.dedent(
    """
    import sys, optuna
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.load_study(study_name="bulk", storage="sqlite:///" + sys.argv[1])
    study.optimize(lambda t: t.suggest_float("x3", -5, 5) ** 2, n_trials=int(sys.argv[2]))
    print("done", len(study.trials))
    """
)


def test_a_concurrent_writer_is_never_blocked(tmp_path):
    db = str(tmp_path / "study.db")
    make_bulk_db(db, 1000, n_params=4)
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    writer = subprocess.Popen(
        [sys.executable, str(script), db, "60"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        loads, seen = 0, []
        while writer.poll() is None:
            cols = load_trials(db)
            seen.append(len(cols))
            loads += 1
        out, err = writer.communicate(timeout=120)
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait()
    assert writer.returncode == 0, err
    assert out.split() == ["done", "1060"]
    assert loads >= 2 and seen == sorted(seen)
    assert len(load_trials(db)) == 1060


def test_snapshot_replaced_while_open(tmp_path):
    db = str(tmp_path / "study.db")
    a, b = str(tmp_path / "a.db"), str(tmp_path / "b.db")
    make_bulk_db(a, 500, n_params=3)
    make_bulk_db(b, 800, n_params=3, seed=2)
    os.link(a, db)
    assert len(load_trials(db)) == 500
    stop = threading.Event()
    errors = []

    def replace_again_and_again():
        i = 0
        while not stop.is_set():
            src = a if i % 2 else b
            tmp = db + ".tmp"
            if os.path.exists(tmp):
                os.unlink(tmp)
            os.link(src, tmp)
            os.replace(tmp, db)  # as a snapshot fetch does: whole file, atomically
            i += 1

    t = threading.Thread(target=replace_again_and_again)
    t.start()
    try:
        for _ in range(20):
            try:
                assert len(load_trials(db)) in (500, 800)
            except Exception as e:  # noqa: BLE001 - collect to report all
                errors.append(e)
    finally:
        stop.set()
        t.join()
    assert not errors
