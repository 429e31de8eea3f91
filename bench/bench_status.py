"""Time and bytes of one incremental status poll on studies of 1,000 and 100,000 trials.

A poll is what ``omniopt-desktop status`` / the GUI monitor run on the cluster: the controller's
``status`` probe over the run folder, asked for the trials newer than the last one seen, with the
watermark cache of earlier polls in place. Before each measured poll, 10 new trials are told
through Optuna (so each poll has real news). The study is built with Optuna (1,000 trials) and
then multiplied by copying rows in SQL (Optuna-valid rows: same schema, consecutive numbers).

    python bench/bench_status.py [--rounds 5]

Prints the median time and bytes per size and the ratio 100,000 / 1,000 (target <= 1.5).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shlex
import sqlite3
import statistics
import sys
import tempfile
import time

import optuna

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from omniopt_desktop.cluster.commands import LocalRunner  # noqa: E402
from omniopt_desktop.engine.frozen import freeze_study  # noqa: E402
from omniopt_desktop.study.model import Parameter, ParamType, Study  # noqa: E402

optuna.logging.set_verbosity(optuna.logging.WARNING)
BASE = 1000


def objective(t: optuna.Trial) -> float:
    x = t.suggest_float("x", -5, 5)
    k = t.suggest_int("k", 1, 9)
    c = t.suggest_categorical("c", ["a", "b", "c"])
    t.set_user_attr("oo_runtime", 0.01)
    return x * x + k + (c == "b")


def build(run_dir: str, n: int, storage: str = "sqlite") -> optuna.Study:
    model = Study(
        name="bench",
        n_trials=n + 10_000,
        storage=storage,
        parameters=[
            Parameter("x", ParamType.FLOAT, -5, 5),
            Parameter("k", ParamType.INT, 1, 9),
            Parameter("c", ParamType.CHOICE, values=["a", "b", "c"]),
        ],
    )
    freeze_study(model, run_dir, run_dir, storage)
    if storage == "journal":
        return build_journal(run_dir, n)
    url = "sqlite:///" + os.path.join(run_dir, "study.db")
    study = optuna.create_study(
        study_name="bench", storage=url, sampler=optuna.samplers.RandomSampler(seed=1)
    )
    study.optimize(objective, n_trials=min(n, BASE))
    con = sqlite3.connect(os.path.join(run_dir, "study.db"))
    have = BASE
    while have < n:  # copy the first block of trials until the study holds n
        take = min(BASE, n - have)
        con.execute("BEGIN")
        max_id = con.execute("SELECT max(trial_id) FROM trials").fetchone()[0]
        con.execute(
            "INSERT INTO trials (trial_id, number, study_id, state, datetime_start, datetime_complete) "
            "SELECT trial_id + :off, number + :noff, study_id, state, datetime_start, datetime_complete "
            "FROM trials WHERE trial_id <= :take",
            {"off": max_id, "noff": have, "take": take},
        )
        for table, cols in (
            ("trial_params", "param_name, param_value, distribution_json"),
            ("trial_values", "objective, value, value_type"),
            ("trial_user_attributes", "key, value_json"),
            ("trial_system_attributes", "key, value_json"),
        ):
            con.execute(
                f"INSERT INTO {table} (trial_id, {cols}) SELECT trial_id + :off, {cols} "
                f"FROM {table} WHERE trial_id <= :take",
                {"off": max_id, "take": take},
            )
        con.commit()
        have += take
    con.close()
    return optuna.load_study(
        study_name="bench", storage=url, sampler=optuna.samplers.RandomSampler(seed=2)
    )


def build_journal(run_dir: str, n: int) -> optuna.Study:
    """A journal of n finished trials: Optuna writes the study, then one complete
    CREATE_TRIAL line per trial is appended (what ``add_trial`` writes)."""
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
        distribution_to_json,
    )

    from omniopt_desktop.engine.storage import open_storage

    path = os.path.join(run_dir, "study.journal")
    storage = open_storage("journal:///" + path)
    optuna.create_study(study_name="bench", storage=storage)
    dists = {
        "x": distribution_to_json(FloatDistribution(-5, 5)),
        "k": distribution_to_json(IntDistribution(1, 9)),
        "c": distribution_to_json(CategoricalDistribution(["a", "b", "c"])),
    }
    rng = random.Random(1)
    with open(path, "a") as f:
        for _i in range(n):
            x, k, c = rng.uniform(-5, 5), rng.randint(1, 9), rng.randrange(3)
            f.write(json.dumps({
                "op_code": 4, "worker_id": "bench", "study_id": 0,
                "datetime_start": "2026-01-01T00:00:00+00:00",
                "datetime_complete": "2026-01-01T00:00:01+00:00",
                "distributions": dists, "params": {"x": x, "k": k, "c": c},
                "user_attrs": {"oo_runtime": 0.01}, "system_attrs": {},
                "state": 1, "values": [x * x + k + (c == 1)], "intermediate_values": {},
            }) + "\n")  # fmt: skip
    return optuna.load_study(
        study_name="bench",
        storage=open_storage("journal:///" + path),
        sampler=optuna.samplers.RandomSampler(seed=2),
    )


def poll(runner: LocalRunner, run_dir: str, since: int) -> tuple[float, int, int]:
    cmd = (
        f"{shlex.quote(sys.executable)} -m omniopt_desktop.engine.controller status "
        f"--run-dir {shlex.quote(run_dir)} --since {since}"
    )
    t0 = time.perf_counter()
    result = runner.run(cmd, timeout=600, check=True)
    return (
        time.perf_counter() - t0,
        len(result.stdout.encode()),
        len(json.loads(result.stdout)["trials"]),
    )


def measure(n: int, rounds: int, storage: str) -> tuple[float, float, int]:
    with tempfile.TemporaryDirectory(prefix="oo-bench-status-") as run_dir:
        t0 = time.perf_counter()
        study = build(run_dir, n, storage)
        print(f"  built a study of {n:,} trials in {time.perf_counter() - t0:.1f} s", flush=True)
        runner = LocalRunner(env={**os.environ, "PYTHONPATH": os.getcwd()})
        last = len(study.trials) - 1
        poll(runner, run_dir, last)  # the first poll of a monitor: builds the watermark cache
        times, sizes = [], []
        for _ in range(rounds):
            study.optimize(objective, n_trials=10)
            seconds, nbytes, got = poll(runner, run_dir, last)
            assert got == 10, f"expected 10 new trials, got {got}"
            last += 10
            times.append(seconds)
            sizes.append(nbytes)
        return statistics.median(times), min(times), int(statistics.median(sizes))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--storage", choices=("sqlite", "journal"), default="sqlite")
    args = parser.parse_args()
    os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    results = {}
    for n in (args.small, args.large):
        med, best, nbytes = measure(n, args.rounds, args.storage)
        results[n] = (med, nbytes)
        print(f"{n:>7,} trials: one incremental poll (10 new trials) {med * 1000:.0f} ms median "
              f"(best {best * 1000:.0f} ms), {nbytes:,} bytes")  # fmt: skip
    (t_small, b_small), (t_large, b_large) = results[args.small], results[args.large]
    print(f"storage {args.storage}: ratio {args.large:,} / {args.small:,}: time {t_large / t_small:.2f}, "
          f"bytes {b_large / b_small:.2f} (target <= 1.5)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
