"""``submit`` ships the engine's sources to the cluster: from a checkout or a wheel they are the
package's files; in a PyInstaller bundle the modules are bytecode in an archive, so the spec adds
the sources as data and ``engine_files`` reads them from there (``sys._MEIPASS``)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

import omniopt_desktop
from omniopt_desktop.cluster.remote_env import engine_files, engine_key
from omniopt_desktop.errors import ClusterError

PACKAGE = Path(omniopt_desktop.__file__).resolve().parent


def _fake_bundle(meipass: Path, monkeypatch) -> Path:
    """A bundle's ``_internal`` holding what the spec copies (the same engine_files list)."""
    for name, path in engine_files():  # not frozen yet: the checkout's sources
        target = meipass / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(meipass), raising=False)
    return meipass / "omniopt_desktop"


def test_a_checkout_ships_its_own_engine_sources():
    files = dict(engine_files())
    assert files["omniopt_desktop/engine/worker.py"] == PACKAGE / "engine" / "worker.py"
    assert "omniopt_desktop/study/toml_io.py" not in files  # workstation-only (tomlkit)
    assert all(path.is_relative_to(PACKAGE) for path in files.values())


def test_a_frozen_bundle_ships_the_sources_it_carries(tmp_path, monkeypatch):
    source_key = engine_key()
    source_names = [name for name, _ in engine_files()]
    internal = _fake_bundle(tmp_path / "_internal", monkeypatch)
    files = engine_files()
    assert [name for name, _ in files] == source_names
    assert all(path.is_relative_to(internal) for _, path in files), files[:3]
    # a bundle and a pip install of the same sources share the engine folder on the cluster
    assert engine_key() == source_key


def test_the_key_follows_the_shipped_contents(tmp_path, monkeypatch):
    source_key = engine_key()
    internal = _fake_bundle(tmp_path / "_internal", monkeypatch)
    worker = internal / "engine" / "worker.py"
    worker.write_text(worker.read_text() + "\n# changed\n")
    assert engine_key() != source_key


def test_a_bundle_without_the_sources_says_so(tmp_path, monkeypatch):
    internal = _fake_bundle(tmp_path / "_internal", monkeypatch)
    shutil.rmtree(internal / "engine")
    (internal / "errors.py").unlink()
    with pytest.raises(ClusterError, match=r"errors\.py.*reinstall") as err:
        engine_files()
    assert str(internal) in str(err.value)
