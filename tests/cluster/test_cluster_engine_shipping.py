"""The engine archive shipped to the cluster holds every engine module, and they import from it
alone (no workstation-only packages, nothing from the workstation's source tree)."""

from __future__ import annotations

import io
import subprocess
import sys
import tarfile
from pathlib import Path

import omniopt_desktop
from omniopt_desktop.cluster.remote_env import engine_files, tar_bytes

ENGINE = Path(omniopt_desktop.__file__).resolve().parent / "engine"


def test_every_engine_module_is_shipped():
    shipped = {name for name, _ in engine_files()}
    missing = [
        p.name for p in ENGINE.glob("*.py") if f"omniopt_desktop/engine/{p.name}" not in shipped
    ]
    assert not missing, f"engine modules not shipped to the cluster: {missing}"


def test_shipped_engine_imports_on_its_own(tmp_path):
    with tarfile.open(fileobj=io.BytesIO(tar_bytes(engine_files())), mode="r:gz") as tar:
        tar.extractall(tmp_path)
    code = (
        "import sys\n"
        f"sys.path.insert(0, {str(tmp_path)!r})\n"
        "for m in ('PySide6','pyqtgraph','paramiko','keyring','tomlkit','superqt','platformdirs'):\n"
        "    sys.modules[m] = None\n"
        "import importlib, pkgutil, omniopt_desktop.engine as e\n"
        f"assert e.__file__.startswith({str(tmp_path)!r}), e.__file__\n"
        "for info in pkgutil.walk_packages(e.__path__, 'omniopt_desktop.engine.'):\n"
        "    importlib.import_module(info.name)\n"
        "from omniopt_desktop.engine import controller\n"
        "print(len(controller.__all__))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    assert int(proc.stdout.strip()) > 0
