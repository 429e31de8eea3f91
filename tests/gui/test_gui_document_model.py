"""StudyDocument: the Qt-free editing model behind the study editor (no display needed)."""

from __future__ import annotations

import random
import shlex
import subprocess
import sys

import pytest

from omniopt_desktop.errors import OmniOptError
from omniopt_desktop.study.document import (
    ChangeKind,
    StudyDocument,
    preview_command,
    sample_values,
)
from omniopt_desktop.study.model import Direction, Parameter, ParamType
from omniopt_desktop.study.toml_io import load_study
from omniopt_desktop.study.validate import validate

COMMENTED = """\
# my study, with comments that must survive
schema_version = 1

[study]
name = "demo"   # the name
n_trials = 20

[[objective]]
name = "loss"
direction = "minimize"

[program]
command = "python3 train.py --lr %(lr) --opt %(opt)"

# learning rate
[[parameter]]
name = "lr"
type = "float"
low = 0.0001
high = 0.1
log = true

[[parameter]]
name = "opt"
type = "choice"
values = ["adam", "sgd"]
"""


def test_imports_without_qt():
    code = (
        "import sys\n"
        "sys.modules['PySide6'] = None\n"
        "import omniopt_desktop.study.document as d\n"
        "d.StudyDocument.new().set(('study', 'name'), 'x')\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_edits_announce_mark_dirty_and_revalidate():
    doc = StudyDocument.from_text(COMMENTED)
    seen = []
    doc.subscribe(seen.append)
    assert not doc.dirty and doc.is_valid
    doc.set(("parameter", 0, "low"), 0.5)
    kinds = [c.kind for c in seen]
    assert ChangeKind.EDITED in kinds and ChangeKind.DIRTY_CHANGED in kinds
    assert ChangeKind.ISSUES_CHANGED in kinds
    assert doc.dirty
    [issue] = doc.issues_at(("parameter", 0, "low"))
    # the same message the CLI prints
    assert issue.message in [i.message for i in validate(doc.study)]
    assert "low (0.5) must be below high (0.1)" in issue.message
    assert not doc.is_valid
    doc.set(("parameter", 0, "low"), 0.0001)
    assert doc.is_valid
    assert not doc.dirty  # back to the saved state


def test_setting_the_same_value_announces_nothing():
    doc = StudyDocument.from_text(COMMENTED)
    seen = []
    doc.subscribe(seen.append)
    doc.set(("study", "name"), "demo")
    assert seen == []


def test_unsubscribe():
    doc = StudyDocument.new()
    seen = []
    stop = doc.subscribe(seen.append)
    stop()
    doc.set(("study", "name"), "other")
    assert seen == []


def test_parameter_list_operations():
    doc = StudyDocument.new()
    doc.set(("parameter", 0, "name"), "a")
    i = doc.add_parameter()
    assert doc.study.parameters[i].name == "x"
    j = doc.duplicate_parameter(0)
    assert j == 1 and doc.study.parameters[1].name == "a_copy"
    assert doc.study.parameters[1] is not doc.study.parameters[0]
    doc.move_parameter(2, 0)
    assert [p.name for p in doc.study.parameters] == ["x", "a", "a_copy"]
    doc.remove_parameter(1)
    assert [p.name for p in doc.study.parameters] == ["x", "a_copy"]
    doc.set(("parameter", 1, "type"), "choice")
    assert doc.study.parameters[1].type is ParamType.CHOICE
    assert doc.issues_at(("parameter", 1, "values"))
    doc.set(("parameter", 1, "values"), ["u", 3, 2.5, True])
    assert not doc.issues_at(("parameter", 1), prefix=True)


def test_objectives_and_constraints():
    doc = StudyDocument.new()
    doc.add_objective()
    assert [o.name for o in doc.study.objectives] == ["RESULT", "RESULT_2"]
    doc.set(("objective", 1, "direction"), "maximize")
    assert doc.study.objectives[1].direction is Direction.MAXIMIZE
    assert doc.study.is_multi_objective
    doc.remove_objective(1)
    k = doc.add_constraint("x <")
    assert doc.issues_at(("constraints", "rules", k))
    doc.set(("constraints", "rules", k), "x < 3")
    assert not doc.issues_at(("constraints",), prefix=True)
    doc.remove_constraint(k)
    assert doc.study.constraints == []


def test_unknown_field_is_refused():
    doc = StudyDocument.new()
    with pytest.raises(KeyError):
        doc.set(("study", "bogus"), 1)
    with pytest.raises(KeyError):
        doc.set(("parameter", 7, "low"), 1)


def test_save_keeps_comments_and_reloads_equal(tmp_path):
    path = tmp_path / "study.toml"
    path.write_text(COMMENTED)
    doc = StudyDocument.open(str(path))
    doc.set(("study", "n_trials"), 42)
    doc.add_parameter(Parameter("layers", ParamType.INT, low=1, high=4))
    seen = []
    doc.subscribe(seen.append)
    doc.save()
    assert not doc.dirty and ChangeKind.SAVED in [c.kind for c in seen]
    text = path.read_text()
    assert "# my study, with comments that must survive" in text
    assert "# learning rate" in text and "# the name" in text
    again = load_study(str(path)).study
    assert again.to_dict() == doc.study.to_dict()
    assert again.n_trials == 42 and again.parameters[-1].name == "layers"


def test_new_document_needs_a_path_then_saves(tmp_path):
    doc = StudyDocument.new()
    with pytest.raises(OmniOptError):
        doc.save()
    target = doc.save(str(tmp_path / "new.toml"))
    assert doc.path == target and doc.display_name == "new.toml"
    assert load_study(target).study.to_dict() == doc.study.to_dict()


def test_reading_issue_kept_until_its_field_is_edited():
    text = COMMENTED.replace("n_trials = 20", 'n_trials = "many"')
    doc = StudyDocument.from_text(text)
    assert doc.issues_at(("study", "n_trials"))
    doc.set(("study", "n_trials"), 5)
    assert not doc.issues_at(("study", "n_trials"))


def test_sampled_preview_is_exactly_the_rendered_command():
    doc = StudyDocument.from_text(COMMENTED)
    values = sample_values(doc.study, random.Random(1))
    assert 0.0001 <= values["lr"] <= 0.1 and values["opt"] in ("adam", "sgd")
    cmd = preview_command(doc.study, values)
    assert shlex.split(cmd)[:3] == ["python3", "train.py", "--lr"]
    assert shlex.split(cmd)[3] == repr(values["lr"])


def test_sampling_respects_step_int_and_when():
    doc = StudyDocument.new()
    s = doc.study
    s.parameters = [
        Parameter("n", ParamType.INT, low=1, high=9, step=2),
        Parameter("opt", ParamType.CHOICE, values=["sgd", "adam"]),
        Parameter("momentum", ParamType.FLOAT, low=0.0, high=1.0, when="opt == 'sgd'"),
        Parameter("tag", ParamType.FIXED, value="a b; rm -rf ~"),
    ]
    s.program.command = "prog %(n) %(momentum) %(tag)"
    rng = random.Random(0)
    for _ in range(50):
        v = sample_values(s, rng)
        assert v["n"] in (1, 3, 5, 7, 9) and isinstance(v["n"], int)
        assert ("momentum" in v) == (v["opt"] == "sgd")
        cmd = preview_command(s, v)
        assert shlex.split(cmd)[-1] == "a b; rm -rf ~"
        if "momentum" not in v:
            assert "''" in cmd


def test_edits_made_while_saving_keep_the_document_dirty(tmp_path):
    doc = StudyDocument.new()
    pending = doc.begin_save(str(tmp_path / "a.toml"))
    doc.set(("study", "name"), "changed_meanwhile")
    pending.write()  # e.g. on a worker thread
    doc.finish_save(pending)
    assert doc.dirty and doc.path == str(tmp_path / "a.toml")
    assert load_study(doc.path).study.name != "changed_meanwhile"


def test_unwritable_target_is_one_line_study_file_error(tmp_path):
    from omniopt_desktop.errors import StudyFileError

    doc = StudyDocument.new()
    with pytest.raises(StudyFileError) as e:
        doc.save(str(tmp_path / "missing-folder" / "s.toml"))
    assert "cannot be saved" in str(e.value) and "\n" not in str(e.value)
    assert doc.dirty is False and doc.path is None


def test_an_imported_study_counts_as_unsaved():
    doc = StudyDocument.new(StudyDocument.new().study.copy(), unsaved=True)
    assert doc.dirty
