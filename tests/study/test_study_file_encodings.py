"""Study and OmniOpt files saved by Windows editors: a UTF-8 byte-order mark is read as text
(it was 'not valid TOML: Empty key' on line 1), UTF-16 is named as such."""

from __future__ import annotations

import pytest

from omniopt_desktop.errors import StudyFileError
from omniopt_desktop.study.importers import import_file
from omniopt_desktop.study.toml_io import check_file

STUDY = """[study]
name = "s"
[program]
command = "./run %(x)"
[[parameter]]
name = "x"
type = "float"
low = 0
high = 1
"""

INI = """[DATA]
max_evals = 20
objective_program = python3 run.py ($x_0)
algo_name = tpe.suggest

[DIMENSIONS]
dimensions = 1
dim_0_name = lr
range_generator_0 = hp.uniform
min_dim_0 = 0
max_dim_0 = 1
"""


def test_study_with_utf8_bom_reads(tmp_path):
    f = tmp_path / "study.toml"
    f.write_bytes(b"\xef\xbb\xbf" + STUDY.replace("\n", "\r\n").encode())
    assert check_file(f).study.parameters[0].name == "x"


def test_study_in_utf16_is_named(tmp_path):
    f = tmp_path / "study.toml"
    f.write_bytes(b"\xff\xfe" + STUDY.encode("utf-16-le"))
    with pytest.raises(StudyFileError) as e:
        check_file(f)
    assert str(e.value) == f"{f}: saved as UTF-16; save it as UTF-8 text"


def test_omniopt1_ini_with_utf8_bom_imports(tmp_path):
    f = tmp_path / "config.ini"
    f.write_bytes(b"\xef\xbb\xbf" + INI.encode())
    assert import_file(f).study.parameters[0].name == "lr"
