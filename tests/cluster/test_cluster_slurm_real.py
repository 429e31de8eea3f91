"""SlurmClient against the real single-node SLURM started by the fixture (as root, locally)."""

from __future__ import annotations

import os
import stat
import time

import pytest

from omniopt_desktop.cluster.commands import LocalRunner
from omniopt_desktop.cluster.job_state import JobState
from omniopt_desktop.cluster.slurm import SlurmClient

pytestmark = pytest.mark.slurm


def _client(cluster, env=None):
    return SlurmClient(LocalRunner(env=env or cluster.env), prefix=cluster.shell_prefix)


def _script(tmp_path, name, body, tag):
    path = tmp_path / name
    path.write_text(
        f"#!/bin/bash\n#SBATCH --job-name=oo-{tag}-ctl\n#SBATCH --output={tmp_path}/%j.out\n"
        f"#SBATCH --mem=100M\n{body}\n"
    )
    return str(path)


def _wait_for(client, tag, jid, predicate, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        res = client.poll(tag, [jid])
        job = res.jobs.get(jid)
        if job and predicate(job.state):
            return res
        time.sleep(0.5)
    raise AssertionError(f"job {jid} never reached the state; last {res.jobs}")


def test_fixture_runs_a_trivial_job(slurm_cluster, tmp_path):
    client = _client(slurm_cluster)
    jid = client.submit(_script(tmp_path, "a.sh", "echo hello", "triv"), tag="triv")
    res = _wait_for(client, "triv", jid, lambda s: s.is_finished)
    assert res.jobs[jid].state is JobState.COMPLETED
    assert not res.accounting  # accounting_storage/none: squeue -t all answered
    assert (tmp_path / f"{jid}.out").read_text().strip() == "hello"


def test_cancel_is_seen_as_cancelled(slurm_cluster, tmp_path):
    client = _client(slurm_cluster)
    jid = client.submit(_script(tmp_path, "b.sh", "sleep 300", "canc"), tag="canc")
    _wait_for(client, "canc", jid, lambda s: s is JobState.RUNNING)
    client.cancel([jid])
    res = _wait_for(client, "canc", jid, lambda s: s.is_finished)
    assert res.jobs[jid].state is JobState.CANCELLED


def test_sbatch_that_queues_then_fails_gives_exactly_one_job(slurm_cluster, tmp_path):
    wrapper_dir = tmp_path / "bin"
    wrapper_dir.mkdir()
    wrapper = wrapper_dir / "sbatch"
    wrapper.write_text(
        '#!/bin/sh\n/usr/bin/sbatch "$@" >/dev/null\n'
        "echo 'sbatch: error: Socket timed out on send/recv operation' >&2\nexit 1\n"
    )
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IEXEC)
    env = {**slurm_cluster.env, "PATH": f"{wrapper_dir}:{os.environ['PATH']}"}
    client = _client(slurm_cluster, env)
    jid = client.submit(_script(tmp_path, "c.sh", "sleep 2", "once"), tag="once", settle=0.2)
    jobs = client.find_by_names(["oo-once-ctl"])
    assert [str(j.id.job) for j in jobs] == [jid]


def test_unparsable_answer_shows_raw_text(slurm_cluster, tmp_path):
    wrapper_dir = tmp_path / "bin"
    wrapper_dir.mkdir()
    (wrapper_dir / "sbatch").write_text("#!/bin/sh\necho 'Submitted to the moon'\n")
    (wrapper_dir / "sbatch").chmod(0o755)
    env = {**slurm_cluster.env, "PATH": f"{wrapper_dir}:{os.environ['PATH']}"}
    with pytest.raises(Exception, match="Submitted to the moon"):
        _client(slurm_cluster, env).submit(_script(tmp_path, "d.sh", "true", "moon"), tag="moon")
