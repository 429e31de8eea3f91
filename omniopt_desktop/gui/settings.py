"""The app's own state: recent files, window layout, cluster profiles.

Stored as one JSON file in platformdirs' user config folder (never beside a study), written
whole (temp file + ``os.replace``). No secret is ever stored here: remembered passwords live in
the keyring (see :mod:`.profiles.secrets`).
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import platformdirs

from ..cluster.defaults import DEFAULT_REMOTE_BASE

APP_NAME = "omniopt-desktop"
MAX_RECENT = 10


def config_dir() -> str:
    return platformdirs.user_config_dir(APP_NAME, appauthor=False)


@dataclass(frozen=True)
class ClusterProfile:
    """How to reach one cluster. ``host`` is an ~/.ssh/config alias or ``user@host[:port]``."""

    name: str
    host: str
    remote_base: str = DEFAULT_REMOTE_BASE
    env_setup: tuple[str, ...] = ()
    remember_secrets: bool = False
    python: str = "python3"  # interpreter on the cluster that makes the run's venv
    slurm_setup: str = ""  # run before SLURM commands, e.g. "module load slurm"
    ssh_config: str = ""  # another ssh config file than ~/.ssh/config
    wheelhouse: str = ""  # local folder of wheels for clusters without internet

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["env_setup"] = list(self.env_setup)
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ClusterProfile:
        return cls(
            name=str(d.get("name") or d.get("host") or "cluster"),
            host=str(d.get("host", "")),
            remote_base=str(d.get("remote_base") or DEFAULT_REMOTE_BASE),
            env_setup=tuple(str(x) for x in d.get("env_setup", [])),
            remember_secrets=bool(d.get("remember_secrets", False)),
            python=str(d.get("python") or "python3"),
            slurm_setup=str(d.get("slurm_setup", "")),
            ssh_config=str(d.get("ssh_config", "")),
            wheelhouse=str(d.get("wheelhouse", "")),
        )


@dataclass
class AppSettings:
    """Loaded with :meth:`load`, written with :meth:`save`."""

    recent_files: list[str] = field(default_factory=list)
    window_geometry: str = ""  # base64 of QWidget.saveGeometry()
    window_state: str = ""  # base64 of QMainWindow.saveState()
    splitter_state: str = ""
    last_folder: str = ""
    profiles: list[ClusterProfile] = field(default_factory=list)
    local_runs: list[str] = field(default_factory=list)  # run folders started from the GUI
    path: str = ""

    @classmethod
    def default_path(cls) -> str:
        return os.path.join(config_dir(), "settings.json")

    @classmethod
    def load(cls, path: str | None = None) -> AppSettings:
        """Read the settings; a missing or unreadable file gives the defaults."""
        path = path or cls.default_path()
        try:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
        except (OSError, ValueError):
            return cls(path=path)
        if not isinstance(data, dict):
            return cls(path=path)
        return cls(
            recent_files=[str(p) for p in data.get("recent_files", [])][:MAX_RECENT],
            window_geometry=str(data.get("window_geometry", "")),
            window_state=str(data.get("window_state", "")),
            splitter_state=str(data.get("splitter_state", "")),
            last_folder=str(data.get("last_folder", "")),
            profiles=[ClusterProfile.from_json(p) for p in data.get("profiles", [])],
            local_runs=[str(p) for p in data.get("local_runs", [])],
            path=path,
        )

    def snapshot(self) -> AppSettings:
        """A copy to write from another thread while this one keeps changing."""
        return replace(
            self,
            recent_files=list(self.recent_files),
            profiles=list(self.profiles),
            local_runs=list(self.local_runs),
        )

    def save(self) -> None:
        path = self.path or self.default_path()
        os.makedirs(os.path.dirname(path), exist_ok=True)
        data = {
            "recent_files": self.recent_files,
            "window_geometry": self.window_geometry,
            "window_state": self.window_state,
            "splitter_state": self.splitter_state,
            "last_folder": self.last_folder,
            "profiles": [p.to_json() for p in self.profiles],
            "local_runs": self.local_runs,
        }
        fd, tmp = tempfile.mkstemp(prefix=".settings-", dir=os.path.dirname(path))
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(data, f, indent=2)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    # -- recent files ----------------------------------------------------------------------
    def add_recent(self, path: str) -> None:
        path = os.path.abspath(path)
        self.recent_files = [path] + [p for p in self.recent_files if p != path]
        del self.recent_files[MAX_RECENT:]
        self.last_folder = os.path.dirname(path)

    def remove_recent(self, path: str) -> None:
        self.recent_files = [p for p in self.recent_files if p != path]

    def add_local_run(self, run_dir: str) -> None:
        run_dir = os.path.abspath(run_dir)
        self.local_runs = [run_dir] + [r for r in self.local_runs if r != run_dir]

    # -- profiles --------------------------------------------------------------------------
    def profile(self, name: str) -> ClusterProfile | None:
        return next((p for p in self.profiles if p.name == name), None)

    def put_profile(self, profile: ClusterProfile, old_name: str | None = None) -> None:
        """Add or replace (by ``old_name`` or the profile's own name)."""
        key = old_name or profile.name
        for i, p in enumerate(self.profiles):
            if p.name == key:
                self.profiles[i] = profile
                return
        self.profiles.append(profile)

    def remove_profile(self, name: str) -> None:
        self.profiles = [p for p in self.profiles if p.name != name]
