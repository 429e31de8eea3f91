"""SlurmClient error paths with a scripted runner (parsing only; the real thing is in *_real)."""

from __future__ import annotations

import pytest

from omniopt_desktop.cluster.commands import CommandResult
from omniopt_desktop.cluster.job_state import JobState, PollFailed
from omniopt_desktop.cluster.slurm import (
    JobWatcher,
    SlurmClient,
    jobs_probe_command,
    parse_jobs_probe,
    parse_sbatch_answer,
    split_sections,
)
from omniopt_desktop.errors import ClusterError, CommandTimedOut


class ScriptedRunner:
    host = "scripted"

    def __init__(self, answers):
        self.answers = list(answers)
        self.commands = []

    def run(self, command, *, timeout=60.0, input=None, check=False):
        self.commands.append(command)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        out, err, rc = answer
        return CommandResult(command, out, err, rc, 0.01, host=self.host)


def _r(out="", err="", rc=0):
    return CommandResult("x", out, err, rc, 0.0)


def test_parsable_answer():
    assert parse_sbatch_answer(_r("4711\n")) == "4711"
    assert parse_sbatch_answer(_r("4711;cluster2\n")) == "4711"


def test_unparsable_answer_is_an_error_with_the_raw_text():
    with pytest.raises(ClusterError, match="Submitted batch job 12 on a weird day"):
        parse_sbatch_answer(_r("Submitted batch job 12 on a weird day\n"))


def test_failed_sbatch_that_queued_anyway_is_not_resubmitted():
    runner = ScriptedRunner(
        [
            ("", "sbatch: error: Socket timed out on send/recv operation", 1),
            ("55|PENDING|None|oo-t-ctl\n", "", 0),
        ]
    )
    assert SlurmClient(runner).submit("/r/ctl.sh", tag="t", settle=0) == "55"
    assert sum(c.startswith("sbatch") for c in runner.commands) == 1


def test_timed_out_sbatch_is_looked_up_then_retried():
    timeout = CommandTimedOut("timed out", None)
    runner = ScriptedRunner([timeout, ("", "", 0), ("", "", 0), ("", "", 0), ("77\n", "", 0)])
    assert SlurmClient(runner).submit("/r/ctl.sh", tag="t", settle=0) == "77"
    assert sum(c.startswith("sbatch") for c in runner.commands) == 2


def test_refused_sbatch_is_a_clear_error():
    runner = ScriptedRunner(
        [("", "sbatch: error: invalid partition specified: gpu9", 1)] + [("", "", 0)] * 3
    )
    with pytest.raises(ClusterError, match="invalid partition specified: gpu9"):
        SlurmClient(runner).submit("/r/ctl.sh", tag="t", settle=0)


def test_prefix_runs_before_each_command():
    runner = ScriptedRunner([("1\n", "", 0)])
    SlurmClient(runner, prefix="module load slurm").submit("/r/c.sh", tag="t")
    assert runner.commands[0].startswith("module load slurm\nsbatch --parsable ")


def _probe(squeue, sacct, sq_rc=0, sa_rc=0):
    text = f"@@oo-section squeue\n{squeue}@@oo-section-rc {sq_rc}\n"
    if sacct is not None:
        text += f"@@oo-section sacct\n{sacct}@@oo-section-rc {sa_rc}\n"
    return split_sections(text)


def test_probe_uses_sacct_and_squeue():
    sections = _probe("12_3|RUNNING|None|oo-t-wrk\n", "11|oo-t-ctl|CANCELLED by 0|0:15\n")
    res = parse_jobs_probe(sections, ["11"])
    assert res.accounting and res.jobs["11"].state is JobState.CANCELLED
    assert res.jobs["12_3"].state is JobState.RUNNING


def test_probe_without_accounting_marks_forgotten_jobs_unknown_not_finished():
    sections = _probe("", "Slurm accounting storage is disabled\n", sa_rc=1)
    res = parse_jobs_probe(sections, ["11"])
    assert not res.accounting
    assert res.jobs["11"].state is JobState.UNKNOWN and not res.jobs["11"].state.is_finished


def test_probe_failure_raises_poll_failed():
    with pytest.raises(PollFailed, match="Socket timed out"):
        parse_jobs_probe(
            _probe("squeue: error: Socket timed out on send/recv operation\n", None, sq_rc=1)
        )


def test_probe_command_filters_by_names_and_ids():
    cmd = jobs_probe_command("t", ["11", "12"])
    assert "-n oo-t-ctl,oo-t-wrk" in cmd and "sacct -j 11,12 --parsable2" in cmd


def test_watcher_reports_stale_states_and_backs_off():
    good = "@@oo-section squeue\n11|RUNNING|None|oo-t-ctl\n@@oo-section-rc 0\n"
    runner = ScriptedRunner(
        [
            (good, "", 0),
            ("@@oo-section squeue\nsqueue: error: Socket timed out\n@@oo-section-rc 1\n", "", 0),
            CommandTimedOut("no answer", None),
        ]
    )
    w = JobWatcher(SlurmClient(runner), "t", interval=1, max_interval=10)
    first = w.update()
    assert not first.stale and first.jobs["11"].state is JobState.RUNNING
    second = w.update()
    assert second.stale and "Socket timed out" in second.error
    assert second.jobs["11"].state is JobState.RUNNING  # last known, not failed
    third = w.update()
    assert third.stale and w.interval > 2


def test_a_forgotten_controller_counts_as_gone_not_finished():
    from omniopt_desktop.cluster.registry import RunRecord
    from omniopt_desktop.cluster.runs import ClusterProfile, ClusterRuns

    answer = (
        "@@oo-section squeue\n@@oo-section-rc 0\n"
        "@@oo-section sacct\nSlurm accounting storage is disabled\n@@oo-section-rc 1\n"
        '@@oo-section study\n{"controller": {"state": "running"}, "counts": {}}\n@@oo-section-rc 0\n'
    )
    runner = ScriptedRunner([(answer, "", 0)])
    record = RunRecord("r1", "h", "/r/r1", "r1", "s", job_ids=("11",))
    st = ClusterRuns(runner, ClusterProfile("h"), registry=None).status(record)
    assert not st.stale and st.controller_gone and st.finished
    assert st.jobs.jobs["11"].state is JobState.UNKNOWN


def test_a_stale_poll_is_never_finished():
    from omniopt_desktop.cluster.registry import RunRecord
    from omniopt_desktop.cluster.runs import ClusterProfile, ClusterRuns

    answer = (
        "@@oo-section squeue\nsqueue: error: Socket timed out on send/recv operation\n"
        '@@oo-section-rc 1\n@@oo-section study\n{"controller": {"state": "done"}}\n'
        "@@oo-section-rc 0\n"
    )
    runner = ScriptedRunner([(answer, "", 0), CommandTimedOut("no answer", None)])
    record = RunRecord("r1", "h", "/r/r1", "r1", "s", job_ids=("11",))
    runs = ClusterRuns(runner, ClusterProfile("h"), registry=None)
    st = runs.status(record)
    assert st.stale and "Socket timed out" in st.error and not st.finished
    st = runs.status(record)
    assert st.stale and not st.finished


def test_run_monitor_asks_only_for_news_and_keeps_states_when_stale():
    from omniopt_desktop.cluster.registry import RunRecord
    from omniopt_desktop.cluster.runs import ClusterProfile, ClusterRuns, RunMonitor

    def answer(trials, state="running"):
        import json

        study = {"controller": {"state": state}, "counts": {"COMPLETE": 1}, "trials": trials}
        return (
            "@@oo-section squeue\n11|RUNNING|None|oo-r1-ctl\n@@oo-section-rc 0\n"
            f"@@oo-section study\n{json.dumps(study)}\n@@oo-section-rc 0\n",
            "",
            0,
        )

    runner = ScriptedRunner(
        [
            answer([{"number": 0, "state": "COMPLETE"}, {"number": 1, "state": "RUNNING"}]),
            CommandTimedOut("no answer", None),
            answer([{"number": 1, "state": "COMPLETE"}, {"number": 2, "state": "RUNNING"}]),
        ]
    )
    record = RunRecord("r1", "h", "/r/r1", "r1", "s", job_ids=("11",))
    mon = RunMonitor(ClusterRuns(runner, ClusterProfile("h"), registry=None), record, interval=1)
    mon.poll()
    assert mon.last_number == 1
    stale = mon.poll()
    assert stale.stale and stale.controller_state == "running" and mon.interval == 2
    assert stale.jobs.jobs["11"].state is JobState.RUNNING  # last known, not finished
    mon.poll()
    assert "--since 1 --refresh 1" in runner.commands[2]  # news only, plus the unfinished one
    assert [t["state"] for t in mon.all_trials()] == ["COMPLETE", "COMPLETE", "RUNNING"]
    assert mon.interval == 1
