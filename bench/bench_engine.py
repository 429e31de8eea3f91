"""Engine throughput: ``omniopt-desktop run --workers 8`` vs a plain Optuna multiprocess loop.

For each storage (SQLite, journal file, PostgreSQL on a private loopback server) it runs 400
trials of a trivial program (``echo RESULT: <x>`` through ``/bin/sh -c``) twice:

1. the engine, exactly as a user runs it: ``python -m omniopt_desktop.cli run STUDY.toml
   --workers 8 --storage URL --quiet`` (wall time of the whole command, start-up included);
2. a plain Optuna loop: 8 ``multiprocessing`` processes, each ``study.optimize(objective,
   n_trials=50)`` where ``objective`` suggests the same three parameters, runs the same command
   with ``subprocess.run`` and parses the value. Same storage URL opened the same way
   (``engine.storage.open_storage``, with ``OMNIOPT_WORKER_CACHE=0``: Optuna's own caches and
   writes), same sampler (TPE, multivariate, constant liar, per-worker seeds).

It prints trials/s for both and the ratio engine/plain (target >= 0.9), and the engine's
throughput per storage. Usage: ``python bench/bench_engine.py [--trials 400] [--workers 8]
[--storages sqlite,journal,postgres] [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests"))

STUDY = """\
[study]
name = "bench"
n_trials = {n}
seed = 1

[[objective]]
name = "RESULT"
direction = "minimize"

[program]
command = "echo RESULT: %(x)"
timeout = "1m"

[[parameter]]
name = "x"
type = "float"
low = -5.0
high = 5.0

[[parameter]]
name = "n"
type = "int"
low = 1
high = 8

[[parameter]]
name = "kind"
type = "choice"
values = ["a", "b", "c"]
"""


def _plain_worker(url: str, folder: str, n: int, index: int, workers: int) -> None:
    import optuna

    from omniopt_desktop.engine.samplers import build_sampler
    from omniopt_desktop.engine.storage import open_storage
    from omniopt_desktop.study.model import Study

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    os.environ["OMNIOPT_WORKER_CACHE"] = "0"  # Optuna's own storages, caches and writes
    model = Study(seed=1)
    storage = open_storage(url, workers=workers)
    study = optuna.load_study(
        study_name="bench", storage=storage, sampler=build_sampler(model, workers, index)
    )

    def objective(trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", -5.0, 5.0)
        trial.suggest_int("n", 1, 8)
        trial.suggest_categorical("kind", ["a", "b", "c"])
        out = subprocess.run(
            ["/bin/sh", "-c", f"echo RESULT: {x!r}"], cwd=folder, capture_output=True, text=True
        )
        return float(out.stdout.split("RESULT:")[1])

    study.optimize(objective, n_trials=n)


def plain_optuna(url: str, folder: str, trials: int, workers: int) -> float:
    import optuna

    from omniopt_desktop.engine.storage import ensure_study, open_storage

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    ensure_study(open_storage(url), "bench", ["minimize"])
    ctx = mp.get_context("fork")
    per = trials // workers
    t0 = time.perf_counter()
    procs = [
        ctx.Process(target=_plain_worker, args=(url, folder, per, i, workers))
        for i in range(workers)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
        assert p.exitcode == 0, "plain optuna worker failed"
    return time.perf_counter() - t0


def engine_run(url: str, folder: str, trials: int, workers: int) -> float:
    study = os.path.join(folder, "study.toml")
    with open(study, "w") as f:
        f.write(STUDY.format(n=trials))
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "omniopt_desktop.cli", "run", study, "--workers", str(workers),
         "--storage", url, "--run-dir", os.path.join(folder, "run"), "--quiet"],
        capture_output=True, text=True,
    )  # fmt: skip
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"engine run failed: {proc.stderr.strip()[-500:]}")
    return elapsed


def complete_count(url: str) -> int:
    from optuna.trial import TrialState

    from omniopt_desktop.engine.storage import open_storage

    st = open_storage(url)
    sid = st.get_study_id_from_name("bench")
    return len(st.get_all_trials(sid, deepcopy=False, states=(TrialState.COMPLETE,)))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=400)
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--storages", default="sqlite,journal,postgres")
    ap.add_argument("--repeat", type=int, default=1, help="alternate runs; medians are shown")
    args = ap.parse_args()
    server = None
    rows = []
    try:
        for kind in args.storages.split(","):
            runs: dict = {"plain": [], "engine": []}
            for _ in range(args.repeat):
                for who in ("plain", "engine"):
                    folder = tempfile.mkdtemp(prefix=f"oo-bench-{kind}-{who}-")
                    os.makedirs(os.path.join(folder, "run"), exist_ok=True)
                    if kind == "sqlite":
                        url = f"sqlite:///{folder}/run/study.db"
                    elif kind == "journal":
                        url = f"journal:///{folder}/run/study.journal"
                    else:
                        if server is None:
                            from support.postgres import start_postgres

                            server = start_postgres()
                        url = server.create_database()
                    fn = plain_optuna if who == "plain" else engine_run
                    secs = fn(url, folder, args.trials, args.workers)
                    done = complete_count(url)
                    runs[who].append(done / secs)
                    print(
                        f"  {kind:9s} {who:6s} {done:4d} COMPLETE in {secs:6.1f} s = "
                        f"{done / secs:6.1f} trials/s",
                        flush=True,
                    )
                    shutil.rmtree(folder, ignore_errors=True)
            res = {who: statistics.median(v) for who, v in runs.items()}
            rows.append((kind, res))
    finally:
        if server is not None:
            from support.postgres import stop_postgres

            stop_postgres(server)
    print()
    print(
        f"{args.trials} trials, {args.workers} workers, trivial program, {os.cpu_count()} CPUs, "
        f"median of {args.repeat} run(s), load average {os.getloadavg()[0]:.1f}"
    )
    print(f"{'storage':10s} {'engine t/s':>11s} {'plain t/s':>10s} {'ratio':>6s}  (target >= 0.9)")
    for kind, res in rows:
        e, p = res["engine"], res["plain"]
        print(f"{kind:10s} {e:11.1f} {p:10.1f} {e / p:6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
