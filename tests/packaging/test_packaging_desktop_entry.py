"""The Linux desktop entry and the icon: valid by the freedesktop.org rules (desktop-file-validate,
from Debian's desktop-file-utils), and pointing at what exists — the command the wheel and the
bundle install, an icon of that name in standard sizes, the name the app gives Wayland."""

from __future__ import annotations

import configparser
import re
import shlex
import shutil
import struct
import subprocess
import xml.etree.ElementTree as ET

import pytest
import tomllib
from support.bundle import ROOT

RESOURCES = ROOT / "resources"
DESKTOP = RESOURCES / "omniopt-desktop.desktop"
HICOLOR_SIZES = {16, 22, 24, 32, 48, 64, 96, 128, 192, 256, 512}


def _entry() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # keys are case-sensitive
    parser.read(DESKTOP)
    return parser["Desktop Entry"]


def test_desktop_file_validates_without_a_remark():
    tool = shutil.which("desktop-file-validate")
    if tool is None:
        pytest.skip("desktop-file-validate is missing: apt-get install desktop-file-utils")
    proc = subprocess.run([tool, str(DESKTOP)], capture_output=True, text=True)
    # errors, warnings and hints alike (a hint: two main categories list the app twice)
    assert proc.returncode == 0 and not (proc.stdout + proc.stderr).strip(), proc.stdout


def test_desktop_entry_names_the_installed_command_and_the_app():
    entry = _entry()
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    command = entry["Exec"].split()[0]
    assert command in scripts  # pip's console script
    spec = (ROOT / "packaging" / "omniopt_desktop.spec").read_text()
    assert f'name="{command}"' in spec  # the bundle's executable
    # Wayland finds the entry by the app's desktop file name; X11 by its WM_CLASS instance
    # (the executable's name)
    app = (ROOT / "omniopt_desktop" / "gui" / "app.py").read_text()
    assert f'setDesktopFileName("{DESKTOP.stem}")' in app
    assert entry["StartupWMClass"] == command == DESKTOP.stem


def _png_size(path) -> tuple[int, int]:
    data = path.read_bytes()[:24]
    assert data[:8] == b"\x89PNG\r\n\x1a\n", path
    return struct.unpack(">II", data[16:24])


def test_icon_exists_in_standard_sizes_and_as_svg():
    name = _entry()["Icon"]
    icons = RESOURCES / "icons"
    pngs = sorted(icons.glob(f"{name}*.png"))
    sizes = set()
    for png in pngs:
        width, height = _png_size(png)
        assert width == height and width in HICOLOR_SIZES, (png.name, width, height)
        suffix = re.fullmatch(rf"{re.escape(name)}(?:-(\d+))?\.png", png.name)
        assert suffix and int(suffix[1] or width) == width, png.name  # -64.png is 64x64
        sizes.add(width)
    assert {64, 256} <= sizes, sizes  # window/taskbar icon and the large one
    svg = ET.parse(icons / f"{name}.svg").getroot()
    x, y, w, h = (float(v) for v in svg.attrib["viewBox"].split())
    assert w == h, "the scalable icon must be square"


@pytest.mark.slow
def test_bundle_installs_its_menu_entry_for_the_user(bundle, tmp_path):
    """``install-desktop-entry.sh`` beside the executable, run from a folder whose path holds a
    space, as a user without root: a valid entry that starts this bundle, the icons, a link on
    the PATH; run twice it changes nothing; ``--remove`` takes it all away."""
    home, apps = tmp_path / "home", tmp_path / "My Apps"
    home.mkdir()
    apps.mkdir()
    (apps / "omniopt-desktop").symlink_to(bundle.parent)  # the bundle, as if unpacked there
    script = apps / "omniopt-desktop" / "install-desktop-entry.sh"
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin"}
    for _ in range(2):
        proc = subprocess.run([str(script)], env=env, capture_output=True, text=True)
        assert proc.returncode == 0 and not proc.stderr, proc.stderr
    data = home / ".local" / "share"
    installed = data / "applications" / "omniopt-desktop.desktop"
    if shutil.which("desktop-file-validate"):
        check = subprocess.run(["desktop-file-validate", str(installed)], capture_output=True)
        assert check.returncode == 0 and not check.stdout.strip(), check.stdout
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str
    parser.read(installed)
    command = shlex.split(parser["Desktop Entry"]["Exec"])
    assert command[0] == str(apps / "omniopt-desktop" / "omniopt-desktop") and command[1] == "%f"
    for argv in ([command[0]], ["omniopt-desktop"]):  # the menu's command, and on the PATH
        env_path = dict(env, PATH=f"{home / '.local' / 'bin'}:/usr/bin:/bin")
        out = subprocess.run([*argv, "--version"], env=env_path, capture_output=True, text=True)
        assert out.returncode == 0 and out.stdout.startswith("omniopt-desktop "), out
    icons = data / "icons" / "hicolor"
    assert _png_size(icons / "256x256" / "apps" / "omniopt-desktop.png") == (256, 256)
    assert _png_size(icons / "64x64" / "apps" / "omniopt-desktop.png") == (64, 64)
    assert (icons / "scalable" / "apps" / "omniopt-desktop.svg").is_file()

    proc = subprocess.run([str(script), "--remove"], env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    left = [p for p in home.rglob("*") if p.is_file() or p.is_symlink()]
    assert [p.name for p in left] in ([], ["mimeinfo.cache"]), left
