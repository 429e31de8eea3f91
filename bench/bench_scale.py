"""Width: W real engine workers on one study, on this machine; nothing may be lost.

For each storage and W it lays out a run folder (``engine.local_run.prepare_run``), starts W
worker processes of the real engine (``python -m omniopt_desktop.engine worker``'s main, forked
from the engine's forkserver as local runs do) on a study whose program sleeps ``--sleep``
seconds and prints ``RESULT: x``, waits for them to end and prints:

- trials/s in the steady state (COMPLETE trials whose program ended between the 10th and the
  90th percentile of all program ends, over that time) against the ideal W / sleep, and the
  ratio;
- p50/p95/p99 of the engine's own time per trial: the gap between the end of a worker's program
  and the start of its next one (tell, bookkeeping, the budget count, ask, program start);
- storage errors seen and retried (the workers' "transient storage error" log lines), failed
  trials by reason;
- connections held on the PostgreSQL server (peak of pg_stat_activity for the study's database,
  sampled every 0.5 s);
- the check: no trial lost, doubled or left RUNNING (see ``tests/support/scale.py::audit``).

``--prefill N`` first fills the study with N COMPLETE trials (PostgreSQL: once, then cloned per
run as a template database; journal: a copied file), so the figures hold at N trials in the
study. ``--ask-cost`` instead measures one ask (ask + suggest + tell, one process) at 1k and 10k
trials in the study, for Optuna's TPE and the engine's windowed TPE, on each storage.

``--compare-caches`` runs each (storage, W) twice, side by side: the worker's caches off
(``OMNIOPT_WORKER_CACHE=0``) and on; ``--caches 1,2 --rounds 3`` runs the given levels
interleaved (1 2 1 2 1 2). Every run also prints, per trial of its steady part, the CPU and the
runqueue wait (runnable, waiting for a core) of the workers and of the server's backends, and
the backends' wait events (``bench/scale_cpu.py``); ``--worker-profile`` the workers' cProfile. ``--profile`` profiles one worker instead (see
``bench/scale_profile.py``). See ``--help`` for the modes and their run times.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time
from typing import Any, Dict, List, Optional, Tuple

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests"))

from scale_cpu import CpuSampler, format_per_trial  # noqa: E402
from support import scale as S  # noqa: E402
from support.postgres import start_postgres, stop_postgres  # noqa: E402

from omniopt_desktop.engine.profiling import PROFILE_ENV  # noqa: E402

MODES = """\
modes (run times on the 2-core development machine, shared, load 10-57; less when quiet):
  full (the default): PostgreSQL W = 8,32,64,128 and journal W = 8,32,64, 6 trials per
      worker (at least 100), empty study                            measured 9 min 53 s
  quick: --quick     PostgreSQL W = 8,32 and journal W = 8, 3 trials per worker (at least 30)
                                                                    about 2-3 min (estimate)
  at 10,000 trials (the p95 target): --prefill 10000 --pg-workers 8 --journal-workers 8
                                                                    about 4 min (estimate)
  caches off vs on, side by side: add --compare-caches (doubles the runs; the 10,000-trial
      run with --pg-workers 8,32 --journal-workers 8,32 took 13 min)
  one worker's phases, SQL statements, cProfile, caches off vs on:
      --profile --prefill 10000 --ask-running 32 --repeat 20      measured about 3 min
  one ask's cost at 1k and 10k trials, Optuna's TPE vs windowed TPE: --ask-cost
  the worker's cache levels side by side, interleaved (1 = caches, 2 = also the PostgreSQL
      hot path): --prefill 10000 --storages postgres --pg-workers 8 --caches 1,2 --rounds 3
                                                                    measured about 8 min
  where a trial's time goes with W active workers: every run prints CPU and runqueue wait
      (waiting for a core) per trial of the workers and the server's backends, and the
      backends' wait events; add --worker-profile for the workers' merged cProfile (CPU)
"""

STUDY_NAME = "scale"


def _prefill_trials(storage: Any, study_name: str, n: int, seed: int = 0) -> None:
    """N COMPLETE trials of the sleep study's parameters, values of a bowl (RDB: in one
    transaction; journal: Optuna's ``add_trials``)."""
    import optuna
    from optuna.distributions import FloatDistribution, IntDistribution
    from optuna.trial import create_trial

    dists = {
        "x": FloatDistribution(-5.0, 5.0),
        "y": FloatDistribution(0.0, 1.0),
        "n": IntDistribution(1, 8),
    }
    study = optuna.load_study(study_name=study_name, storage=storage)
    rnd = random.Random(seed)
    trials = []
    for _ in range(n):
        p = {"x": rnd.uniform(-5, 5), "y": rnd.random(), "n": rnd.randint(1, 8)}
        trials.append(create_trial(params=p, distributions=dists, value=p["x"]))
    backend = getattr(storage.inner, "_backend", None)
    if isinstance(backend, optuna.storages.RDBStorage):
        _bulk_insert(backend, study._study_id, trials, dists)
    else:
        study.add_trials(trials)


def _bulk_insert(backend: Any, study_id: int, trials: List[Any], dists: Dict[str, Any]) -> None:
    """COMPLETE trials into an RDB study in one transaction (Optuna's own models)."""
    from optuna.distributions import distribution_to_json
    from optuna.storages._rdb import models
    from optuna.storages._rdb.storage import _create_scoped_session
    from optuna.trial import TrialState

    dj = {k: distribution_to_json(d) for k, d in dists.items()}
    with _create_scoped_session(backend.scoped_session, True) as session:
        for i, t in enumerate(trials):
            row = models.TrialModel(
                number=i, study_id=study_id, state=TrialState.COMPLETE,
                datetime_start=t.datetime_start, datetime_complete=t.datetime_complete,
            )  # fmt: skip
            row.params = [
                models.TrialParamModel(
                    param_name=k, param_value=dists[k].to_internal_repr(v), distribution_json=dj[k]
                )
                for k, v in t.params.items()
            ]
            row.values = [
                models.TrialValueModel(
                    objective=0, value=t.value,
                    value_type=models.TrialValueModel.TrialValueType.FINITE,
                )
            ]  # fmt: skip
            session.add(row)


class Backends:
    """The storages of the bench: one PostgreSQL server, journal files in a temp folder."""

    def __init__(self, tmp: str, max_connections: int) -> None:
        self.tmp = tmp
        self.pg: Any = None
        self.max_connections = max_connections
        self._templates: Dict[int, str] = {}
        self._journals: Dict[int, str] = {}
        self._n = 0

    def close(self) -> None:
        if self.pg is not None:
            stop_postgres(self.pg)

    def _server(self) -> Any:
        if self.pg is None:
            self.pg = start_postgres()
            if self.max_connections != 200:
                S.set_max_connections(self.pg, self.max_connections)
        return self.pg

    def url(self, kind: str, prefill: int) -> Tuple[str, Optional[str]]:
        """A fresh storage URL holding ``prefill`` COMPLETE trials; (url, pg database name)."""
        from omniopt_desktop.engine.storage import ensure_study, open_storage

        self._n += 1
        if kind == "postgres":
            pg = self._server()
            name = f"scale_{self._n}"
            if prefill:
                if prefill not in self._templates:
                    tpl = pg.create_database(f"tpl_{prefill}")
                    st = open_storage(tpl)
                    ensure_study(st, STUDY_NAME, ["minimize"])
                    t0 = time.time()
                    _prefill_trials(st, STUDY_NAME, prefill)
                    st.inner._backend.engine.dispose()
                    print(f"  (prefilled {prefill} trials in {time.time() - t0:.0f} s)")
                    self._templates[prefill] = f"tpl_{prefill}"
                pg.psql(f'CREATE DATABASE "{name}" TEMPLATE "{self._templates[prefill]}"')
            else:
                pg.psql(f'CREATE DATABASE "{name}"')
            return pg.url(name), name
        path = os.path.join(self.tmp, f"j{self._n}.journal")
        if prefill:
            if prefill not in self._journals:
                src = os.path.join(self.tmp, f"tpl_{prefill}.journal")
                st = open_storage(f"journal:///{src}")
                ensure_study(st, STUDY_NAME, ["minimize"])
                _prefill_trials(st, STUDY_NAME, prefill)
                self._journals[prefill] = src
            shutil.copyfile(self._journals[prefill], path)
        return f"journal:///{path}", None


def run_one(
    backends: Backends,
    kind: str,
    w: int,
    trials: int,
    sleep: float,
    prefill: int,
    caches: Optional[str] = None,
    profile_dir: Optional[str] = None,
    top: int = 25,
) -> Dict[str, Any]:
    from omniopt_desktop.engine.local_run import prepare_run
    from omniopt_desktop.engine.storage import ensure_study, open_storage

    url, dbname = backends.url(kind, prefill)
    run_dir = tempfile.mkdtemp(prefix=f"run-{kind}-{w}-", dir=backends.tmp)
    study = S.sleep_study(prefill + trials, sleep, STUDY_NAME)
    prepare_run(study, run_dir, url)
    ensure_study(open_storage(url), STUDY_NAME, ["minimize"])
    sampler = S.ConnectionSampler(backends.pg, dbname) if dbname else None
    t0 = time.time()
    if sampler:
        sampler.__enter__()
    env = {} if caches is None else {"OMNIOPT_WORKER_CACHE": caches}
    if profile_dir:
        env[PROFILE_ENV] = tempfile.mkdtemp(prefix="prof-", dir=profile_dir)
    workers = S.Workers(run_dir, url, w, env=env or None)
    cpu = CpuSampler([p.pid for p in workers.procs.values()], backends.pg, dbname).__enter__()
    try:
        codes = workers.wait(timeout=max(600.0, 20 * trials * sleep / w + 300))
    finally:
        cpu.__exit__(None, None, None)
        workers.kill_all()
        if sampler:
            sampler.__exit__(None, None, None)
    wall = time.time() - t0
    a = S.audit(run_dir, url, STUDY_NAME, prefill + trials, since_number=prefill)
    rate = S.steady_rate(a.ends)
    ideal = w / sleep
    gaps = a.engine_gaps
    ends = sorted(a.ends)
    lo, hi = int(0.1 * (len(ends) - 1)), int(0.9 * (len(ends) - 1))
    # gaps that begin in the steady part (no start-up: each worker's first read of the study)
    steady = [g for t, g in a.gap_starts if ends and ends[lo] <= t <= ends[hi]]
    per_trial = cpu.per_trial(ends[lo], ends[hi], hi - lo) if len(ends) >= 10 else {}
    if profile_dir:
        # each worker's first trial (its full read of the study) is not profiled
        print_worker_profile(env[PROFILE_ENV], a.complete_in_run - w, top)
    return {
        "per_trial": per_trial,
        "storage": kind + {None: "", "0": " off", "1": " cache", "2": " fast"}[caches],
        "load": os.getloadavg()[0],
        "W": w,
        "trials": a.complete_in_run,
        "wall": wall,
        "rate": rate,
        "ideal": ideal,
        "ratio": rate / ideal,
        "p50": S.percentile(gaps, 50),
        "p95": S.percentile(gaps, 95),
        "p99": S.percentile(gaps, 99),
        "steady_p95": S.percentile(steady, 95) if steady else float("nan"),
        "steady_n": len(steady),
        "runtime": S.percentile(a.runtimes, 50),
        "retried": a.retried_errors,
        "failed": sum(a.failed_reasons.values()),
        "reasons": a.failed_reasons,
        "conns": sampler.peak if sampler else None,
        "exits": sorted({str(c) for c in codes.values()}),
        "check": a.line(),
        "ok": a.ok,
        "run_dir": run_dir,
    }


def print_worker_profile(folder: str, trials: int, top: int) -> None:
    """The workers' cProfile stats (``--worker-profile``) merged: top functions by own and by
    cumulative time, in ms per trial of the run."""
    import io
    import pstats

    files = [os.path.join(folder, f) for f in sorted(os.listdir(folder)) if f.endswith(".prof")]
    if not files:
        return
    st = pstats.Stats(*files, stream=io.StringIO())
    rows = st.stats  # type: ignore[attr-defined]
    for key, title in ((2, "own"), (3, "cumulative")):
        print(f"  workers' profile, {len(files)} workers, ms per trial by {title} time:")
        best = sorted(rows.items(), key=lambda kv: -kv[1][key])[:top]
        for (path, line, fn), v in best:
            where = f"{os.path.basename(path)}:{line}({fn})"
            print(
                f"    {v[key] * 1000 / max(1, trials):8.2f}  {v[1] / max(1, trials):7.1f}  {where}"
            )


def print_row(r: Dict[str, Any]) -> None:
    conns = "-" if r["conns"] is None else str(r["conns"])
    print(
        f"{r['storage']:12s} {r['W']:4d} {r['trials']:6d} {r['rate']:8.1f} {r['ideal']:7.1f} "
        f"{r['ratio']:6.2f} {r['p50']:7.3f} {r['p95']:7.3f} {r['p99']:7.3f} {r['runtime']:6.2f} "
        f"{r['retried']:7d} {r['failed']:6d} {conns:>6s} {r['load']:5.1f}  "
        f"exits {','.join(r['exits'])}  "
        f"{r['check']}",
        flush=True,
    )
    print(
        f"{'':15s}steady part (gaps starting between the 10th and 90th percentile of ends): "
        f"n {r['steady_n']}, p95 {r['steady_p95']:.3f} s",
        flush=True,
    )
    if r.get("per_trial"):
        print(f"{'':15s}{format_per_trial(r['per_trial'])}", flush=True)
    if not r["ok"]:
        print(f"{'':15s}kept for inspection: {r['run_dir']}", flush=True)
    if r["reasons"]:
        print(f"{'':15s}failed: {r['reasons']}", flush=True)


HEADER = (
    f"{'storage':12s} {'W':>4s} {'trials':>6s} {'trial/s':>8s} {'ideal':>7s} {'ratio':>6s} "
    f"{'p50 s':>7s} {'p95 s':>7s} {'p99 s':>7s} {'prog s':>6s} {'retried':>7s} {'failed':>6s} "
    f"{'conns':>6s} {'load':>5s}  check"
)


# -- ask cost ---------------------------------------------------------------------------------
def ask_cost(
    backends: Backends, kinds: List[str], sizes: List[int], running: List[int], repeat: int
) -> None:
    """Median seconds of one ask + suggest + tell, in one process, at each study size and
    number of RUNNING trials (other workers' trials, which constant liar reads on every ask)."""
    import statistics

    import optuna

    from omniopt_desktop.engine.space import SearchSpace
    from omniopt_desktop.engine.storage import open_storage
    from omniopt_desktop.engine.window_sampler import windowed_tpe

    model = S.sleep_study(1, 0.0, STUDY_NAME)
    space = SearchSpace(model)
    print(
        f"ask cost (median of {repeat} asks + tells, one process; TPE multivariate, constant liar)"
    )
    print(
        f"{'storage':9s} {'trials':>7s} {'running':>7s} {'Optuna TPE s':>13s} {'windowed TPE s':>15s}"
    )
    for kind in kinds:
        for n in sizes:
            for r in running:
                row = []
                for windowed in (False, True):
                    url, _ = backends.url(kind, n)
                    st = open_storage(url)
                    others = optuna.load_study(study_name=STUDY_NAME, storage=st)
                    for _ in range(r):  # trials "running in other workers"
                        space.suggest(others.ask())
                    kw = dict(seed=1, multivariate=True, constant_liar=True)
                    sampler = windowed_tpe(**kw) if windowed else optuna.samplers.TPESampler(**kw)
                    study = optuna.load_study(study_name=STUDY_NAME, storage=st, sampler=sampler)
                    times = []
                    for _ in range(repeat + 1):  # the first ask reads the whole study: not counted
                        t0 = time.perf_counter()
                        trial = study.ask()
                        values = space.suggest(trial)
                        study.tell(trial, float(values["x"]))
                        times.append(time.perf_counter() - t0)
                    row.append(statistics.median(times[1:]))
                print(f"{kind:9s} {n:7d} {r:7d} {row[0]:13.4f} {row[1]:15.4f}", flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n")[0],
        epilog=MODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--quick", action="store_true", help="W = 8,32 / 8, few trials")
    ap.add_argument("--storages", default="postgres,journal")
    ap.add_argument("--pg-workers", default="8,32,64,128")
    ap.add_argument("--journal-workers", default="8,32,64")
    ap.add_argument("--trials-per-worker", type=float, default=6.0)
    ap.add_argument("--min-trials", type=int, default=100)
    ap.add_argument("--sleep", type=float, default=1.0, help="seconds the program sleeps")
    ap.add_argument("--prefill", type=int, default=0, help="COMPLETE trials in the study first")
    ap.add_argument("--max-connections", type=int, default=300)
    ap.add_argument("--ask-cost", action="store_true", help="measure ask cost at 1k and 10k")
    ap.add_argument("--ask-sizes", default="1000,10000")
    ap.add_argument("--ask-running", default="0,128", help="RUNNING trials during --ask-cost")
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument(
        "--profile", action="store_true",
        help="profile one worker's trials (phases, SQL statements, cProfile) at --prefill trials "
        "with --ask-running RUNNING trials of other workers",
    )  # fmt: skip
    ap.add_argument(
        "--compare-caches", action="store_true",
        help="each run twice, side by side: the worker's caches off (OMNIOPT_WORKER_CACHE=0, "
        "Optuna's own) and on",
    )  # fmt: skip
    ap.add_argument(
        "--worker-profile", action="store_true",
        help="cProfile every worker's loop (OMNIOPT_WORKER_PROFILE) and print the merged top "
        "functions in ms per trial",
    )  # fmt: skip
    ap.add_argument(
        "--caches", default="",
        help="OMNIOPT_WORKER_CACHE levels to run side by side, e.g. 1,2 (0 = Optuna's caches "
        "and writes, 1 = the worker's caches, 2 = also the PostgreSQL hot path, the default)",
    )  # fmt: skip
    ap.add_argument(
        "--rounds", type=int, default=1,
        help="repeat the --caches / --compare-caches sequence, interleaved (A B A B ...)",
    )  # fmt: skip
    ap.add_argument("--top", type=int, default=25, help="cProfile lines shown by --profile")
    args = ap.parse_args()
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    kinds = [k.strip() for k in args.storages.split(",") if k.strip()]
    tmp = tempfile.mkdtemp(prefix="oo-bench-scale-")
    backends = Backends(tmp, args.max_connections)
    ok = True
    try:
        if args.profile:
            from scale_profile import compare

            for kind in kinds:
                running = int(args.ask_running.split(",")[-1])
                compare(backends, kind, args.prefill, running, args.repeat, args.top)
            return 0
        if args.ask_cost:
            sizes = [int(x) for x in args.ask_sizes.split(",")]
            running = [int(x) for x in args.ask_running.split(",")]
            ask_cost(backends, kinds, sizes, running, args.repeat)
            return 0
        widths = {
            "postgres": [int(x) for x in args.pg_workers.split(",") if x],
            "journal": [int(x) for x in args.journal_workers.split(",") if x],
        }
        if args.quick:
            widths = {"postgres": [8, 32], "journal": [8]}
            args.trials_per_worker, args.min_trials = 3, 30
        print(
            f"program: sleep {args.sleep} s; {args.trials_per_worker:g} trials per worker "
            f"(at least {args.min_trials}); {args.prefill} trials in the study before; "
            f"{os.cpu_count()} CPUs"
        )
        print(HEADER, flush=True)
        for kind in kinds:
            for w in widths.get(kind, []):
                trials = max(args.min_trials, int(round(args.trials_per_worker * w)))
                settings: List[Optional[str]] = [None]
                if args.caches:
                    settings = [c.strip() for c in args.caches.split(",") if c.strip()]
                elif args.compare_caches:
                    settings = ["0", "1"]
                for caches in settings * max(1, args.rounds):
                    r = run_one(
                        backends, kind, w, trials, args.sleep, args.prefill, caches,
                        args.worker_profile and tmp, args.top,
                    )  # fmt: skip
                    print_row(r)
                    ok &= r["ok"]
    finally:
        backends.close()
        if ok:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
