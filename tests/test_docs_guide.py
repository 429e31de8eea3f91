"""Every command in the user guide and the README parses, and the local ones really run.

Cluster commands (ssh-check, submit, runs, status, fetch, cancel) really run, taken from the
guide, in tests/test_docs_guide_cluster.py; here they must at least be valid command lines.
"""

from __future__ import annotations

import os
import pathlib
import re
import shlex
import shutil
import subprocess
import sys

import pytest

from omniopt_desktop.cli import build_parser

ROOT = pathlib.Path(__file__).resolve().parents[1]
DOCS = [ROOT / "docs" / "guide.md", ROOT / "README.md"]
RUN_LOCALLY = {"validate", "run", "export", "import", "runs", "open"}


def _inline_commands() -> list[str]:
    """Commands named in prose and tables: their sub-command must exist."""
    return [c for doc in DOCS for c in re.findall(r"`(omniopt-desktop [^`]+)`", doc.read_text())]


def _commands() -> list[str]:
    """Complete command lines from ```sh blocks."""
    found: list[str] = []
    for doc in DOCS:
        text = doc.read_text()
        for block in re.findall(r"```sh\n(.*?)```", text, re.S):
            for line in block.splitlines():
                line = line.strip()
                for part in line.split("&&"):
                    part = part.strip().removeprefix(".venv/bin/")
                    if part.startswith("omniopt-desktop"):
                        found.append(part)
    return found


COMMANDS = _commands()


def test_the_guide_has_commands():
    assert len(COMMANDS) >= 10


@pytest.mark.parametrize("command", sorted(set(COMMANDS)))
def test_every_documented_command_parses(command):
    words = shlex.split(command.replace("SHA256:...", "SHA256:abc"))[1:]
    words = [w.replace("...", "x") for w in words]
    if not words:
        return  # the bare GUI command
    try:
        build_parser().parse_args(words if words[0] in _subcommands() else ["gui", *words])
    except SystemExit as e:
        pytest.fail(f"documented command does not parse: {command} (exit {e.code})")


@pytest.mark.parametrize("command", sorted(set(_inline_commands())))
def test_every_command_named_in_prose_exists(command):
    word = command.split()[1]
    assert word.startswith("[") or word.startswith("STUDY") or word in _subcommands(), command


def _subcommands() -> set[str]:
    parser = build_parser()
    return set(parser._subparsers._group_actions[0].choices)


def test_local_commands_of_the_guide_run_in_order(tmp_path):
    """validate → run → open --screenshot → export → import → runs, on copies of the files."""
    shutil.copytree(ROOT / "resources", tmp_path / "resources", symlinks=True)
    shutil.copytree(
        ROOT / "tests" / "study_import" / "inputs", tmp_path / "tests" / "study_import" / "inputs"
    )
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    ran = []
    for command in COMMANDS:
        words = shlex.split(command)
        if len(words) < 2 or words[1] not in RUN_LOCALLY:
            continue
        if words[1] == "open" and "--screenshot" not in words:
            continue  # opens a window and waits for the user
        if words[1] == "run":
            words = words + ["--quiet"]
        proc = subprocess.run(
            [sys.executable, "-m", "omniopt_desktop.cli", *words[1:]],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert proc.returncode == 0, f"{command}\n{proc.stdout}\n{proc.stderr}"
        ran.append(words[1])
    assert {"validate", "run", "export", "import", "open", "runs"} <= set(ran)
    assert (tmp_path / "results.csv").read_text().count("\n") > 10
    assert (tmp_path / "overview.png").stat().st_size > 10_000
    assert (tmp_path / "imported.toml").exists()


def test_every_picture_of_the_guide_exists():
    for doc in DOCS:
        pictures = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", doc.read_text())
        assert pictures, doc
        for picture in pictures:
            assert (doc.parent / picture).is_file(), f"{doc.name}: {picture} is missing"


def test_the_guide_builds_the_bundle_the_packaging_tests_build():
    """The guide's PyInstaller line uses the spec that tests/packaging builds and runs."""
    from support.bundle import SPEC

    text = (ROOT / "docs" / "guide.md").read_text()
    [line] = [x for x in text.splitlines() if "pyinstaller" in x and x.strip().endswith(".spec")]
    spec = ROOT / shlex.split(line)[-1]
    assert spec == SPEC and spec.is_file()
    assert "dist/omniopt-desktop/omniopt-desktop" in text  # where PyInstaller puts it
