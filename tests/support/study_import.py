"""Helpers for the OmniOpt import tests: input files, and 'valid and survives study.toml'."""

from __future__ import annotations

from pathlib import Path

from omniopt_desktop.study.model import Study
from omniopt_desktop.study.toml_io import dumps_study, loads_study
from omniopt_desktop.study.validate import validate

INPUTS = Path(__file__).resolve().parent.parent / "study_import" / "inputs"


def assert_valid_and_round_trips(study: Study) -> None:
    """No validation issue, and writing + reading study.toml gives the same study back."""
    issues = validate(study)
    assert not issues, [str(i) for i in issues]
    loaded = loads_study(dumps_study(study), filename="imported.toml")
    assert not loaded.all_issues(), [str(i) for i in loaded.all_issues()]
    assert loaded.study.to_dict() == study.to_dict()


def param(study: Study, name: str) -> dict:
    p = study.parameter(name)
    assert p is not None, f"no parameter {name!r}; have {[q.name for q in study.parameters]}"
    return p.to_dict()
