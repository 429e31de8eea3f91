"""Partitions from sinfo (recorded and real), and the storage chosen for a remote run folder."""

from __future__ import annotations

import pytest

from omniopt_desktop.cluster.commands import LocalRunner
from omniopt_desktop.cluster.partitions import list_partitions, parse_sinfo
from omniopt_desktop.cluster.runs import storage_for
from omniopt_desktop.errors import ClusterError
from omniopt_desktop.study.model import Study

SINFO = """\
alpha*|up|2-00:00:00|34|48|770000|gpu:a100:8
alpha*|up|2-00:00:00|3|48|770000|gpu:a100:8
romeo|up|7-00:00:00|190|256|505000|(null)
haswell|down|infinite|0|24+|62000|(null)
"""


def test_parse_sinfo():
    parts = parse_sinfo(SINFO)
    assert [p.name for p in parts] == ["alpha", "romeo", "haswell"]
    assert parts[0].default and parts[0].gres == "gpu:a100:8" and parts[0].nodes == 34
    assert not parts[2].available and parts[2].cpus == "24+"
    with pytest.raises(ClusterError, match="unexpected sinfo line"):
        parse_sinfo("garbage\n")


@pytest.mark.slurm
def test_partitions_of_the_real_cluster(slurm_cluster):
    parts = list_partitions(LocalRunner(env=slurm_cluster.env))
    assert [p.name for p in parts] == ["debug"] and parts[0].default and parts[0].available


@pytest.mark.parametrize(
    "storage,fs,expected",
    [
        ("sqlite", "ext2/ext3", "sqlite"),
        ("sqlite", "xfs", "sqlite"),
        ("sqlite", "nfs", "journal"),
        ("sqlite", "lustre", "journal"),
        ("sqlite", "gpfs", "journal"),
        ("sqlite", "beegfs", "journal"),
        ("sqlite", "UNKNOWN (0x19830326)", "journal"),
        ("sqlite", "fuse.beegfs", "journal"),
        ("auto", "ext4", "sqlite"),
        ("auto", "nfs4", "journal"),
        ("journal", "ext4", "journal"),
        ("postgresql://me@db:5432/opt", "nfs", "postgresql://me@db:5432/opt"),
    ],
)
def test_storage_follows_the_remote_filesystem(storage, fs, expected):
    assert storage_for(Study(storage=storage), fs) == expected


def test_study_folder_upload_leaves_out_runs_and_caches(tmp_path):
    from omniopt_desktop.cluster.runs import STUDY_EXCLUDE, study_folder_files
    from omniopt_desktop.cluster.transfer import LocalTransfer

    src = tmp_path / "study"
    for rel in ("study.toml", "prog.sh", "data/in.csv", "runs/old/study.db", "sub/runs/x",
                "__pycache__/a.pyc", ".git/HEAD", "lib/m.pyc", "myruns/keep.txt"):  # fmt: skip
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_text(rel)
    seen = []
    LocalTransfer().upload_tree(
        str(src), str(tmp_path / "dst"), STUDY_EXCLUDE, lambda d, t: seen.append((d, t))
    )
    got = sorted(
        str(p.relative_to(tmp_path / "dst")) for p in (tmp_path / "dst").rglob("*") if p.is_file()
    )
    expected = ["data/in.csv", "myruns/keep.txt", "prog.sh", "study.toml"]
    assert got == expected
    assert (
        sorted(name for name, _ in study_folder_files(str(src))) == expected
    )  # the tar path agrees
    assert seen[-1][0] == seen[-1][1]
