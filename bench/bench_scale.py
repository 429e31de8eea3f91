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

The parts: ``scale_backends.py`` (the storages, prefilled), ``scale_run.py`` (one run and its
row), ``scale_ask_cost.py``, ``scale_cpu.py``, ``scale_profile.py``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from typing import List, Optional

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests"))

from scale_ask_cost import ask_cost  # noqa: E402
from scale_backends import Backends  # noqa: E402
from scale_run import HEADER, print_row, run_one  # noqa: E402

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
