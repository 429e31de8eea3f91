"""Optimisation quality of the engine's samplers on Branin and Hartmann-6.

Median (over 10 seeds) of the best value after 100 trials, for TPE with 1, 4 and 8 workers and
for random search, printed beside scikit-optimize's published random-search means (Branin 0.911,
Hartmann-6 -2.374, at 200 calls) and the optima (0.397887, -3.32237).

How parallel workers are simulated (so the bench takes minutes, not hours): everything runs in
one process on one Optuna in-memory storage, but exactly as the engine's workers do it — W
"workers", each with its own sampler from ``engine.samplers.build_sampler(study, W, i)`` (TPE:
multivariate, constant liar when W > 1, per-worker seeds) and its own ``optuna.Study`` handle,
parameters suggested by ``engine.space.SearchSpace``. W trials are always in flight (asked, not
yet told, so constant liar sees them RUNNING); at each step one of the in-flight trials, chosen
at random (programs finish in no particular order), is told its value and its worker asks the
next trial. W = 1 is the plain sequential loop.

Targets: TPE with 8 workers Branin <= 0.45 and Hartmann-6 <= -3.0; 8 workers no worse than
1 worker by more than 0.05 (Branin) and 0.1 (Hartmann-6).
Usage: ``python bench/bench_quality.py [--seeds 10] [--trials 100] [--jobs 2]``.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing as mp
import os
import random
import statistics
import sys
import time
from typing import Dict, List, Tuple

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

PUBLISHED_RANDOM = {"branin": 0.911, "hartmann6": -2.374}  # skopt benchmarks, 200 calls
OPTIMUM = {"branin": 0.397887, "hartmann6": -3.32237}
TARGETS = {"branin": (0.45, 0.05), "hartmann6": (-3.0, 0.1)}


def branin(p: Dict[str, float]) -> float:
    x1, x2 = p["x1"], p["x2"]
    a, b, c = 1.0, 5.1 / (4 * math.pi**2), 5 / math.pi
    r, s, t = 6.0, 10.0, 1 / (8 * math.pi)
    return a * (x2 - b * x1**2 + c * x1 - r) ** 2 + s * (1 - t) * math.cos(x1) + s


_H_A = [
    [10, 3, 17, 3.5, 1.7, 8],
    [0.05, 10, 17, 0.1, 8, 14],
    [3, 3.5, 1.7, 10, 17, 8],
    [17, 8, 0.05, 10, 0.1, 14],
]
_H_P = [
    [0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886],
    [0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991],
    [0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.6650],
    [0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381],
]
_H_ALPHA = [1.0, 1.2, 3.0, 3.2]


def hartmann6(p: Dict[str, float]) -> float:
    x = [p[f"x{i}"] for i in range(1, 7)]
    total = 0.0
    for i in range(4):
        inner = sum(_H_A[i][j] * (x[j] - _H_P[i][j]) ** 2 for j in range(6))
        total -= _H_ALPHA[i] * math.exp(-inner)
    return total


PROBLEMS = {
    "branin": (branin, [("x1", -5.0, 10.0), ("x2", 0.0, 15.0)]),
    "hartmann6": (hartmann6, [(f"x{i}", 0.0, 1.0) for i in range(1, 7)]),
}


def make_study(problem: str, sampler: str, seed: int):
    from omniopt_desktop.study.model import Study

    _, bounds = PROBLEMS[problem]
    return Study.from_dict(
        {
            "study": {"name": problem, "n_trials": 100, "sampler": sampler, "seed": seed},
            "objective": [{"name": "RESULT", "direction": "minimize"}],
            "program": {"command": "true"},
            "parameter": [
                {"name": n, "type": "float", "low": lo, "high": hi} for n, lo, hi in bounds
            ],
        }
    )


def run_once(args: Tuple[str, str, int, int, int]) -> Tuple[str, str, int, int, float]:
    """Best value after ``trials`` trials with ``workers`` simulated workers."""
    problem, sampler, workers, seed, trials = args
    import optuna

    from omniopt_desktop.engine.samplers import build_sampler
    from omniopt_desktop.engine.space import SearchSpace

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    fn, _ = PROBLEMS[problem]
    model = make_study(problem, sampler, seed)
    space = SearchSpace(model)
    storage = optuna.storages.InMemoryStorage()
    optuna.create_study(storage=storage, study_name="q", direction="minimize")
    handles = [
        optuna.load_study(study_name="q", storage=storage, sampler=build_sampler(model, workers, i))
        for i in range(workers)
    ]
    rng = random.Random(seed)
    in_flight: List[Tuple[int, object, Dict[str, float]]] = []
    asked = 0
    best = math.inf
    while asked < trials or in_flight:
        while len(in_flight) < workers and asked < trials:
            free = sorted(set(range(workers)) - {w for w, _, _ in in_flight})[0]
            trial = handles[free].ask()
            in_flight.append((free, trial, space.suggest(trial)))
            asked += 1
        w, trial, params = in_flight.pop(rng.randrange(len(in_flight)))
        value = fn(params)
        handles[w].tell(trial, value)
        best = min(best, value)
    return problem, sampler, workers, seed, best


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--trials", type=int, default=100)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()
    configs = [("tpe", 1), ("tpe", 4), ("tpe", 8), ("random", 1)]
    jobs = [
        (problem, sampler, w, seed, args.trials)
        for problem in PROBLEMS
        for sampler, w in configs
        for seed in range(args.seeds)
    ]
    t0 = time.time()
    with mp.get_context("fork").Pool(args.jobs) as pool:
        results = pool.map(run_once, jobs, chunksize=1)
    best: Dict[Tuple[str, str, int], List[float]] = {}
    for problem, sampler, w, _seed, value in results:
        best.setdefault((problem, sampler, w), []).append(value)
    print(
        f"median best of {args.seeds} seeds after {args.trials} trials "
        f"({time.time() - t0:.0f} s, {args.jobs} processes)"
    )
    print(
        f"{'problem':10s} {'TPE 1w':>9s} {'TPE 4w':>9s} {'TPE 8w':>9s} {'random':>9s} "
        f"{'pub.random@200':>15s} {'optimum':>9s}  targets"
    )
    ok_all = True
    for problem in PROBLEMS:
        med = {c: statistics.median(best[(problem, *c)]) for c in configs}
        target, slack = TARGETS[problem]
        t8, t1 = med[("tpe", 8)], med[("tpe", 1)]
        ok = t8 <= target and t8 - t1 <= slack
        ok_all &= ok
        print(
            f"{problem:10s} {t1:9.4f} {med[('tpe', 4)]:9.4f} {t8:9.4f} {med[('random', 1)]:9.4f} "
            f"{PUBLISHED_RANDOM[problem]:15.3f} {OPTIMUM[problem]:9.5f}  "
            f"8w <= {target} and 8w - 1w <= {slack}: {'met' if ok else 'NOT met'}"
        )
    return 0 if ok_all else 1


if __name__ == "__main__":
    sys.exit(main())
