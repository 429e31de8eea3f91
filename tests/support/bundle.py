"""Build the PyInstaller bundle once per test session (shared by tests and bench_startup)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "packaging" / "omniopt_desktop.spec"


def pyinstaller() -> str | None:
    local = Path(sys.executable).with_name("pyinstaller")
    return str(local) if local.exists() else shutil.which("pyinstaller")


def build_bundle(work: Path) -> Path:
    """Build into ``work`` and return the bundle's executable; raises with PyInstaller's log."""
    tool = pyinstaller()
    if tool is None:
        raise RuntimeError("PyInstaller is not installed: pip install -e '.[test]'")
    dist, build = work / "dist", work / "build"
    proc = subprocess.run(
        [
            tool,
            "--noconfirm",
            "--log-level",
            "ERROR",
            "--distpath",
            str(dist),
            "--workpath",
            str(build),
            str(SPEC),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1500,
    )
    exe = dist / "omniopt-desktop" / "omniopt-desktop"
    if proc.returncode != 0 or not exe.exists():
        raise RuntimeError(f"PyInstaller failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return exe


def bundle_for_tests(work: Path) -> Path:
    """The bundle the packaging tests run: built into ``work``, or the one named by
    ``OMNIOPT_TEST_BUNDLE`` (an executable built from this checkout, to re-run the tests while
    working on them without a rebuild; CI never sets it)."""
    given = os.environ.get("OMNIOPT_TEST_BUNDLE")
    if given:
        exe = Path(given).resolve()
        if not exe.is_file():
            raise RuntimeError(f"OMNIOPT_TEST_BUNDLE={given}: no such executable")
        return exe
    return build_bundle(work)


def make_study_db(path: Path, n: int = 60) -> Path:
    """A small single-objective Optuna study with the engine's per-trial attributes."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(study_name="bundle-check", storage=f"sqlite:///{path}")
    for i in range(n):
        t = study.ask()
        x = t.suggest_float("x", -5, 5)
        k = t.suggest_categorical("kind", ["a", "b"])
        t.set_user_attr("oo_hostname", f"node{i % 3}")
        study.tell(t, (x - 1) ** 2 + (0.5 if k == "b" else 0.0))
    return path


def folder_size(path: Path) -> int:
    """Bytes of the files under ``path`` (symlinks not followed), as ``du --apparent-size``."""
    return sum(
        os.lstat(os.path.join(folder, name)).st_size
        for folder, _dirs, files in os.walk(path)
        for name in files
    )


def offscreen_env() -> dict[str, str]:
    return dict(os.environ, QT_QPA_PLATFORM="offscreen")
