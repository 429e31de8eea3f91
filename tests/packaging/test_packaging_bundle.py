"""The wheel carries the resources; the PyInstaller bundle starts, analyses and runs studies,
loads its SSH libraries, and leaves out the Qt parts the app never uses."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import pytest
from support.bundle import ROOT, folder_size, make_study_db, offscreen_env

from omniopt_desktop.cluster.remote_env import engine_files

pytestmark = pytest.mark.slow


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
    # a pip install ships the engine modules of this checkout to the cluster, no more (a stale
    # build/lib can add a module deleted here), so it shares the engine folder with a bundle
    zipfile.ZipFile(wheel).extractall(tmp_path / "installed")
    installed = engine_files(tmp_path / "installed" / "omniopt_desktop")
    assert [name for name, _ in installed] == [name for name, _ in engine_files()]


def _check_image(path: Path, min_width: int, min_height: int) -> None:
    from PySide6.QtGui import QImage

    image = QImage(str(path))
    assert image.width() >= min_width and image.height() >= min_height, path
    colours = {
        image.pixel(x, y) for x in range(0, image.width(), 7) for y in range(0, image.height(), 7)
    }
    assert len(colours) > 20, f"{path} looks blank"


def _app_env(tmp_path: Path) -> dict[str, str]:
    """Offscreen, with the app's settings and data in ``tmp_path`` (never the user's)."""
    return dict(
        offscreen_env(),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        XDG_DATA_HOME=str(tmp_path / "data"),
    )


def test_bundle_leaves_out_what_the_app_never_loads(bundle):
    internal = bundle.parent / "_internal"
    qt = internal / "PySide6" / "Qt"
    print(f"bundle size: {folder_size(bundle.parent) / 1e6:.0f} MB")
    assert not (qt / "translations").exists()
    for gone in [
        "plugins/platformthemes/libqgtk3.so",
        "plugins/platforms/libqeglfs.so",
        "plugins/platforms/libqvnc.so",
        "plugins/tls",
        "lib/libQt6Network.so.6",
        "lib/libQt6Test.so.6",
    ]:
        assert not (qt / gone).exists(), gone
    assert not list(internal.glob("PySide6/QtTest*")) and not list(internal.glob("libcairo*"))
    for kept in [
        "plugins/platforms/libqxcb.so",
        "plugins/platforms/libqwayland.so",
        "plugins/platforms/libqoffscreen.so",
        "plugins/imageformats/libqsvg.so",
        "lib/libQt6OpenGL.so.6",
        "lib/libQt6Svg.so.6",
    ]:
        assert (qt / kept).exists(), kept
    resources = internal / "omniopt_desktop" / "resources"
    for needed in [
        "examples/quadratic/study.toml",
        "examples/quadratic/quadratic.py",
        "icons/omniopt-desktop.png",
        "omniopt-desktop.desktop",
    ]:
        assert (resources / needed).is_file(), needed


def test_bundle_starts_the_window_with_the_examples(bundle, tmp_path):
    """As a user starts it: linked into ~/bin, from another folder, with a bare environment
    (no DISPLAY, no locale, no XDG variables: --screenshot renders offscreen)."""
    home = tmp_path / "home"
    (home / "bin").mkdir(parents=True)
    (home / "bin" / "omniopt-desktop").symlink_to(bundle)
    env = {"HOME": str(home), "PATH": f"{home / 'bin'}:/usr/bin:/bin"}
    version = subprocess.run(
        ["omniopt-desktop", "--version"], env=env, cwd=home, capture_output=True, text=True
    )
    assert version.returncode == 0 and version.stdout.startswith("omniopt-desktop "), version
    png = tmp_path / "window.png"
    proc = subprocess.run(
        ["omniopt-desktop", "--screenshot", str(png)],
        env=env,
        cwd=home,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == str(png)
    # the C locale is coerced to C.UTF-8 as `python main.py` does (packaging/rthook_env.py)
    assert "Traceback" not in proc.stderr and "locale" not in proc.stderr, proc.stderr
    _check_image(png, 600, 400)
    # the examples were listed from the bundle (the welcome page's settings went to ~/.config)
    assert (home / ".config" / "omniopt-desktop").is_dir()


def test_bundle_commands_start_without_qt(bundle):
    """Only the GUI loads Qt: PyInstaller's PySide6 run-time hook imported PySide6.QtCore before
    every command (--version took twice as long as `python main.py --version`)."""
    proc = subprocess.run(
        [str(bundle), "--version"],
        env=dict(os.environ, LD_DEBUG="files"),  # glibc lists every library it loads
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert "libpython3" in proc.stderr  # LD_DEBUG works here
    assert "libQt6Core" not in proc.stderr and "shiboken6" not in proc.stderr


def test_bundle_loads_its_ssh_libraries(bundle):
    """paramiko with cryptography, PyNaCl and bcrypt: a server that answers with a banner and
    then nothing gets as far as the SSH handshake (an import failure would end earlier)."""
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def answer() -> None:
        conn, _ = server.accept()
        with conn:
            conn.sendall(b"SSH-2.0-OpenSSH_9.6 test\r\n")
            conn.recv(65536)

    threading.Thread(target=answer, daemon=True).start()
    try:
        proc = subprocess.run(
            [str(bundle), "ssh-check", f"127.0.0.1:{port}"],
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        server.close()
    assert proc.returncode != 0
    assert "SSH handshake" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr


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
    _check_image(png, 800, 500)


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
