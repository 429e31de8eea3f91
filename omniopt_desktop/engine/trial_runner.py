"""One trial of a worker: ask → budget check → sample → fill the command → run the program under
a lease → parse its output → record and tell.

Per trial it writes ``trials/<n>/{command.txt,stdout.txt,stderr.txt,status.json}`` and the user
attrs of ``study.trial_attrs``. A trial that breaks a constraint is not run: it is told PRUNED
with its constraint values set (TPE learns from infeasible trials) and ``oo_constraint``.

Python 3.9+, optuna + stdlib.
"""

from __future__ import annotations

import logging
import math
import os
from typing import Any, Callable, Dict, List, Optional

from ..errors import OmniOptError
from ..study import run_layout as L
from ..study import trial_attrs as A
from ..study.template import parameter_env, render_command
from .budget import is_surplus, release
from .finish import clean_attrs, finish_fast
from .frozen import write_json_atomic
from .leases import LeaseKeeper, clear_current, write_current
from .param_batch import batched_params
from .program import read_capped, run_program
from .results import Outcome, classify, parse_output, tail
from .retries import with_retries
from .space import SearchSpace
from .trial_cache import held_reads
from .user_attrs import drop_deferred, set_user_attrs

log = logging.getLogger("omniopt.worker")


class TrialRunner:
    """Runs one trial after another of ``study`` for one worker (see :meth:`one_trial`);
    ``last_fail_reason`` is the reason of its last failed trial."""

    def __init__(
        self,
        run_dir: str,
        model: Any,
        storage: Any,
        study: Any,
        space: SearchSpace,
        cwd: str,
        worker_id: str,
        host: str,
        cfg: Any,  # WorkerConfig: lease_ttl, lease_interval, kill_grace
        should_stop: Callable[[], bool],
    ) -> None:
        self.run_dir = run_dir
        self.model = model
        self.storage = storage
        self.study = study
        self.space = space
        self.names = [o.name for o in model.objectives]
        self.cwd = cwd
        self.worker_id = worker_id
        self.host = host
        self.cfg = cfg
        self._should_stop = should_stop
        self.last_fail_reason = ""

    def one_trial(self) -> str:
        """Ask, run and tell one trial: "COMPLETE", "FAIL", "INFEASIBLE" or "SURPLUS"."""
        with held_reads(self.storage):  # the ask uses the read of counts(), made just before
            trial = with_retries(self.study.ask)
        if is_surplus(self.storage, self.study._study_id, trial.number, self.model.n_trials):
            release(self.storage, trial._trial_id)
            log.info("trial %d not run: the budget is taken by other workers", trial.number)
            return "SURPLUS"
        keeper = LeaseKeeper(
            self.storage,
            trial._trial_id,
            self.worker_id,
            self.host,
            self.cfg.lease_ttl,
            self.cfg.lease_interval,
            on_error=lambda e: log.warning("lease renewal failed: %s", e),
        ).start()
        try:
            return self._run_trial(trial, keeper)
        finally:
            keeper.stop()
            clear_current(self.run_dir, self.worker_id)

    def _run_trial(self, trial: Any, keeper: LeaseKeeper) -> str:
        from optuna.trial import TrialState

        number = trial.number
        tdir = L.trial_dir(self.run_dir, number)
        os.makedirs(tdir, exist_ok=True)
        rel_dir = os.path.relpath(tdir, self.run_dir)
        attrs: Dict[str, Any] = {
            A.HOSTNAME: self.host,
            A.WORKER: self.worker_id,
            A.TRIAL_DIR: rel_dir,
        }
        try:
            with held_reads(self.storage), batched_params(self.storage):
                values = self.space.suggest(trial)
            broken = self.space.violations(values)
            if self.space.rules:
                self.space.record_constraints(trial, broken)
        except (OmniOptError, ValueError, TypeError) as e:
            return self._finish(
                trial, tdir, attrs, None, Outcome(None, None, f"cannot sample: {e}")
            )
        if broken:
            rules = "; ".join(text for _, text in broken)
            attrs[A.CONSTRAINT_VIOLATION] = rules
            attrs[A.FAIL_REASON] = f"not run: constraint violated: {rules}"
            self._write_status(tdir, number, values, None, attrs, "PRUNED")
            if not finish_fast(self.study, trial, attrs, None, TrialState.PRUNED):
                self._set_attrs(trial, attrs)
                self._tell(trial, None, TrialState.PRUNED)
            return "INFEASIBLE"
        try:
            command = render_command(self.model.program.command, values, known=self.space.names)
        except OmniOptError as e:
            return self._finish(trial, tdir, attrs, values, Outcome(None, None, str(e)))
        with open(os.path.join(tdir, A.CMD_FILE), "w") as f:
            f.write(command + "\n")
        env = dict(os.environ)
        env.update(parameter_env(values))
        env["OMNIOPT_TRIAL_NUMBER"] = str(number)
        env["OMNIOPT_TRIAL_DIR"] = tdir
        env["OMNIOPT_RUN_DIR"] = self.run_dir
        attrs[A.COMMAND] = command
        if self._should_stop():
            return self._finish(trial, tdir, attrs, values, Outcome(None, None, "interrupted"))
        stdout_path = os.path.join(tdir, A.STDOUT_FILE)
        stderr_path = os.path.join(tdir, A.STDERR_FILE)
        run = run_program(
            command,
            cwd=self.cwd,
            env=env,
            stdout_path=stdout_path,
            stderr_path=stderr_path,
            timeout=self.model.program.timeout_seconds(),
            should_stop=self._should_stop,
            on_start=lambda pgid: self._started(keeper, number, pgid),
            kill_grace=self.cfg.kill_grace,
        )
        parsed = parse_output(read_capped(stdout_path), self.names)
        outcome = classify(run.run_end(), parsed, self.names, tail(_file_tail(stderr_path)))
        attrs.update(
            {
                A.EXIT_CODE: run.exit_code,
                A.START: run.start,
                A.END: run.end,
                A.RUNTIME: run.duration,
            }
        )
        if run.signal:
            attrs[A.SIGNAL] = run.signal
        for key, value in parsed.info.items():
            attrs[A.INFO_PREFIX + key] = value
        return self._finish(trial, tdir, attrs, values, outcome)

    def _started(self, keeper: LeaseKeeper, number: int, pgid: int) -> None:
        keeper.set_pgid(pgid)
        try:
            write_current(self.run_dir, self.worker_id, number, pgid)
        except OSError as e:
            log.warning("cannot write the current-trial file: %s", e)

    def _finish(
        self, trial: Any, tdir: str, attrs: Dict[str, Any], values: Any, outcome: Outcome
    ) -> str:
        from optuna.trial import TrialState

        if not outcome.ok or outcome.values is None:
            attrs[A.FAIL_REASON] = outcome.reason or "failed"
            state = "FAIL"
        else:
            state = "COMPLETE"
        self._write_status(tdir, trial.number, values, outcome.values, attrs, state)
        if finish_fast(
            self.study,
            trial,
            attrs,
            outcome.values if state == "COMPLETE" else None,
            TrialState.COMPLETE if state == "COMPLETE" else TrialState.FAIL,
        ):
            pass
        elif self._set_attrs(trial, attrs, before_tell=True):
            try:
                if state == "COMPLETE":
                    self._tell(trial, outcome.values, None)
                else:
                    self._tell(trial, None, TrialState.FAIL)
            finally:
                drop_deferred(self.storage)
        log.info(
            "trial %d %s%s", trial.number, state, f": {outcome.reason}" if outcome.reason else ""
        )
        if state == "FAIL":
            self.last_fail_reason = outcome.reason
        return state

    def _set_attrs(self, trial: Any, attrs: Dict[str, Any], before_tell: bool = False) -> bool:
        """False when the trial was finished meanwhile (reaped): nothing more to record."""
        from optuna.exceptions import UpdateFinishedTrialError

        clean = clean_attrs(attrs)
        try:
            set_user_attrs(self.storage, trial._trial_id, clean, before_tell)
        except UpdateFinishedTrialError:
            log.warning(
                "trial %d was already finished by a reaper; result kept on disk only", trial.number
            )
            return False
        return True

    def _tell(self, trial: Any, values: Optional[List[float]], state: Any) -> None:
        from optuna.exceptions import UpdateFinishedTrialError

        try:
            with_retries(self.study.tell, trial, values, state=state, skip_if_finished=True)
        except UpdateFinishedTrialError:
            log.warning(
                "trial %d was already finished by a reaper; late result ignored", trial.number
            )

    def _write_status(
        self,
        tdir: str,
        number: int,
        params: Any,
        values: Optional[List[float]],
        attrs: Dict[str, Any],
        state: str,
    ) -> None:
        status = {"number": number, "state": state, "params": params, "values": values}
        status.update({k[len(A.PREFIX) :]: v for k, v in attrs.items() if k.startswith(A.PREFIX)})
        try:
            write_json_atomic(os.path.join(tdir, A.STATUS_FILE), _jsonable(status))
        except OSError as e:
            log.warning("cannot write status of trial %d: %s", number, e)


def _jsonable(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    return v


def _file_tail(path: str, nbytes: int = 4096) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - nbytes))
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""
