"""The wheel carries the resources; the PyInstaller bundle starts, analyses and runs studies."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from support.bundle import ROOT, build_bundle, make_study_db, offscreen_env

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    return build_bundle(tmp_path_factory.mktemp("bundle"))


def test_wheel_contains_package_resources_and_examples(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("omniopt_desktop-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in [
        "omniopt_desktop/cli/__init__.py",
        "omniopt_desktop/engine/worker.py",
        "omniopt_desktop/gui/__init__.py",
        "omniopt_desktop/resources/icons/omniopt-desktop.svg",
        "omniopt_desktop/resources/icons/omniopt-desktop.png",
        "omniopt_desktop/resources/omniopt-desktop.desktop",
        "omniopt_desktop/resources/examples/quadratic/study.toml",
        "omniopt_desktop/resources/examples/quadratic/quadratic.py",
        "omniopt_desktop/resources/examples/shell/rosenbrock.sh",
        "omniopt_desktop/resources/examples/multi_objective/study.toml",
        "omniopt_desktop/resources/examples/conditional/study.toml",
    ]:
        assert needed in names, needed
    assert not any("/runs/" in n or "__pycache__" in n for n in names)
    meta = next(n for n in names if n.endswith("entry_points.txt"))
    assert (
        "omniopt-desktop = omniopt_desktop.cli:main" in zipfile.ZipFile(wheel).read(meta).decode()
    )


def test_bundle_opens_a_database_and_renders_a_screenshot(bundle, tmp_path):
    db = make_study_db(tmp_path / "study.db")
    png = tmp_path / "shot.png"
    proc = subprocess.run(
        [str(bundle), "open", str(db), "--screenshot", str(png)],
        env=offscreen_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == str(png)
    from PySide6.QtGui import QImage

    image = QImage(str(png))
    assert image.width() >= 800 and image.height() >= 500
    colours = {
        image.pixel(x, y) for x in range(0, image.width(), 7) for y in range(0, image.height(), 7)
    }
    assert len(colours) > 20, "the screenshot looks blank"


def test_bundle_runs_a_local_study_with_workers(bundle, tmp_path):
    import shutil

    shutil.copytree(ROOT / "resources" / "examples" / "shell", tmp_path / "shell")
    study = tmp_path / "shell" / "study.toml"
    study.write_text(study.read_text().replace("n_trials = 60", "n_trials = 12"))
    proc = subprocess.run(
        [str(bundle), "run", str(study), "--workers", "2", "--quiet"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    run_dir = Path(proc.stdout.strip().splitlines()[-1])
    assert (run_dir / "study.db").exists()
    check = subprocess.run([str(bundle), "validate", str(study)], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
