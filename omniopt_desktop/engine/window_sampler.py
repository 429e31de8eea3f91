"""TPE over a bounded window of the study, so that an ask costs the same at 1k and 100k trials.

Optuna's TPE (with constant liar) reads and models every trial of the study on each ask: its
cost grows linearly with the study (about 10 ms at 1,000 trials and 70 ms at 10,000 on this
machine, in memory; more through a storage). :func:`windowed` makes Optuna's
``TPESampler`` (still of that type) model only a representative window of the study:

- the ``best`` best COMPLETE trials (per objective, ``best / n_objectives`` each, for several
  objectives) — TPE's "good" group is at most its ``gamma`` = 25 best trials, so it is unchanged;
- the ``recent`` most recent finished (COMPLETE or PRUNED) trials — the "bad" group stays a
  sample of where the search has been lately, weighted by age as TPE does;
- every RUNNING trial (constant liar: running trials push the others away).

While the study holds at most ``best + recent`` finished trials the window is the whole study,
and the sampler proposes exactly what ``TPESampler`` proposes. The window is built once per
trial from the read of the storage Optuna makes anyway for that ask. ``OMNIOPT_TPE_WINDOW=0`` in the environment turns the
window off (plain TPE, for comparisons); ``OMNIOPT_TPE_WINDOW=BEST,RECENT`` sets its size.

Python 3.9+, optuna + stdlib.
"""

from __future__ import annotations

import copy
import heapq
import math
import os
from typing import Any, Container, List, Optional, Tuple

from optuna.samplers import TPESampler
from optuna.study import StudyDirection
from optuna.trial import TrialState

DEFAULT_BEST = 100
DEFAULT_RECENT = 400
ENV = "OMNIOPT_TPE_WINDOW"


def window_size_from_env(
    default: Tuple[int, int] = (DEFAULT_BEST, DEFAULT_RECENT),
) -> Optional[Tuple[int, int]]:
    """``(best, recent)`` from ``OMNIOPT_TPE_WINDOW`` ("0" → None: no window)."""
    text = os.environ.get(ENV, "").strip()
    if not text:
        return default
    if text in ("0", "off", "none"):
        return None
    try:
        best, recent = (int(x) for x in text.split(","))
    except ValueError:
        return default
    return (max(1, best), max(1, recent))


def select_window(trials: List[Any], directions: List[Any], best: int, recent: int) -> List[Any]:
    """The window (see the module docstring) of ``trials``, in their order. Reference version,
    O(study); :class:`TrialWindow` gives the same window at O(new + running trials) per ask."""
    finished = [t for t in trials if t.state in _MODELLED]
    if len(finished) <= best + recent:
        return [t for t in trials if t.state in _MODELLED or t.state == TrialState.RUNNING]
    keep = {t.number for t in finished[-recent:]}
    per = max(1, math.ceil(best / max(1, len(directions))))
    for i, d in enumerate(directions):
        ok = [t for t in finished if _key(t, i, d) is not None]
        keep.update(t.number for t in heapq.nsmallest(per, ok, key=lambda t: _key(t, i, d)))
    return [t for t in trials if t.state == TrialState.RUNNING or t.number in keep]


_MODELLED = (TrialState.COMPLETE, TrialState.PRUNED)


def _key(t: Any, i: int, direction: Any) -> Optional[Tuple[float, int]]:
    """Sort key of a COMPLETE trial on objective ``i`` (smaller is better), None if it has none."""
    if t.state != TrialState.COMPLETE:
        return None
    values = t.values
    if not values or len(values) <= i or math.isnan(values[i]):
        return None
    v = values[i] if direction == StudyDirection.MINIMIZE else -values[i]
    return (v, t.number)


class TrialWindow:
    """The window, kept up to date incrementally: each :meth:`update` looks only at the trials
    created since the last one and at those that were unfinished then (finished trials never
    change). Relies on trial ``k`` being at index ``k`` of the storage's list, as Optuna's
    storages return it; otherwise it recomputes from scratch."""

    def __init__(self, directions: List[Any], best: int, recent: int) -> None:
        self.directions = list(directions)
        self.best = best
        self.recent = recent
        self._per = max(1, math.ceil(best / max(1, len(self.directions))))
        self._reset()

    def _reset(self) -> None:
        self._upto = 0  # trials numbered below were seen
        self._pending: List[int] = []  # seen unfinished
        self._n_finished = 0  # COMPLETE + PRUNED
        self._recent: List[int] = []  # min-heap of the newest finished numbers
        self._best: List[List[Tuple[float, int]]] = [[] for _ in self.directions]  # max-heaps

    def _account(self, t: Any) -> None:
        if t.state not in _MODELLED:
            return
        self._n_finished += 1
        heapq.heappush(self._recent, t.number)
        if len(self._recent) > self.recent:
            heapq.heappop(self._recent)
        for i, d in enumerate(self.directions):
            k = _key(t, i, d)
            if k is None:
                continue
            item = (-k[0], -k[1])
            heap = self._best[i]
            if len(heap) < self._per:
                heapq.heappush(heap, item)
            elif item > heap[0]:
                heapq.heapreplace(heap, item)

    def update(self, trials: List[Any]) -> List[Any]:
        if trials and trials[-1].number != len(trials) - 1:
            return select_window(trials, self.directions, self.best, self.recent)
        if len(trials) < self._upto:
            self._reset()
        still = []
        for number in self._pending:
            t = trials[number]
            if t.state.is_finished():
                self._account(t)
            else:
                still.append(number)
        for t in trials[self._upto :]:
            if t.state.is_finished():
                self._account(t)
            else:
                still.append(t.number)
        self._upto = len(trials)
        self._pending = still
        if self._n_finished <= self.best + self.recent:
            return [t for t in trials if t.state in _MODELLED or t.state == TrialState.RUNNING]
        keep = set(self._recent)
        for heap in self._best:
            keep.update(-n for _, n in heap)
        keep.update(n for n in still if trials[n].state == TrialState.RUNNING)
        return [trials[n] for n in sorted(keep)]


class _WindowView:
    """A study as the sampler sees it: every attribute is the real study's, except that its
    trials are the window."""

    def __init__(self, study: Any, trials: List[Any]) -> None:
        self._oo_study = study
        self._oo_trials = trials

    def __getattr__(self, name: str) -> Any:
        return getattr(self._oo_study, name)

    def _get_trials(
        self,
        deepcopy: bool = True,
        states: Optional[Container[TrialState]] = None,
        use_cache: bool = False,
    ) -> List[Any]:
        out = self._oo_trials
        if states is not None:
            out = [t for t in out if t.state in states]
        return copy.deepcopy(out) if deepcopy else out

    def get_trials(
        self, deepcopy: bool = True, states: Optional[Container[TrialState]] = None
    ) -> List[Any]:
        return self._get_trials(deepcopy, states)

    @property
    def trials(self) -> List[Any]:
        return self._get_trials(True)


class _Windowing:
    """One sampler's window: built once per trial, from the read Optuna made for that ask."""

    def __init__(self, best: int, recent: int) -> None:
        self.best, self.recent = best, recent
        self._key: Any = None
        self._view: Any = None
        self._window: Optional[TrialWindow] = None

    def view(self, study: Any, trial: Any) -> Any:
        key = (study._study_id, trial.number)
        if self._key != key:
            # the read Optuna made for this ask (its search-space inference): no second query
            trials = study._get_trials(deepcopy=False, use_cache=True)
            if self._window is None or self._key[0] != key[0]:
                self._window = TrialWindow(list(study.directions), self.best, self.recent)
            self._view = _WindowView(study, self._window.update(trials))
            self._key = key
        return self._view


def windowed(sampler: TPESampler, best: int = DEFAULT_BEST, recent: int = DEFAULT_RECENT) -> Any:
    """Make ``sampler`` (Optuna's ``TPESampler``, still of that type) model only the window of
    the study (module docstring); returns the same sampler."""
    w = _Windowing(best, recent)
    relative = sampler.sample_relative
    independent = sampler.sample_independent

    def sample_relative(study: Any, trial: Any, search_space: Any) -> Any:
        return relative(w.view(study, trial), trial, search_space)

    def sample_independent(study: Any, trial: Any, name: str, distribution: Any) -> Any:
        return independent(w.view(study, trial), trial, name, distribution)

    sampler.sample_relative = sample_relative  # type: ignore[method-assign]
    sampler.sample_independent = sample_independent  # type: ignore[method-assign]
    sampler._oo_window = w  # type: ignore[attr-defined]
    return sampler


def windowed_tpe(best: int = DEFAULT_BEST, recent: int = DEFAULT_RECENT, **kw: Any) -> Any:
    """``TPESampler(**kw)`` that models only the window of the study."""
    return windowed(TPESampler(**kw), best, recent)
