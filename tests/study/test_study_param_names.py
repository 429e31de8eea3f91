"""Parameter names that cannot be placeholders: the error says why and proposes a plain name."""

from __future__ import annotations

import pytest

from omniopt_desktop.study.toml_io import loads_study

TEXT = """[study]
name = "s"
[program]
command = "./run"
[[parameter]]
name = "{name}"
type = "float"
low = 0
high = 1
"""


def messages(name: str) -> list[str]:
    return [str(i) for i in loads_study(TEXT.format(name=name), "study.toml").all_issues()]


@pytest.mark.parametrize(
    "name, proposal",
    [("my-param", "my_param"), ("learning rate", "learning_rate"), ("2nd", "_2nd")],
)
def test_bad_name_gets_a_proposal(name, proposal):
    (msg,) = messages(name)
    assert msg.startswith(f"study.toml:6: parameter '{name}': name must start with a letter")
    assert "OMNIOPT_PARAM_name" in msg
    assert msg.endswith(f"; e.g. '{proposal}'")


def test_unicode_letter_is_explained_as_not_ascii():
    (msg,) = messages("α")
    assert "(ASCII: it becomes %(name) and OMNIOPT_PARAM_name)" in msg
    assert "e.g." not in msg  # '_' alone is no name worth proposing
