"""``bench_scale.py --profile``: where one worker's engine time per trial goes.

One real engine :class:`~omniopt_desktop.engine.worker.Worker` runs ``--repeat`` trials of a
program that only echoes (so nearly all of its time is the engine's) on a study that already
holds ``N`` COMPLETE trials and ``R`` RUNNING trials of "other workers" (with parameters and live
leases, as constant liar sees them). Printed per phase of the loop (counts and reaper, ask,
budget check, suggest, attrs, tell; the program itself apart): median ms per trial, and on
PostgreSQL the SQL statements per trial (SQLAlchemy ``before_cursor_execute``), on the journal
the appends (each one lock + write) and reads. Then cProfile's top functions by cumulative time.
"""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import statistics
import tempfile
import time
from typing import Any, Callable, Dict, List, Tuple

PHASES = ("counts", "ask", "budget", "suggest", "attrs", "tell", "program")


class Meter:
    """Time and storage operations per phase of the worker loop."""

    def __init__(self) -> None:
        self.phase = "other"
        self.ops: Dict[str, int] = {}
        self.times: Dict[str, List[float]] = {}
        self._t: Dict[str, float] = {}

    def count(self, *_: Any, **__: Any) -> None:
        self.ops[self.phase] = self.ops.get(self.phase, 0) + 1

    def wrap(self, phase: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            outer, self.phase = self.phase, phase
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self._t[phase] = self._t.get(phase, 0.0) + time.perf_counter() - t0
                self.phase = outer

        return call

    def end_trial(self) -> None:
        for p in PHASES:
            self.times.setdefault(p, []).append(self._t.get(p, 0.0))
        self._t = {}


def _other_workers_running(url: str, name: str, running: int) -> None:
    """``running`` RUNNING trials with parameters and live leases, as other workers leave them."""
    import optuna

    from omniopt_desktop.engine.leases import LEASE_KEY, make_lease
    from omniopt_desktop.engine.storage import open_storage

    st = open_storage(url)
    study = optuna.load_study(study_name=name, storage=st, sampler=optuna.samplers.RandomSampler())
    for i in range(running):
        t = study.ask()
        t.suggest_float("x", -5.0, 5.0)
        t.suggest_float("y", 0.0, 1.0)
        t.suggest_int("n", 1, 8)
        st.set_trial_system_attr(t._trial_id, LEASE_KEY, make_lease(f"other{i}", "h", 3600.0))


def compare(
    backends: Any, kind: str, prefill: int, running: int, repeat: int, top: int,
    levels: Tuple[str, ...] = ("0", "1", "2"),
) -> None:  # fmt: skip
    """:func:`profile` at each level of the worker's cache (``OMNIOPT_WORKER_CACHE``: 0 =
    Optuna's own cache and writes, 1 = the worker's caches, 2 = also the PostgreSQL hot path),
    one after the other; then the engine times side by side."""
    from omniopt_desktop.engine.trial_cache import ENV

    totals = {}
    for setting in levels:
        os.environ[ENV] = setting
        try:
            totals[setting] = profile(backends, kind, prefill, running, repeat, top, setting)
        finally:
            os.environ.pop(ENV, None)
    shown = " -> ".join(
        f"level {k} {ms:.1f} ms ({ops:.1f} statements/appends)" for k, (ms, ops) in totals.items()
    )
    print(f"\n{kind}: engine ms per trial, {shown}; load {os.getloadavg()[0]:.1f}\n", flush=True)


def profile(
    backends: Any, kind: str, prefill: int, running: int, repeat: int, top: int, setting: str = ""
) -> Tuple[float, float]:
    from support import scale as S

    import omniopt_desktop.engine.trial_runner as T
    import omniopt_desktop.engine.worker as W
    from omniopt_desktop.engine.local_run import prepare_run
    from omniopt_desktop.engine.storage import ensure_study, open_storage

    url, _ = backends.url(kind, prefill)
    run_dir = tempfile.mkdtemp(prefix=f"profile-{kind}-", dir=backends.tmp)
    study = S.sleep_study(prefill + running + repeat + 20, 0.0, "scale")
    prepare_run(study, run_dir, url)
    ensure_study(open_storage(url), "scale", ["minimize"])
    _other_workers_running(url, "scale", running)
    worker = W.Worker(W.WorkerConfig(run_dir, url, n_workers=max(2, running + 1)))
    m = Meter()
    inner = worker.storage.inner
    backend = getattr(inner, "_backend", inner)
    engine = getattr(backend, "engine", None)
    if engine is not None:
        from sqlalchemy import event

        event.listen(engine, "before_cursor_execute", m.count)
        unit = "SQL statements"
    else:  # journal: count appends (lock + write) and reads of the file
        for name in ("append_logs", "read_logs"):
            orig = getattr(backend, name)
            setattr(backend, name, _counting(m, name, orig))
        unit = "journal appends / reads"
    worker.study.ask = m.wrap("ask", worker.study.ask)
    worker.space.suggest = m.wrap("suggest", worker.space.suggest)
    worker.trials._set_attrs = m.wrap("attrs", worker.trials._set_attrs)
    worker.trials._tell = m.wrap("tell", worker.trials._tell)
    worker.counts = m.wrap("counts", worker.counts)
    worker.maybe_reap = m.wrap("counts", worker.maybe_reap)
    real_surplus, real_run, real_finish = T.is_surplus, T.run_program, T.finish_fast
    T.is_surplus = m.wrap("budget", real_surplus)
    T.run_program = m.wrap("program", real_run)
    T.finish_fast = m.wrap("tell", real_finish)  # the hot path's attrs + tell in one statement
    prof = cProfile.Profile()
    try:
        for i in range(repeat + 2):
            if i == 2:  # the first asks read the whole study: not counted
                m.ops, m.times, m._t = {}, {}, {}
                prof.enable()
            worker.maybe_reap()
            worker.counts()
            worker.one_trial()
            m.end_trial()
        prof.disable()
    finally:
        T.is_surplus, T.run_program, T.finish_fast = real_surplus, real_run, real_finish
    caches = {"0": ", caches off", "1": ", caches on", "2": ", caches + hot path"}.get(setting, "")
    print(
        f"\n{kind}{caches}: one worker, {prefill} COMPLETE + {running} RUNNING trials of other "
        f"workers, {repeat} trials (median ms per trial; {unit} per trial); load "
        f"{os.getloadavg()[0]:.1f}"
    )
    total, n_ops = 0.0, 0.0
    for p in PHASES:
        med = statistics.median(m.times.get(p, [0.0])) * 1000
        if p != "program":
            total += med
        if engine is not None:
            ops = m.ops.get(p, 0) / repeat
            n_ops += ops
        else:
            ops = _journal_ops(m, p, repeat)
            n_ops += m.ops.get(f"{p}:append_logs", 0) / repeat
        print(f"  {p:8s} {med:8.1f} ms   {ops}")
    print(f"  engine   {total:8.1f} ms   (sum of the medians above, program excluded)")
    if setting == "2" and engine is not None:
        print("  (level 2 creates the trial in one psycopg pipeline, past SQLAlchemy's events: its")
        print("   2 statements, study lock + insert, are not in the ask's count)")
    s = io.StringIO()
    st = pstats.Stats(prof, stream=s).sort_stats("cumulative")
    st.print_stats(top)
    print("\n".join(line for line in s.getvalue().splitlines() if line.strip())[:6000])
    return total, n_ops


def _counting(m: Meter, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        key = f"{m.phase}:{name}"
        m.ops[key] = m.ops.get(key, 0) + 1
        return fn(*args, **kwargs)

    return call


def _journal_ops(m: Meter, phase: str, repeat: int) -> str:
    a = m.ops.get(f"{phase}:append_logs", 0) / repeat
    r = m.ops.get(f"{phase}:read_logs", 0) / repeat
    return f"{a:.1f} / {r:.1f}"
