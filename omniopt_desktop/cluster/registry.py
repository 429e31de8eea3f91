"""The local registry of submitted cluster runs: ``<user data dir>/runs.json``.

One JSON object keyed by run id. Writes are whole-file and atomic (temp file + ``os.replace``)
under an advisory lock, so status, fetch, cancel and resume work after a restart of the app and
two processes never interleave their updates.
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from ..errors import ClusterError


def default_path() -> str:
    from platformdirs import user_data_dir

    return os.path.join(user_data_dir("omniopt-desktop", appauthor=False), "runs.json")


@dataclass(frozen=True)
class RunRecord:
    run_id: str
    host: str
    remote_dir: str
    tag: str
    study_name: str
    study_file: str = ""
    storage: str = ""
    filesystem: str = ""
    python: str = ""  # interpreter of the remote environment
    pythonpath: str = ""  # the shipped engine
    setup_lines: tuple[str, ...] = ()
    slurm_prefix: str = ""
    ssh_config: str = ""  # the ssh config file given at submission ("" = ~/.ssh/config)
    job_ids: tuple[str, ...] = ()  # controller jobs, oldest first
    state: str = "submitting"  # submitting | submitted | cancelled | done | failed
    created: float = field(default_factory=time.time)
    last_number: int = -1  # the newest trial number status has shown
    snapshots: tuple[str, ...] = ()  # local paths of fetched snapshots

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        for key in ("setup_lines", "job_ids", "snapshots"):
            d[key] = list(d[key])
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> RunRecord:
        known = {f for f in cls.__dataclass_fields__}
        clean = {k: v for k, v in d.items() if k in known}
        for key in ("setup_lines", "job_ids", "snapshots"):
            clean[key] = tuple(clean.get(key, ()))
        return cls(**clean)

    def with_updates(self, **changes: Any) -> RunRecord:
        return replace(self, **changes)


class Registry:
    def __init__(self, path: str | None = None) -> None:
        self.path = path or default_path()

    @contextmanager
    def _locked(self) -> Iterator[None]:
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        with open(self.path + ".lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _load(self) -> dict[str, RunRecord]:
        try:
            with open(self.path) as f:
                raw = json.load(f)
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as e:
            raise ClusterError(
                f"{self.path}: the run registry cannot be read ({e}); move it away to start afresh"
            ) from e
        return {k: RunRecord.from_json(v) for k, v in raw.get("runs", {}).items()}

    def _save(self, runs: dict[str, RunRecord]) -> None:
        folder = os.path.dirname(self.path)
        fd, tmp = tempfile.mkstemp(prefix=".runs-", suffix=".json", dir=folder)
        try:
            with os.fdopen(fd, "w") as f:
                json.dump(
                    {"version": 1, "runs": {k: v.to_json() for k, v in runs.items()}}, f, indent=1
                )
                f.write("\n")
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    def all(self) -> list[RunRecord]:
        with self._locked():
            return sorted(self._load().values(), key=lambda r: r.created)

    def put(self, record: RunRecord) -> RunRecord:
        with self._locked():
            runs = self._load()
            runs[record.run_id] = record
            self._save(runs)
        return record

    def update(self, run_id: str, **changes: Any) -> RunRecord:
        with self._locked():
            runs = self._load()
            if run_id not in runs:
                raise ClusterError(f"run {run_id!r} is not in the registry {self.path}")
            runs[run_id] = runs[run_id].with_updates(**changes)
            self._save(runs)
            return runs[run_id]

    def get(self, ref: str) -> RunRecord:
        """A run by its id or an unambiguous prefix of it."""
        runs = {r.run_id: r for r in self.all()}
        if ref in runs:
            return runs[ref]
        hits = [r for k, r in runs.items() if k.startswith(ref)]
        if len(hits) == 1:
            return hits[0]
        if not hits:
            raise ClusterError(f"no run {ref!r}; 'omniopt-desktop runs' lists the known runs")
        raise ClusterError(
            f"{ref!r} matches {len(hits)} runs ({', '.join(r.run_id for r in hits[:5])}); "
            "give more of the id"
        )
