"""What the workstation knows about a cluster run: one poll (:class:`RunStatus`) and the
incremental polling of a run (:class:`RunMonitor`) the GUI monitor and ``status --wait`` use.

A failed poll is *stale*: the last known states are kept and never shown as finished.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from ..errors import OmniOptError
from .registry import RunRecord
from .slurm import PollResult

TERMINAL = ("done", "failed", "stopped")  # controller states that end a run


@dataclass(frozen=True)
class RunStatus:
    """One poll of a run: jobs, study counts, new trials; ``stale`` when SLURM or the study did
    not answer (then the job states are the last known ones, never 'finished')."""

    run_id: str
    jobs: PollResult
    study: dict[str, Any]
    stale: bool = False
    error: str | None = None
    nbytes: int = 0

    @property
    def controller_state(self) -> str:
        return str(self.study.get("controller", {}).get("state", "") or "queued")

    @property
    def reason(self) -> str:
        return str(self.study.get("controller", {}).get("reason", ""))

    @property
    def counts(self) -> dict[str, int]:
        return dict(self.study.get("counts", {}))

    @property
    def trials(self) -> list[dict[str, Any]]:
        return list(self.study.get("trials", []))

    @property
    def finished(self) -> bool:
        """The controller ended and no job of the run is queued or running any more."""
        if self.stale:
            return False
        ended = self.controller_state in TERMINAL or self.controller_gone
        return ended and not self.jobs.active()

    @property
    def controller_gone(self) -> bool:
        """The controller's job is no longer active although it did not record an end."""
        ctl = [j for j in self.jobs.jobs.values() if j.name.endswith("-ctl")]
        return (
            bool(ctl)
            and not any(j.state.is_active for j in ctl)
            and self.controller_state not in TERMINAL
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "run": self.run_id,
            "stale": self.stale,
            "error": self.error,
            "controller": self.study.get("controller", {}),
            "jobs": [
                {
                    "id": j.key,
                    "name": j.name,
                    "state": j.state.value,
                    "raw_state": j.raw_state,
                    "reason": j.reason,
                    "source": j.source,
                }
                for j in self.jobs.jobs.values()
            ],  # fmt: skip
            "accounting": self.jobs.accounting,
            "counts": {},
            "trials": [],
            "best": None,
            **{k: v for k, v in self.study.items() if k != "controller"},
        }


class StatusSource(Protocol):
    """What :class:`RunMonitor` polls (:class:`~.runs.ClusterRuns` or a scripted stand-in)."""

    def status(
        self, record: RunRecord, since: int = -1, refresh: Sequence[int] = ()
    ) -> RunStatus: ...


class RunMonitor:
    """Incremental polling of one run, as the GUI monitor and ``status --wait`` do it.

    Each :meth:`poll` is one remote command asking only for trials numbered above the newest
    one seen, plus those still RUNNING/WAITING here (their state may have changed). A stale
    poll keeps every earlier state and lengthens the interval; a poll with news resets it.
    """

    def __init__(
        self,
        runs: StatusSource,
        record: RunRecord,
        *,
        interval: float = 2.0,
        max_interval: float = 30.0,
    ) -> None:
        self.runs = runs
        self.record = record
        self.base_interval = interval
        self.max_interval = max_interval
        self.interval = interval
        self.trials: dict[int, dict[str, Any]] = {}
        self.last_number = -1
        self.last: RunStatus | None = None

    @property
    def finished(self) -> bool:
        """The last poll saw the run ended (a stale poll never counts as an end)."""
        return self.last is not None and self.last.finished

    def poll(self) -> RunStatus:
        """One status command; a lost connection or a failed command gives a stale status."""
        pending = sorted(n for n, t in self.trials.items() if t["state"] in ("RUNNING", "WAITING"))
        try:
            st = self.runs.status(self.record, since=self.last_number, refresh=pending)
        except (OmniOptError, OSError, EOFError) as e:  # e.g. the SSH connection was lost
            return self.unreachable(str(e) or type(e).__name__)
        if st.stale:
            return self._stale(st)
        news = (
            bool(st.trials)
            or self.last is None
            or ((st.controller_state, st.counts) != (self.last.controller_state, self.last.counts))
        )
        for t in st.trials:
            self.trials[t["number"]] = t
            self.last_number = max(self.last_number, t["number"])
        self.interval = self.base_interval if news else min(self.max_interval, self.interval * 1.5)
        self.last = st
        return st

    def unreachable(self, error: str) -> RunStatus:
        """Record a poll that could not even be made (no connection): stale, backed off."""
        return self._stale(
            RunStatus(self.record.run_id, PollResult(stale=True, error=error), {}, True, error)
        )

    def _stale(self, st: RunStatus) -> RunStatus:
        self.interval = min(self.max_interval, self.interval * 2)
        if self.last is not None:  # keep the last known study, say it is stale
            st = RunStatus(
                st.run_id, replace(self.last.jobs, stale=True), self.last.study, True,
                st.error, st.nbytes,
            )  # fmt: skip
        self.last = st
        return st

    def all_trials(self) -> list[dict[str, Any]]:
        return [self.trials[n] for n in sorted(self.trials)]
