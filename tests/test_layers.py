"""The layering of ARCHITECTURE.md, checked by import-linter, plus Python 3.9 syntax for shipped code."""

from __future__ import annotations

import ast
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
SHIPPED = ["omniopt_desktop/engine", "omniopt_desktop/study", "omniopt_desktop/errors.py"]


def test_import_linter_contracts_hold():
    lint = pathlib.Path(sys.executable).with_name("lint-imports")
    proc = subprocess.run(
        [str(lint) if lint.exists() else "lint-imports", "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _shipped_files():
    for entry in SHIPPED:
        p = ROOT / entry
        yield from ([p] if p.is_file() else sorted(p.rglob("*.py")))


def test_shipped_code_parses_as_python_39():
    """engine/ and study/ (minus the TOML module) run on the cluster's Python 3.9."""
    bad = []
    for path in _shipped_files():
        src = path.read_text()
        try:
            ast.parse(src, feature_version=(3, 9))
        except SyntaxError as e:
            bad.append(f"{path.relative_to(ROOT)}:{e.lineno}: {e.msg}")
        for lineno, line in enumerate(src.splitlines(), 1):
            if "slots=True" in line or "kw_only=True" in line or "strict=True)" in line:
                bad.append(f"{path.relative_to(ROOT)}:{lineno}: 3.10+ only: {line.strip()}")
        if "from __future__ import annotations" not in src and "->" in src:
            bad.append(f"{path.relative_to(ROOT)}: needs 'from __future__ import annotations'")
    assert not bad, "\n".join(bad)


def test_engine_imports_without_gui_or_ssh_packages():
    code = (
        "import sys\n"
        "for m in ('PySide6','pyqtgraph','paramiko','keyring','tomlkit','superqt'):\n"
        "    sys.modules[m] = None\n"
        "import importlib, pkgutil, omniopt_desktop.engine as e\n"
        "for info in pkgutil.walk_packages(e.__path__, 'omniopt_desktop.engine.'):\n"
        "    importlib.import_module(info.name)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
