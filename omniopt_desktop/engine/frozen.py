"""The frozen study of a run folder: ``study.json`` = ``Study.to_dict()`` plus a ``run`` section.

``run`` holds ``study_dir`` (the folder the program's ``workdir`` is relative to), ``storage``
(the storage URL the workers open) and ``created`` (unix time). The file is written whole or
not at all (temp file + ``os.replace``). Python 3.9+, stdlib only.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any, Dict, Optional, Tuple

from ..errors import StudyFileError
from ..study import run_layout as L
from ..study.file_modes import write_atomic
from ..study.model import Study


def write_json_atomic(path: str, data: Any, compact: bool = False) -> None:
    """Write ``data`` as JSON to ``path`` through a temporary file in the same folder, so a
    reader sees the old file or the new one, never half of it."""

    def write(f: Any) -> None:
        if compact:
            json.dump(data, f, separators=(",", ":"), default=str)
        else:
            json.dump(data, f, indent=2, default=str)
        f.write("\n")

    write_atomic(path, write)


def freeze_study(
    study: Study, run_dir: str, study_dir: str, storage_url: str, extra: Optional[Dict] = None
) -> str:
    """Write ``<run_dir>/study.json``; return its path."""
    os.makedirs(run_dir, exist_ok=True)
    data = study.to_dict()
    run: Dict[str, Any] = {
        "study_dir": os.path.abspath(study_dir),
        "storage": storage_url,
        "created": time.time(),
    }
    run.update(extra or {})
    data["run"] = run
    path = os.path.join(run_dir, L.FROZEN_STUDY)
    write_json_atomic(path, data)
    return path


def load_frozen(run_dir: str) -> Tuple[Study, Dict[str, Any]]:
    """The study and the ``run`` section of ``<run_dir>/study.json``."""
    path = os.path.join(run_dir, L.FROZEN_STUDY)
    try:
        with open(path) as f:
            data = json.load(f)
    except OSError as e:
        raise StudyFileError(f"{path}: cannot read the frozen study ({e.strerror})") from e
    except ValueError as e:
        raise StudyFileError(f"{path}: not valid JSON ({e})") from e
    run = dict(data.pop("run", {}) or {})
    try:
        study = Study.from_dict(data)
    except (KeyError, TypeError, ValueError) as e:
        raise StudyFileError(f"{path}: not a frozen study ({e})") from e
    return study, run


def program_cwd(study: Study, run: Dict[str, Any], run_dir: str) -> str:
    """Where the program runs: ``program.workdir`` relative to the study's folder."""
    return L.program_workdir(study, run.get("study_dir") or run_dir)
