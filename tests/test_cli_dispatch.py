"""The CLI imports only the module of the sub-command it runs; help still lists them all."""

from __future__ import annotations

import subprocess
import sys

from omniopt_desktop.cli import build_parser, command_names, main

PROBE = """
import sys
from omniopt_desktop.cli import main
try:
    main({argv!r})
except SystemExit:
    pass
heavy = sorted(m for m in sys.modules if m.startswith(("omniopt_desktop.cluster", "paramiko", "PySide6")))
print(heavy)
"""


def _modules_after(argv: list[str]) -> str:
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(argv=argv)], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.strip().splitlines()[-1]


def test_validate_and_version_do_not_load_the_cluster_modules(tmp_path):
    study = tmp_path / "s.toml"
    study.write_text("schema_version = 1\n")
    assert _modules_after(["validate", str(study)]) == "[]"
    assert _modules_after(["--version"]) == "[]"


def test_every_module_registers_the_command_it_is_named_for():
    names = command_names()
    assert {"open", "submit", "ssh-check", "gui", "export", "status"} <= set(names)
    for name in names:
        sub = build_parser(only=name)._subparsers._group_actions[0]
        assert set(sub.choices) == {name}


def test_help_lists_every_command(capsys):
    try:
        main(["--help"])
    except SystemExit:
        pass
    out = capsys.readouterr().out
    assert all(name in out for name in command_names())
