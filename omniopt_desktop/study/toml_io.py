"""``study.toml``: load and save with tomlkit, keeping the user's comments and key order.

Workstation side only (tomlkit is not shipped to the cluster; the engine gets ``study.json``).

- :func:`load_study` / :func:`loads_study` read a file into a :class:`LoadedStudy`: the model,
  the tomlkit document it came from, a line locator, and the structural issues found while
  reading (unknown keys, wrong types). A file that is not TOML raises :class:`StudyFileError`.
- :func:`dumps_study` / :func:`save_study` write the model back into the same document, changing
  only what changed; a study without a document gets a fresh, commented file. Saving is atomic.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple, Union

import tomlkit
from tomlkit.exceptions import ParseError
from tomlkit.items import AoT, Table

from ..errors import StudyFileError
from .file_modes import write_atomic
from .model import (
    SCHEMA_VERSION,
    Direction,
    Objective,
    Parameter,
    ParamType,
    Program,
    Resources,
    Study,
)
from .schema import ARRAY_SECTIONS, SECTIONS, TYPE_WORDS
from .validate import Issue, Path, format_issues, validate, validate_mapping


class Locator:
    """Line numbers of sections and keys, found by scanning the text (tomlkit keeps none)."""

    _HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-]+)\s*\]\]?")
    _KEY = re.compile(r"^\s*([A-Za-z0-9_\-]+)\s*=")

    def __init__(self, text: str) -> None:
        self.lines: Dict[Path, int] = {}
        counts: Dict[str, int] = {}
        section: Path = ()
        for lineno, line in enumerate(text.splitlines(), 1):
            m = self._HEADER.match(line)
            if m:
                name = m.group(2)
                if m.group(1) == "[[":
                    idx = counts.get(name, -1) + 1
                    counts[name] = idx
                    section = (name, idx)
                else:
                    section = (name,)
                self.lines.setdefault(section, lineno)
                continue
            m = self._KEY.match(line)
            if m:
                self.lines.setdefault(section + (m.group(1),), lineno)

    def __call__(self, path: Path) -> Optional[int]:
        p = tuple(path)
        if (
            p
            and p[0] in ARRAY_SECTIONS
            and len(p) >= 1
            and (len(p) == 1 or not isinstance(p[1], int))
        ):
            p = (p[0], 0) + p[1:]  # [objective] written as a single table
        elif len(p) == 1 and p not in self.lines and (p[0], 0) in self.lines:
            p = (p[0], 0)  # an unknown section written as [[name]]
        while p:
            if p in self.lines:
                return self.lines[p]
            p = p[:-1]
        return None


@dataclass
class LoadedStudy:
    study: Study
    document: Optional[tomlkit.TOMLDocument] = None
    path: Optional[str] = None
    locator: Optional[Locator] = None
    issues: List[Issue] = field(default_factory=list)  # found while reading the file

    @property
    def filename(self) -> str:
        return self.path or "study.toml"

    def all_issues(self) -> List[Issue]:
        """Reading issues plus what :func:`validate` finds at other fields, in line order."""
        seen = {i.path for i in self.issues}
        extra = [i for i in validate(self.study, self.locator, self.filename) if i.path not in seen]
        return sorted(self.issues + extra, key=lambda i: i.line or 0)


# -- reading -----------------------------------------------------------------------------------
def load_study(path: Union[str, os.PathLike[str]]) -> LoadedStudy:
    path = os.fspath(path)
    try:
        with open(path, "rb") as fb:
            raw = fb.read()
        if raw.startswith((b"\xff\xfe", b"\xfe\xff")) and _utf16_text(raw):
            raise StudyFileError(f"{path}: saved as UTF-16; save it as UTF-8 text") from None
        text = raw.decode("utf-8-sig")  # a BOM (Windows editors) is no key
    except FileNotFoundError:
        raise StudyFileError(
            f"{path}: no such file; check the path or create it with the app"
        ) from None
    except UnicodeDecodeError as e:
        raise StudyFileError(
            f"{path}: not a text file (UTF-8) at byte {e.start}; is it a study.toml?"
        ) from None
    except OSError as e:
        raise StudyFileError(f"{path}: cannot be read: {e.strerror}") from None
    loaded = loads_study(text, filename=path)
    loaded.path = path
    return loaded


def loads_study(text: str, filename: str = "study.toml") -> LoadedStudy:
    try:
        doc = tomlkit.parse(text)
    except ParseError as e:
        msg = str(e).split(" at line ")[0]
        raise StudyFileError(
            f"{filename}:{e.line}: not valid TOML: {msg} (column {e.col})"
        ) from None
    locator = Locator(text)
    data = doc.unwrap()
    issues = validate_mapping(data, locator, filename)
    study = _build(data, locator, filename, issues)
    return LoadedStudy(study, doc, None, locator, issues)


def check_file(path: Union[str, os.PathLike[str]]) -> LoadedStudy:
    """Load and validate; raise :class:`StudyFileError` naming the first issue and the count."""
    loaded = load_study(path)
    issues = loaded.all_issues()
    if issues:
        raise StudyFileError(format_issues(issues), issues)
    return loaded


def _build(data: Dict[str, Any], locate: Locator, filename: str, issues: List[Issue]) -> Study:
    """A Study from raw data; values of the wrong type are left at their defaults (reported)."""
    bad = {i.path for i in issues}

    def good(section: Dict[str, Any], base: Path) -> Dict[str, Any]:
        spec = SECTIONS[base[0]]
        return {k: v for k, v in section.items() if k in spec and base + (k,) not in bad}

    def table(key: str) -> Dict[str, Any]:
        v = data.get(key, {})
        return good(v, (key,)) if isinstance(v, dict) else {}

    def entries(key: str) -> List[Tuple[int, Dict[str, Any]]]:
        v = data.get(key, [])
        if isinstance(v, dict):
            v = [v]
        if not isinstance(v, list):
            return []
        return [(i, good(e, (key, i))) for i, e in enumerate(v) if isinstance(e, dict)]

    def note(path: Path, message: str) -> None:
        issues.append(Issue(path, message, locate(path), filename))

    s = table("study")
    study = Study(
        name=s.get("name", ""),
        n_trials=s.get("n_trials", 100),
        sampler=s.get("sampler", "tpe"),
        seed=s.get("seed"),
        storage=s.get("storage", "sqlite"),
        max_failures=s.get("max_failures"),
        max_retries=s.get("max_retries", 2),
        schema_version=data.get("schema_version", SCHEMA_VERSION)
        if isinstance(data.get("schema_version"), int)
        else SCHEMA_VERSION,
    )
    objectives = []
    for i, o in entries("objective"):
        direction = o.get("direction", "minimize")
        try:
            d = Direction(str(direction).lower())
        except ValueError:
            note(
                ("objective", i, "direction"),
                f"objective '{o.get('name', '')}': direction '{direction}' must be \"minimize\" or \"maximize\"",
            )
            d = Direction.MINIMIZE
        objectives.append(Objective(o.get("name", "RESULT"), d))
    study.objectives = objectives if "objective" in data else [Objective()]
    p = table("program")
    study.program = Program(
        command=p.get("command", ""),
        workdir=p.get("workdir", "."),
        timeout=None if p.get("timeout") is None else str(p["timeout"]),
    )
    for i, e in entries("parameter"):
        kind = e.get("type", "float")
        try:
            t = ParamType(kind)
        except ValueError:
            word = TYPE_WORDS.get(str(kind).lower())
            allowed = ", ".join(x.value for x in ParamType)
            hint = f"write type = {word}" if word else f"allowed: {allowed}"
            note(
                ("parameter", i, "type"),
                f"parameter '{e.get('name', '')}': type '{kind}' is unknown; {hint}",
            )
            t = ParamType.FLOAT
        study.parameters.append(
            Parameter(
                name=e.get("name", ""),
                type=t,
                low=e.get("low"),
                high=e.get("high"),
                log=e.get("log", False),
                step=e.get("step"),
                values=list(e.get("values", [])),
                value=e.get("value"),
                when=e.get("when") or None,
            )
        )
    rules = table("constraints").get("rules", [])
    for i, r in enumerate(rules):
        if not isinstance(r, str):
            note(
                ("constraints", "rules", i),
                f'constraint #{i + 1} must be a string such as "layers * 2 <= 12"',
            )
    study.constraints = [r for r in rules if isinstance(r, str)]
    res = table("resources")
    if "time" in res:
        res["time"] = str(res["time"])
    study.resources = Resources.from_dict(res)
    return study


# -- writing -----------------------------------------------------------------------------------
def _plain(v: Any) -> Any:
    return v.unwrap() if hasattr(v, "unwrap") else v


def _same(old: Any, new: Any) -> bool:
    old = _plain(old)
    if type(old) is bool or type(new) is bool:
        return type(old) is type(new) and old == new
    return old == new or (isinstance(new, str) and not isinstance(old, str) and str(old) == new)


def _sync_table(table: Any, desired: Dict[str, Any], spec: Dict[str, Tuple[str, Any]]) -> None:
    """Make ``table`` hold ``desired``, touching only keys whose value changed.

    A default the user did not write is not added; a known key the model no longer has is
    removed unless it still states the default (``log = false`` stays).
    """
    desired = {k: v for k, v in desired.items() if v is not None}
    for key, value in desired.items():
        if key in table:
            if not _same(table[key], value):
                table[key] = value
        elif value is not None and not (key in spec and spec[key][1] == value):
            table[key] = value
    for key in list(table.keys()):
        if key in spec and key not in desired:
            default = spec[key][1]
            if default is None or not _same(table[key], default):
                del table[key]


def _sync_array(doc: Any, key: str, desired: List[Dict[str, Any]]) -> None:
    spec = SECTIONS[key]
    current = doc.get(key)
    if isinstance(current, Table) and len(desired) == 1:
        _sync_table(current, desired[0], spec)
        return
    if not isinstance(current, AoT):
        if current is not None:
            del doc[key]
        aot = tomlkit.aot()
        for d in desired:
            aot.append(_new_table(d, spec))
        doc[key] = aot
        return
    for i, d in enumerate(desired):
        if i < len(current):
            _sync_table(current[i], d, spec)
        else:
            current.append(_new_table(d, spec))
    while len(current) > len(desired):
        del current[len(current) - 1]


def _new_table(d: Dict[str, Any], spec: Dict[str, Tuple[str, Any]]) -> Table:
    t = tomlkit.table()
    for k, v in d.items():
        if v is not None:
            t[k] = v
    return t


def _sync_document(doc: tomlkit.TOMLDocument, study: Study) -> None:
    d = study.to_dict()
    if "schema_version" in doc or study.schema_version != SCHEMA_VERSION:
        if not _same(doc.get("schema_version"), d["schema_version"]):
            doc["schema_version"] = d["schema_version"]
    for key in ("study", "program", "constraints", "resources"):
        desired = d[key]
        if key == "constraints" and not desired["rules"]:
            desired = {}
        if key not in doc:
            if desired:
                doc[key] = _new_table(desired, SECTIONS[key])
            continue
        _sync_table(doc[key], desired, SECTIONS[key])
    _sync_array(doc, "objective", d["objective"])
    _sync_array(doc, "parameter", d["parameter"])


def _fresh_document(study: Study) -> tomlkit.TOMLDocument:
    doc = tomlkit.document()
    doc.add(
        tomlkit.comment(
            "OmniOpt Desktop study file. Edit by hand or in the app; comments are kept."
        )
    )
    doc.add(
        tomlkit.comment("Placeholders in [program] command: %(name) or ($name), one per parameter.")
    )
    d = study.to_dict()
    doc["schema_version"] = SCHEMA_VERSION
    doc.add(tomlkit.nl())
    for key in ("study", "objective", "program", "parameter", "constraints", "resources"):
        if key in ARRAY_SECTIONS:
            aot = tomlkit.aot()
            for entry in d[key]:
                aot.append(_new_table(entry, SECTIONS[key]))
            doc[key] = aot
        elif key != "constraints" or d[key]["rules"]:
            doc[key] = _new_table(d[key], SECTIONS[key])
    return doc


def dumps_study(study: Union[Study, LoadedStudy]) -> str:
    if isinstance(study, LoadedStudy) and study.document is not None:
        _sync_document(study.document, study.study)
        return tomlkit.dumps(study.document)
    model = study.study if isinstance(study, LoadedStudy) else study
    return tomlkit.dumps(_fresh_document(model))


def save_study(
    study: Union[Study, LoadedStudy], path: Optional[Union[str, os.PathLike[str]]] = None
) -> str:
    """Write atomically (temp file + rename); returns the path written."""
    if path is None:
        if not isinstance(study, LoadedStudy) or not study.path:
            raise StudyFileError("no file name to save the study to; choose one with Save As")
        path = study.path
    path = os.fspath(path)
    text = dumps_study(study)
    write_atomic(path, lambda f: f.write(text), sync=True, new_mode=0o644)
    if isinstance(study, LoadedStudy):
        study.path = path
        study.locator = Locator(text)
        if study.document is None:
            study.document = tomlkit.parse(text)
    return path


def _utf16_text(raw: bytes) -> bool:
    try:
        text = raw.decode("utf-16")
    except UnicodeDecodeError:
        return False
    return ("=" in text or "[" in text) and all(c.isprintable() or c in "\r\n\t" for c in text)
