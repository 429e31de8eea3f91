"""Format detection, the result type and the small value helpers of the importers."""

from __future__ import annotations

import base64
import dataclasses

import pytest
from support.study_import import INPUTS

from omniopt_desktop.errors import OmniOptError
from omniopt_desktop.study.importers import (
    ImportResult,
    ImportSourceError,
    SourceKind,
    detect_kind,
    import_text,
)
from omniopt_desktop.study.importers.common import (
    maybe_base64,
    megabytes_text,
    minutes_text,
    safe_name,
    typed_value,
    unquote_placeholders,
)


@pytest.mark.parametrize(
    "name,kind",
    [
        ("omniopt1_all_generators.ini", SourceKind.OMNIOPT1_INI),
        ("omniopt2_command.sh", SourceKind.OMNIOPT2_COMMAND),
        ("omniopt2_with_config.sh", SourceKind.OMNIOPT2_COMMAND),
        ("omniopt2_curl.txt", SourceKind.OMNIOPT2_CURL),
        ("omniopt2_config.toml", SourceKind.OMNIOPT2_TOML),
        ("omniopt2_config.yaml", SourceKind.OMNIOPT2_YAML),
        ("omniopt2_config.json", SourceKind.OMNIOPT2_JSON),
    ],
)
def test_detect_by_content_without_a_file_name(name, kind):
    # pasted text has no name: the content alone decides
    assert detect_kind((INPUTS / name).read_text()) is kind


def test_detect_by_suffix_first_and_unknown_text_is_an_error():
    assert detect_kind("whatever", "x.yml") is SourceKind.OMNIOPT2_YAML
    assert detect_kind("[DATA]\n", "x.txt") is SourceKind.OMNIOPT1_INI
    with pytest.raises(ImportSourceError, match="not an OmniOpt study definition") as e:
        import_text("hello world", "notes.txt")
    assert isinstance(e.value, OmniOptError) and str(e.value).startswith("notes.txt: ")


def test_result_is_frozen_and_kind_is_a_string_enum():
    r = import_text("./omniopt --run_program ./r --parameter x range 0 1")
    assert isinstance(r, ImportResult)
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.study = None  # type: ignore[misc]
    assert r.source_kind == "omniopt2-command" and r.source_kind.label == "OmniOpt2 command line"
    assert isinstance(r.ignored, list) and isinstance(r.approximations, list)


@pytest.mark.parametrize(
    "text,value",
    [
        ("3", 3),
        ("-2", -2),
        ("0.5", 0.5),
        ("01", "01"),
        ("1e-3", "1e-3"),
        ("1.50", "1.50"),
        ("relu", "relu"),
        (" 7 ", 7),
    ],
)
def test_typed_value_keeps_the_exact_text(text, value):
    assert typed_value(text) == value and type(typed_value(text)) is type(value)


def test_maybe_base64_only_decodes_printable_text():
    assert maybe_base64(base64.b64encode(b"echo %(x)").decode()) == "echo %(x)"
    assert maybe_base64("python3 run.py") is None  # not base64
    assert maybe_base64("test") is None  # base64 alphabet, but not UTF-8 text
    assert maybe_base64(base64.b64encode(b"\x00\x01bin").decode()) is None


def test_durations_memory_names_and_quotes():
    assert (minutes_text(30), minutes_text(120), minutes_text(90), minutes_text(1.5)) == (
        "30m",
        "2h",
        "90m",
        "1.5m",
    )
    assert (megabytes_text(4096), megabytes_text(2000), megabytes_text(1536.2)) == (
        "4G",
        "2000M",
        "1537M",
    )
    assert safe_name("9 lives", [], "p") == "_9_lives"
    assert safe_name("x", ["x", "x_2"], "p") == "x_3"
    assert unquote_placeholders("""a '%(x)' "%(y)" 'keep %(z)'""") == "a %(x) %(y) 'keep %(z)'"


def test_kind_may_be_given_as_text_and_bad_input_is_one_clear_error():
    text = (INPUTS / "omniopt2_config.json").read_text()
    assert import_text(text, kind="omniopt2-json").source_kind is SourceKind.OMNIOPT2_JSON
    with pytest.raises(ImportSourceError, match="cannot split this command line"):
        import_text("./omniopt --run_program 'unclosed --parameter x range 0 1")
    with pytest.raises(ImportSourceError, match="no parameters"):
        import_text("hello: world")
