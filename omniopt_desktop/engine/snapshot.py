"""``snapshot``: a consistent SQLite copy of a run's study, made next to the database.

SQLite is copied with the backup API (consistent while workers write); a journal or PostgreSQL
study is copied into SQLite by Optuna. The copy appears in ``<run>/snapshots/`` whole or not at
all (``.part`` file, then ``os.replace``). Python 3.9+, optuna + stdlib.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import time
from typing import Any, Dict

from ..study import run_layout as L
from .run_files import read_frozen, study_name_and_url


def snapshot(run_dir: str) -> Dict[str, Any]:
    """A consistent SQLite copy of the run's study in ``<run>/snapshots/``."""
    run_dir = os.path.abspath(run_dir)
    name, url = study_name_and_url(run_dir, read_frozen(run_dir))
    folder = os.path.join(run_dir, L.SNAPSHOTS_DIR)
    os.makedirs(folder, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    final = os.path.join(folder, f"{name}-{stamp}-{os.getpid()}.db")
    tmp = final + ".part"
    try:
        if url.startswith("sqlite:///"):
            src = sqlite3.connect(f"file:{url[len('sqlite:///') :]}?mode=ro", uri=True, timeout=60)
            dst = sqlite3.connect(tmp)
            try:
                src.backup(dst)  # a consistent copy even while workers write
            finally:
                dst.close()
                src.close()
        else:
            import optuna

            from .storage import open_storage

            optuna.logging.set_verbosity(optuna.logging.WARNING)
            optuna.copy_study(
                from_study_name=name,
                from_storage=open_storage(url),
                to_storage="sqlite:///" + tmp,
            )
        os.replace(tmp, final)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    digest = hashlib.sha256()
    with open(final, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return {"path": final, "size": os.path.getsize(final), "sha256": digest.hexdigest()}
