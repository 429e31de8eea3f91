"""A worker's view of the study that costs per change, not per RUNNING trial.

Optuna's cached RDB storage (``_CachedStorage``) keeps finished trials, but re-reads every
unfinished trial — with all its parameters and attributes — on each read of the study, twice per
ask: about 1–2 ms per RUNNING trial per ask on PostgreSQL, the first bottleneck of width
(docs/scaling.md). :class:`IncrementalCache` instead asks the server one light question per read
— state and number of parameters of the trials it holds unfinished, and the ids of new trials —
and loads in full only the trials that are new or whose state or parameter count changed.

Contract (what the worker's sampler needs, and no more): a trial's state and parameters are
never older than the last read of the study; the user and system attributes of an *unfinished*
trial may be (the lease, a pruner's intermediate values). A finished trial is loaded in full
when it finishes. Whoever needs live attributes of RUNNING trials (the reaper reads leases) uses
:func:`fresh_trials`. ``get_trial`` of an unfinished trial is one statement (joined load).

:mod:`.journal_tally` gives the same per-change cost to the counts a worker takes on a journal
file (by state, and "claimed before" for the budget), which otherwise loop over the whole study.

Python 3.9+, optuna (+ SQLAlchemy, its dependency) + stdlib. Uses Optuna internals that have
been stable for years (``_CachedStorage``, ``RDBStorage._get_trials``, the RDB models and the
journal's replay result); :func:`incremental_cache` returns None where they are missing, and
the caller keeps Optuna's own cache.
"""

from __future__ import annotations

import contextlib
import copy
import os
import time
import uuid
from typing import Any, Container, Dict, Iterator, List, Optional, Set, Tuple

from optuna.trial import TrialState

ENV = "OMNIOPT_WORKER_CACHE"


def level() -> int:
    """``OMNIOPT_WORKER_CACHE``: 0 = Optuna's own caches and writes; 1 = this module's caches
    and the batched parameter writes; 2 (the default) = also the hot path of
    :mod:`.rdb_fast` on PostgreSQL. For side-by-side comparisons."""
    text = os.environ.get(ENV, "2").strip().lower()
    if text in ("0", "off", "no"):
        return 0
    return 1 if text == "1" else 2


def enabled() -> bool:
    """False when ``OMNIOPT_WORKER_CACHE=0`` (see :func:`level`)."""
    return level() >= 1


@contextlib.contextmanager
def held_reads(storage: Any) -> Iterator[None]:
    """Inside: one read of the study at most (none if one was made just before), however often
    Optuna reads it (an ask reads it twice: the WAITING pop and the sampler). Only with the
    PostgreSQL hot path (:mod:`.rdb_fast`, level 2); elsewhere nothing."""
    inner = getattr(storage, "inner", storage)
    if not getattr(inner, "oo_fast", False):
        yield
        return
    inner._oo_hold = time.monotonic() - inner._oo_last_read < HOLD_FRESH
    inner._oo_holding = True
    try:
        yield
    finally:
        inner._oo_holding = inner._oo_hold = False
        inner._oo_fresh = None


def incremental_cache(backend: Any) -> Optional[Any]:
    """An :class:`IncrementalCache` over Optuna's ``RDBStorage`` ``backend`` (None if this
    Optuna lacks the internals it needs)."""
    cls = _cache_class() if enabled() else None
    return None if cls is None else cls(backend)


def fresh_trials(storage: Any, study_id: int, states: Optional[Container[Any]] = None) -> List[Any]:
    """All trials of the study (in ``states``) with live attributes, past any cache."""
    inner = getattr(storage, "inner", storage)
    backend = getattr(inner, "_backend", None)
    if getattr(inner, "oo_incremental", False) and backend is not None:
        from .retries import with_retries

        return with_retries(backend.get_all_trials, study_id, deepcopy=False, states=states)
    return storage.get_all_trials(study_id, deepcopy=False, states=states)


_CLASS: Any = None
HOLD_FRESH = 1.0  # s: a read this recent serves the whole ask (see held_reads)
FEW = 2  # up to this many trials are loaded with one joined query, more with Optuna's loader
# (a joined load multiplies attrs by params: cheap for the own trial, not for many)


def _cache_class() -> Any:
    global _CLASS
    if _CLASS is not None:
        return _CLASS
    try:
        from optuna.storages._cached_storage import _CachedStorage, _StudyInfo
        from optuna.storages._rdb import models
        from optuna.storages._rdb.storage import _create_scoped_session
        from optuna.trial import FrozenTrial
        from sqlalchemy import func, or_, select
        from sqlalchemy.orm import joinedload

        from . import rdb_fast
        from .rdb_rows import RowLoader
    except ImportError:
        return None
    needed = ("_read_trials_from_remote_storage", "_add_trials_to_cache", "_get_cached_trial")
    if not all(hasattr(_CachedStorage, a) for a in needed):
        return None

    T, P = models.TrialModel, models.TrialParamModel

    def joined(session: Any) -> Any:
        return session.query(T).options(
            joinedload(T.params),
            joinedload(T.values),
            joinedload(T.user_attributes),
            joinedload(T.system_attributes),
            joinedload(T.intermediate_values),
        )

    class IncrementalCache(_CachedStorage):  # type: ignore[misc,valid-type]
        """See the module docstring."""

        oo_incremental = True

        def __init__(self, backend: Any) -> None:
            super().__init__(backend)
            # per study: unfinished trial id -> (state, parameter count) as last loaded
            self._oo_unfinished: Dict[int, Dict[int, Tuple[Any, int]]] = {}
            # per study: highest id of a finished trial loaded (as Optuna's cache: a trial
            # numbered below a finished one has been committed, trial creation is serialised)
            self._oo_top: Dict[int, int] = {}
            self._oo_list: Dict[int, List[Any]] = {}  # per study: trial k at index k
            self.oo_reads = 0  # trials loaded in full (for the tests and the bench)
            # per study: ids of finished trials loaded, and their number per state name
            self._oo_done_ids: Dict[int, Set[int]] = {}
            self._oo_done: Dict[int, Dict[str, int]] = {}
            self._oo_last_read = -1e9
            self._oo_hold = self._oo_holding = False
            self._oo_fresh: Optional[int] = None  # a trial just created here, untouched
            self._oo_pending: Optional[Tuple[int, str]] = None  # a creation that failed
            self.oo_fast = rdb_fast.usable(backend)
            self._oo_rows = RowLoader(backend) if self.oo_fast else None

        def _add_trials_to_cache(self, study_id: int, trials: List[Any]) -> None:
            super()._add_trials_to_cache(study_id, trials)
            lst = self._oo_list.setdefault(study_id, [])
            by_number = self._studies[study_id].trials
            for t in trials:
                if t.number < len(lst):
                    lst[t.number] = t
                elif t.number == len(lst):
                    lst.append(t)
                # else a gap: a trial this worker created while others' newer trials are not
                # read yet; it joins the list when they do (the list stays trial k at index k)
            while len(lst) in by_number:
                lst.append(by_number[len(lst)])

        def get_all_trials(
            self, study_id: int, deepcopy: bool = True, states: Optional[Container[Any]] = None
        ) -> List[Any]:
            """As Optuna's, without sorting the whole study on each call; a question for
            unfinished states only looks at the unfinished trials."""
            self._read_trials_from_remote_storage(study_id)
            with self._lock:
                lst = self._oo_list.get(study_id, [])
                if states is None:
                    out = list(lst)
                elif not any(s in states for s in _FINISHED):
                    by_id = self._trial_id_to_study_id_and_number
                    numbers = sorted(by_id[tid][1] for tid in self._oo_unfinished[study_id])
                    every = self._studies[study_id].trials
                    out = [every[n] for n in numbers if every[n].state in states]
                else:
                    out = [t for t in lst if t.state in states]
            return copy.deepcopy(out) if deepcopy else out

        def _changes(self, study_id: int, top: int, unfinished: Dict[int, Any]) -> Set[int]:
            """Ids of trials unknown or changed since loaded (one light query)."""
            n_params = (
                select(func.count(P.param_id)).where(P.trial_id == T.trial_id).scalar_subquery()
            )
            cond = T.trial_id > top
            old = [tid for tid in unfinished if tid <= top]
            if old:
                cond = or_(cond, T.trial_id.in_(old))
            stmt = select(T.trial_id, T.state, n_params).where(T.study_id == study_id, cond)
            with _create_scoped_session(self._backend.scoped_session) as session:
                rows = session.execute(stmt).all()
            return {tid for tid, st, n in rows if unfinished.get(tid) != (_state(st), int(n))}

        def _load(self, study_id: int, ids: Set[int]) -> List[Any]:
            if len(ids) > FEW:
                return self._backend._get_trials(study_id, None, ids, max(ids))
            with _create_scoped_session(self._backend.scoped_session) as session:
                models_ = joined(session).filter(T.trial_id.in_(list(ids))).all()
                build = self._backend._build_frozen_trial_from_trial_model
                return sorted((build(m) for m in models_), key=lambda t: t._trial_id)

        def _note(self, study_id: int, trials: List[Any]) -> None:
            unfinished = self._oo_unfinished.setdefault(study_id, {})
            top = self._oo_top.get(study_id, -1)
            done_ids = self._oo_done_ids.setdefault(study_id, set())
            done = self._oo_done.setdefault(study_id, {})
            for t in trials:
                if t.state.is_finished():
                    unfinished.pop(t._trial_id, None)
                    top = max(top, t._trial_id)
                    if t._trial_id not in done_ids:
                        done_ids.add(t._trial_id)
                        done[t.state.name] = done.get(t.state.name, 0) + 1
                else:
                    unfinished[t._trial_id] = (t.state, len(t.params))
            self._oo_top[study_id] = top

        def _read_trials_from_remote_storage(self, study_id: int, force: bool = False) -> None:
            with self._lock:
                if study_id not in self._studies:
                    self._studies[study_id] = _StudyInfo()
                known = study_id in self._oo_unfinished
                if known and self._oo_hold and not force:
                    return  # held_reads: this ask's read is made
                if self._oo_holding:
                    self._oo_hold = True
                if self._oo_rows is not None:
                    trials = self._fast_read(study_id, known)
                elif not known:
                    trials = self._backend._get_trials(study_id, None, set(), -1)
                else:
                    unfinished = self._oo_unfinished[study_id]
                    changed = self._changes(study_id, self._oo_top[study_id], unfinished)
                    trials = self._load(study_id, changed) if changed else []
                self._oo_last_read = time.monotonic()
                self.oo_reads += len(trials)
                self._add_trials_to_cache(study_id, trials)
                self._note(study_id, trials)

        def _fast_read(self, study_id: int, known: bool) -> List[Any]:
            """Light question + load of what changed, two statements in autocommit."""
            with rdb_fast.autocommit(self._backend) as conn:
                if not known:
                    return self._oo_rows.load(conn, study_id)
                unfinished = self._oo_unfinished[study_id]
                rows = rdb_fast.light_rows(conn, study_id, self._oo_top[study_id], list(unfinished))
                changed = {
                    tid for tid, _, st, n in rows if unfinished.get(tid) != (_state(st), int(n))
                }
                return self._oo_rows.load(conn, study_id, changed) if changed else []

        # -- the worker's hot path on PostgreSQL (rdb_fast) --------------------------------
        def oo_counts(self, study_id: int) -> Dict[str, int]:
            """Trials per state name, from a fresh read of the study (which the next ask
            then uses, see held_reads)."""
            self._read_trials_from_remote_storage(study_id, force=True)
            with self._lock:
                counts = dict(self._oo_done.get(study_id, {}))
                for st, _ in self._oo_unfinished.get(study_id, {}).values():
                    counts[st.name] = counts.get(st.name, 0) + 1
            return counts

        def oo_claimed_before(self, study_id: int, number: int) -> int:
            """COMPLETE trials plus RUNNING trials numbered below ``number``, live (one
            statement over the trials not known finished)."""
            if study_id not in self._oo_unfinished:
                self._read_trials_from_remote_storage(study_id, force=True)
            with self._lock:
                top, ids = self._oo_top[study_id], list(self._oo_unfinished[study_id])
                done_ids = self._oo_done_ids.get(study_id, set())
                n = self._oo_done.get(study_id, {}).get("COMPLETE", 0)
            with rdb_fast.autocommit(self._backend) as conn:
                rows = rdb_fast.light_rows(conn, study_id, top, ids)
            for tid, num, st, _ in rows:
                st = _state(st)
                if tid not in done_ids and (
                    st == TrialState.COMPLETE or (st == TrialState.RUNNING and num < number)
                ):
                    n += 1
            return n

        def oo_finish(self, trial_id: int, state: Any, values: Any, attrs: Dict[str, Any]) -> None:
            rdb_fast.finish_trial(self._backend, trial_id, state, values, attrs)

        def set_trial_state_values(self, trial_id: int, state: Any, values: Any = None) -> bool:
            """Taking a WAITING trial (Optuna's pop) in one conditional UPDATE: Optuna reads
            the state, then writes it, and on SQLite two workers can both read WAITING and
            both run the trial (its folder then holds the other worker's command)."""
            from optuna.trial import TrialState

            from .retries import with_retries

            if state != TrialState.RUNNING or values is not None:
                return super().set_trial_state_values(trial_id, state, values)
            return with_retries(_take_waiting, self._backend, trial_id)

        def set_trial_system_attr(self, trial_id: int, key: str, value: Any) -> None:
            if not self.oo_fast:
                return super().set_trial_system_attr(trial_id, key, value)
            rdb_fast.set_system_attr(self._backend, trial_id, key, value)

        def create_new_trial(self, study_id: int, template_trial: Any = None) -> int:
            if not self.oo_fast or template_trial is not None:
                return self._create_optuna(study_id, template_trial)
            found = None
            if self._oo_pending is not None and self._oo_pending[0] == study_id:
                # the previous creation failed: did it commit before its answer was lost?
                mark = self._oo_pending[1]
                found = rdb_fast.adopt_created(self._backend, study_id, mark)
                self._oo_pending = None
            if found is not None:
                trial_id, number, start = found
                system = {rdb_fast.CREATED_BY: mark}
            else:
                self._oo_pending = (study_id, uuid.uuid4().hex)
                trial_id, number, start, system = rdb_fast.create_trial(
                    self._backend, study_id, self._oo_pending[1]
                )
                self._oo_pending = None
            frozen = FrozenTrial(
                number=number, state=TrialState.RUNNING, value=None, values=None,
                datetime_start=start, datetime_complete=None, params={}, distributions={},
                user_attrs={}, system_attrs=system, intermediate_values={}, trial_id=trial_id,
            )  # fmt: skip
            with self._lock:
                if study_id not in self._studies:
                    self._studies[study_id] = _StudyInfo()
                self._add_trials_to_cache(study_id, [frozen])
                if study_id in self._oo_unfinished:
                    self._note(study_id, [frozen])
                self._oo_fresh = trial_id
            return trial_id

        def _create_optuna(self, study_id: int, template_trial: Any = None) -> int:
            trial_id = super().create_new_trial(study_id, template_trial)
            with self._lock:
                if study_id in self._oo_unfinished:  # known as created: not loaded again
                    _, number = self._trial_id_to_study_id_and_number[trial_id]
                    self._note(study_id, [self._studies[study_id].trials[number]])
            return trial_id

        def get_trial(self, trial_id: int) -> Any:
            with self._lock:
                trial = self._get_cached_trial(trial_id)
                if trial is not None:
                    return trial
                if trial_id == self._oo_fresh:  # just created here: nothing written to it yet
                    self._oo_fresh = None
                    study_id, number = self._trial_id_to_study_id_and_number[trial_id]
                    return copy.deepcopy(self._studies[study_id].trials[number])
            with _create_scoped_session(self._backend.scoped_session) as session:
                model = joined(session).filter(T.trial_id == trial_id).one_or_none()
                if model is None:
                    return self._backend.get_trial(trial_id)  # Optuna's "not found" error
                return self._backend._build_frozen_trial_from_trial_model(model)

    _CLASS = IncrementalCache
    return _CLASS


_FINISHED = tuple(s for s in TrialState if s.is_finished())


def _take_waiting(backend: Any, trial_id: int) -> bool:
    """WAITING -> RUNNING (start time now) if it is still WAITING; False when another won."""
    import datetime

    from optuna.storages._rdb import models
    from optuna.trial import TrialState

    T = models.TrialModel.__table__
    stmt = (
        T.update()
        .where((T.c.trial_id == trial_id) & (T.c.state == TrialState.WAITING))
        .values(state=TrialState.RUNNING, datetime_start=datetime.datetime.now())
    )
    with backend.engine.begin() as conn:
        return conn.execute(stmt).rowcount == 1


def _state(value: Any) -> Any:
    return value if isinstance(value, TrialState) else TrialState(value)
