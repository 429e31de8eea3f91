"""One study and one storage per run folder: a run started again must be the same study, in the
storage its trials are in (trial folders are numbered per study).

A run folder started with ``--storage journal`` and run again without it opened a new, empty
``study.db`` beside the journal: a second study began at trial 0 and wrote over the first
one's trial folders. :func:`check_run_storage` refuses that with one line saying which
storage the folder holds and how to resume it. Moving a run folder is fine: file storages are
compared by kind (``study.db`` / ``study.journal`` in the folder), not by path. Another study
(``--run-dir`` given to two studies) would likewise write over the first one's trial folders.

Python 3.9+, stdlib only.
"""

from __future__ import annotations

import os
from typing import Any, Optional

from ..errors import OmniOptError
from ..study import run_layout as L
from .run_files import read_frozen


def _kind(run_dir: str, url: str) -> str:
    """'sqlite' / 'journal' for the run folder's own files, else the URL itself."""
    for kind in ("sqlite", "journal"):
        if url == L.storage_url(run_dir, kind):
            return kind
    if url.startswith(("sqlite:///", "journal:///")):
        name = os.path.basename(url.split(":///", 1)[1])
        if name in (L.SQLITE_DB, L.JOURNAL_FILE):  # the folder was moved since
            return "sqlite" if name == L.SQLITE_DB else "journal"
    return url


def _has_trials_in(run_dir: str, kind: str) -> bool:
    if kind == "sqlite":
        path = os.path.join(run_dir, L.SQLITE_DB)
    elif kind == "journal":
        path = os.path.join(run_dir, L.JOURNAL_FILE)
    else:
        return True  # a database server: the frozen study says the run used it
    try:
        return os.path.getsize(path) > 0
    except OSError:
        return False


def check_run_storage(run_dir: str, url: str, study_name: Optional[str] = None) -> None:
    """Raise :class:`OmniOptError` when ``run_dir``'s earlier run kept its trials elsewhere, or
    (``study_name`` given) belongs to another study: trial folders are numbered per study."""
    run_dir = os.path.abspath(run_dir)
    frozen = read_frozen(run_dir)
    old_url: Optional[str] = frozen.get("run", {}).get("storage")
    if not old_url:
        return
    old, new = _kind(run_dir, old_url), _kind(run_dir, url)
    if not _has_trials_in(run_dir, old):
        return
    old_name = frozen.get("study", {}).get("name")
    if study_name is not None and old_name and old_name != study_name:
        raise OmniOptError(
            f"run folder {run_dir} holds the trials of study '{old_name}'; study "
            f"'{study_name}' would write over its trial folders: give it its own run folder "
            f"(--run-dir), or name it '{old_name}' again to resume"
        )
    if old == new:
        return
    if old in ("sqlite", "journal"):
        where = L.SQLITE_DB if old == "sqlite" else L.JOURNAL_FILE
        how = f'--storage {old} (or storage = "{old}" in the study file)'
    else:
        where, how = old_url, f"--storage {old_url}"
    shown = {"sqlite": L.SQLITE_DB, "journal": L.JOURNAL_FILE}.get(new, new)
    raise OmniOptError(
        f"run folder {run_dir} holds its trials in {where}; this run would start a second "
        f"study in {shown} and write over their trial folders: resume it with {how}, or "
        "choose another run folder (--run-dir)"
    )


def check_resume(run_dir: str, url: str, study: Any) -> None:
    """Before the run folder is touched: :func:`check_run_storage`, then, when the folder's
    storage already holds the study, its directions and parameter kinds against ``study``
    (refusing after the frozen study had been rewritten left the run folder describing the
    refused edit instead of its trials)."""
    check_run_storage(run_dir, url, study.name)
    kind = _kind(os.path.abspath(run_dir), url)
    if kind in ("sqlite", "journal") and not _has_trials_in(os.path.abspath(run_dir), kind):
        return  # a new run folder: nothing to compare with
    from .space_check import check_space_unchanged
    from .storage import check_directions, open_storage, with_retries

    storage = open_storage(url)
    try:
        study_id = with_retries(storage.get_study_id_from_name, study.name)
    except KeyError:
        return
    stored = with_retries(storage.get_study_directions, study_id)
    check_directions(study.name, stored, study.directions, url)
    check_space_unchanged(storage, study.name, study)
