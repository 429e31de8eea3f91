"""Import OmniOpt1 and OmniOpt2 study definitions into a :class:`~omniopt_desktop.study.model.Study`.

``import_file(path)`` and ``import_text(text)`` find out which format a source is in
(:func:`detect_kind`) and return an :class:`ImportResult`: the study, the options that have no
meaning here (``ignored``) and what has no exact equivalent (``approximations``). Qt-free; the
GUI's import dialog and ``omniopt-desktop import`` both call these. See docs/import.md.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Optional, Union

from .common import ImportResult, ImportSourceError, SourceKind
from .omniopt1 import NORMAL_SIGMAS, import_omniopt1
from .omniopt2 import convert_placeholders, import_command, import_config

__all__ = [
    "NORMAL_SIGMAS",
    "ImportResult",
    "ImportSourceError",
    "SourceKind",
    "convert_placeholders",
    "detect_kind",
    "import_file",
    "import_text",
]

_SUFFIX = {
    ".ini": SourceKind.OMNIOPT1_INI,
    ".toml": SourceKind.OMNIOPT2_TOML,
    ".yaml": SourceKind.OMNIOPT2_YAML,
    ".yml": SourceKind.OMNIOPT2_YAML,
    ".json": SourceKind.OMNIOPT2_JSON,
}
_CONFIG_FORMAT = {
    SourceKind.OMNIOPT2_TOML: "toml",
    SourceKind.OMNIOPT2_YAML: "yaml",
    SourceKind.OMNIOPT2_JSON: "json",
}


def detect_kind(text: str, filename: Optional[str] = None) -> SourceKind:
    """The format of ``text``: by the file name's suffix when it has a known one, else by content."""
    suffix = Path(filename).suffix.lower() if filename else ""
    if suffix in _SUFFIX:
        return _SUFFIX[suffix]
    if re.search(r"^\s*\[\s*(DATA|DIMENSIONS)\s*\]\s*$", text, re.M | re.I):
        return SourceKind.OMNIOPT1_INI
    if "install_omniax.sh" in text:
        return SourceKind.OMNIOPT2_CURL
    if re.search(
        r"(^|\s)--(parameter|run_program|config_(toml|yaml|json))[\s=]", text
    ) or re.search(r"(^|[\s/])\.?omniopt2?\s+--\w", text):
        return SourceKind.OMNIOPT2_COMMAND
    stripped = text.lstrip()
    if stripped.startswith("{"):
        return SourceKind.OMNIOPT2_JSON
    if re.search(r"^\s*\[\[\s*parameter\s*\]\]", text, re.M) or re.search(
        r"^\s*\w+\s*=", text, re.M
    ):
        return SourceKind.OMNIOPT2_TOML
    if re.search(r"^\s*\w+\s*:", text, re.M):
        return SourceKind.OMNIOPT2_YAML
    raise ImportSourceError(
        "not an OmniOpt study definition: expected an OmniOpt1 config.ini ([DATA], [DIMENSIONS]), "
        "an OmniOpt2 command line (./omniopt --parameter ... --run_program ...), the OmniOpt2 web "
        "GUI's curl command, or an OmniOpt2 TOML/YAML/JSON config file",
        filename,
    )


def import_text(
    text: str,
    filename: Optional[str] = None,
    kind: Optional[Union[SourceKind, str]] = None,
    base_dir: Optional[Union[str, Path]] = None,
) -> ImportResult:
    """Import pasted or loaded text; ``filename`` only names it in messages and hints the kind.

    ``base_dir`` is where files named inside the source (``--config_toml x.toml``) are looked for.
    """
    kind = SourceKind(kind) if kind else detect_kind(text, filename)
    source = filename or "<pasted text>"
    base = Path(base_dir) if base_dir is not None else None
    if kind is SourceKind.OMNIOPT1_INI:
        return import_omniopt1(text, source)
    if kind in _CONFIG_FORMAT:
        return import_config(text, _CONFIG_FORMAT[kind], source, base)
    return import_command(text, source, base)


def import_file(
    path: Union[str, Path], kind: Optional[Union[SourceKind, str]] = None
) -> ImportResult:
    """Import the OmniOpt source at ``path`` (config.ini, a command-line file or a config file)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")  # a BOM (Windows editors) is no text
    except FileNotFoundError as e:
        raise ImportSourceError("no such file; check the path", str(p)) from e
    except UnicodeDecodeError as e:
        raise ImportSourceError("not a text file (it is not UTF-8)", str(p)) from e
    except OSError as e:
        raise ImportSourceError(f"cannot read it: {e.strerror}", str(p)) from e
    return import_text(text, str(p), kind, p.parent)
