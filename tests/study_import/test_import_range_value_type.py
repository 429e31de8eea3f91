"""OmniOpt2 'NAME range LOW HIGH TYPE': a TYPE other than int/float is named as such (it was
taken for the next parameter's name: "parameter double: the type is missing")."""

from __future__ import annotations

import pytest

from omniopt_desktop.study.importers import ImportSourceError, import_text

YAML = """\
experiment_name: y
run_program: python3 t.py %(a) %(b)
parameter:
  - param: [a, range, 0, 1, float]
  - param: [b, range, 0, 1, {kind}]
"""


def test_yaml_range_with_unknown_value_type():
    with pytest.raises(ImportSourceError) as e:
        import_text(YAML.format(kind="double"), "c.yaml")
    msg = str(e.value)
    assert "parameter b range: 'double' is neither a value type (int, float)" in msg
    assert "write b range LOW HIGH [int|float] [true|false]" in msg


def test_command_line_range_with_unknown_value_type():
    with pytest.raises(ImportSourceError) as e:
        import_text("./omniopt --run_program eA== --parameter lr range 0 1 integer", "cmd.sh")
    assert "--parameter lr range: 'integer' is neither a value type" in str(e.value)


def test_several_parameters_in_one_option_still_read():
    text = "./omniopt --run_program eA== --parameter a range 0 1 float true b range 0 1 c fixed 3"
    study = import_text(text, "cmd.sh").study
    assert [p.name for p in study.parameters] == ["a", "b", "c"]
