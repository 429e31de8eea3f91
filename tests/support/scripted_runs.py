"""A stand-in for :class:`ClusterRuns` whose ``status`` answers come from a script, for the unit
tests of poll scheduling (back-off, stop when finished). Everything else in those tests is
real: RunMonitor, the GUI poller, the task runner, a run folder read with a local runner."""

from __future__ import annotations

import json
from pathlib import Path

from omniopt_desktop.cluster.commands import LocalRunner
from omniopt_desktop.cluster.job_state import JobId, JobInfo, JobState
from omniopt_desktop.cluster.registry import RunRecord
from omniopt_desktop.cluster.runs import RunStatus
from omniopt_desktop.cluster.slurm import PollResult
from omniopt_desktop.study.model import Parameter, ParamType, Study

TAG = "demo-1"


def job(key: str, state: str, ctl: bool = False) -> JobInfo:
    base, _, task = key.partition("_")
    return JobInfo(
        id=JobId(int(base), int(task) if task.isdigit() else None),
        state=JobState(state),
        raw_state=state,
        name=f"oo-{TAG}-{'ctl' if ctl else 'wrk'}",
        source="squeue",
    )


def trial(number: int, state: str = "COMPLETE", x: float = 0.5) -> dict:
    values = [x * x] if state == "COMPLETE" else None
    return {"number": number, "state": state, "values": values, "params": {"x": x},
            "start": "2026-12-04 18:00:00", "end": None if state == "RUNNING" else "2026-12-04 18:00:05",
            "worker": f"10_{number % 2}"}  # fmt: skip


def status(
    trials=(), controller: str = "running", jobs=None, n_trials: int = 6, counts=None
) -> RunStatus:
    jobs = jobs if jobs is not None else [job("9", "RUNNING", ctl=True), job("10_0", "RUNNING")]
    if counts is None:
        counts = {"COMPLETE": sum(t["state"] == "COMPLETE" for t in trials)}
    study = {"controller": {"state": controller}, "counts": counts, "n_trials": n_trials,
             "trials": list(trials), "best": None}  # fmt: skip
    return RunStatus("demo", PollResult(jobs={j.key: j for j in jobs}), study)


def stale(error: str = "squeue failed: timeout") -> RunStatus:
    return RunStatus("demo", PollResult(stale=True, error=error), {}, True, error)


def finished_status(trials=()) -> RunStatus:
    ended = [job("9", "COMPLETED", ctl=True), job("10_0", "COMPLETED")]
    return status(trials, controller="done", jobs=ended)


class ScriptedRuns:
    """``status`` returns (or raises) the next scripted item; the last one repeats."""

    def __init__(self, script, run_dir: Path | None = None) -> None:
        self.script = list(script)
        self.calls: list[tuple[int, tuple[int, ...]]] = []
        self.runner = LocalRunner()

    def status(self, record, since=-1, refresh=()):
        self.calls.append((since, tuple(refresh)))
        item = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        if isinstance(item, BaseException):
            raise item
        return item


def demo_record(tmp_path: Path) -> RunRecord:
    """A registered-looking run whose folder (here, local) holds the frozen study."""
    run_dir = tmp_path / "run"
    run_dir.mkdir(parents=True, exist_ok=True)
    study = Study(name="demo", n_trials=6, parameters=[Parameter("x", ParamType.FLOAT, -1, 1)])
    (run_dir / "study.json").write_text(json.dumps(study.to_dict()))
    return RunRecord(run_id="demo", host="local", remote_dir=str(run_dir), tag=TAG,
                     study_name="demo", state="submitted")  # fmt: skip
