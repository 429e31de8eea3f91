"""Unknown keys in a study file: the document renames OmniOpt spellings and removes the rest,
so a study can become runnable without a text editor (no field of the editor clears them)."""

from __future__ import annotations

from omniopt_desktop.study.document import StudyDocument
from omniopt_desktop.study.toml_io import load_study
from omniopt_desktop.study.unknown_keys import unknown_key_paths

TEXT = """# my study
[study]
name = "a"
max_eval = 50
num_parallel_jobs = 4
[program]
run_program = "echo RESULT: %(x)"
[[parameter]]
name = "x"
param_type = "range"
min = 0.5
max = 2
colour = "red"
"""


def test_fix_renames_and_removes_then_the_study_is_valid(tmp_path):
    path = tmp_path / "study.toml"
    path.write_text(TEXT)
    doc = StudyDocument.open(str(path))
    assert len(unknown_key_paths(doc)) == 7 and not doc.is_valid
    done = doc.fix_unknown_keys()
    assert "[study] max_eval = 50 → n_trials = 50" in done
    assert "[study] num_parallel_jobs = 4 removed" in done
    assert "[parameter] param_type = 'range' → type = 'float'" in done
    assert "[parameter] colour = 'red' removed" in done
    assert doc.issues == [] and doc.dirty
    assert path.read_text() == TEXT  # nothing written before Save
    doc.save()
    loaded = load_study(str(path))
    assert loaded.all_issues() == []
    s = loaded.study
    assert s.n_trials == 50 and s.program.command == "echo RESULT: %(x)"
    assert (s.parameters[0].low, s.parameters[0].high) == (0.5, 2)
    assert path.read_text().startswith("# my study\n")


def test_a_set_key_is_not_overwritten_by_its_omniopt_spelling(tmp_path):
    path = tmp_path / "study.toml"
    path.write_text(TEXT.replace("max_eval = 50", "max_eval = 50\nn_trials = 7"))
    doc = StudyDocument.open(str(path))
    assert "[study] max_eval = 50 removed" in doc.fix_unknown_keys()
    assert doc.study.n_trials == 7


def test_an_unknown_array_section_is_left_for_the_user(tmp_path):
    path = tmp_path / "study.toml"
    path.write_text(TEXT + '[[parameters]]\nname = "y"\n')
    doc = StudyDocument.open(str(path))
    doc.fix_unknown_keys()
    assert unknown_key_paths(doc) == [("parameters",)]  # its content would be lost


def test_direction_habits_and_typos_keep_their_meaning(tmp_path):
    path = tmp_path / "study.toml"
    path.write_text(
        TEXT.replace("max_eval = 50", "n_trails = 40")
        + '[[objective]]\nname = "ACC"\ngoal = "max"\n'
    )
    doc = StudyDocument.open(str(path))
    done = doc.fix_unknown_keys()
    assert "[study] n_trails = 40 → n_trials = 40" in done
    assert "[objective] goal = 'max' → direction = 'maximize'" in done
    assert doc.study.n_trials == 40 and doc.study.objectives[0].direction.value == "maximize"


def test_a_value_that_fits_no_field_is_kept(tmp_path):
    path = tmp_path / "study.toml"
    path.write_text(TEXT.replace('param_type = "range"', 'param_type = "spline"'))
    doc = StudyDocument.open(str(path))
    assert "[parameter] param_type = 'spline' kept: write type by hand" in doc.fix_unknown_keys()
    assert ("parameter", 0, "param_type") in unknown_key_paths(doc)
