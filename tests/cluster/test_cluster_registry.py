"""The local run registry: atomic JSON under the user data folder, prefixes, updates."""

from __future__ import annotations

import json
import os

import pytest

from omniopt_desktop.cluster.registry import Registry, RunRecord, default_path
from omniopt_desktop.errors import ClusterError


def _rec(run_id, **kw):
    return RunRecord(
        run_id=run_id, host="h", remote_dir=f"/r/{run_id}", tag=run_id, study_name="s", **kw
    )


def test_default_path_is_in_the_user_data_folder():
    assert default_path().startswith(os.environ["XDG_DATA_HOME"])


def test_put_get_update_survive_a_new_instance(tmp_path):
    path = str(tmp_path / "reg" / "runs.json")
    Registry(path).put(_rec("quad-20260101-000000-abcd", job_ids=("5",)))
    Registry(path).put(_rec("quad-20260102-000000-ef01"))
    reg = Registry(path)
    assert reg.get("quad-20260101").job_ids == ("5",)
    reg.update("quad-20260101-000000-abcd", job_ids=("5", "9"), state="submitted")
    again = Registry(path).get("quad-20260101-000000-abcd")
    assert again.job_ids == ("5", "9") and again.state == "submitted"
    assert [r.run_id for r in Registry(path).all()] == [
        "quad-20260101-000000-abcd",
        "quad-20260102-000000-ef01",
    ]
    assert json.loads((tmp_path / "reg" / "runs.json").read_text())["version"] == 1
    assert not [p for p in os.listdir(tmp_path / "reg") if p.startswith(".runs-")]


def test_ambiguous_and_unknown_refs_are_clear_errors(tmp_path):
    reg = Registry(str(tmp_path / "runs.json"))
    reg.put(_rec("quad-1"))
    reg.put(_rec("quad-2"))
    with pytest.raises(ClusterError, match="matches 2 runs"):
        reg.get("quad")
    with pytest.raises(ClusterError, match="no run 'nope'"):
        reg.get("nope")


def test_corrupt_registry_names_the_file(tmp_path):
    path = tmp_path / "runs.json"
    path.write_text("{not json")
    with pytest.raises(ClusterError, match="runs.json"):
        Registry(str(path)).all()
