"""Where the app's bundled files are: resources/ (examples, icons), in a checkout, a wheel or a bundle."""

from __future__ import annotations

import sys
from pathlib import Path


def package_dir() -> Path:
    """The folder holding the package's files: the package itself in a checkout or a wheel;
    ``<bundle>/_internal/omniopt_desktop`` in a PyInstaller bundle, where the modules live as
    bytecode in an archive and only the files the spec adds as data are on disk."""
    frozen = getattr(sys, "_MEIPASS", None) if getattr(sys, "frozen", False) else None
    return Path(frozen) / "omniopt_desktop" if frozen else Path(__file__).resolve().parent


def resources_dir() -> Path:
    """The ``resources`` folder (``omniopt_desktop/resources`` links to the repo's ``resources/``)."""
    frozen = getattr(sys, "_MEIPASS", None)  # PyInstaller bundle
    candidates = [Path(frozen) / "omniopt_desktop" / "resources"] if frozen else []
    here = Path(__file__).resolve().parent
    candidates += [here / "resources", here.parent / "resources"]
    for c in candidates:
        if (c / "examples").is_dir():
            return c
    return candidates[-1]


def examples_dir() -> Path:
    return resources_dir() / "examples"


def example_studies() -> list[Path]:
    """Every bundled example study file, sorted by folder name."""
    root = examples_dir()
    return sorted(p for p in root.glob("*/study.toml") if p.is_file()) if root.is_dir() else []
