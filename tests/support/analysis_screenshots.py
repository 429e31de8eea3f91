"""Make the docs/screenshots/analysis-*.png images from two realistic studies.

    python tests/support/analysis_screenshots.py [OUT_DIR]

A TPE run of a 4-parameter function (single objective, 400 trials) and an NSGA-II run of a
2-objective one, both with the engine's per-trial attributes and a simulated 4-worker timing,
are written to SQLite with Optuna, then rendered with ``omniopt-desktop open --screenshot``.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VIEWS = (
    "summary",
    "history",
    "slices",
    "parallel",
    "scatter",
    "importance",
    "distribution",
    "timeline",
    "table",
)


def _objective(p: dict) -> float:
    x, y = p["x"], p["y"]
    branin = (
        (y - 5.1 / (4 * math.pi**2) * x**2 + 5 / math.pi * x - 6) ** 2
        + 10 * (1 - 1 / (8 * math.pi)) * math.cos(x)
        + 10
    )
    return (
        branin
        + 3 * abs(math.log10(p["lr"]) + 2.5)
        + {"relu": 0.0, "tanh": 1.0, "gelu": 0.5}[p["act"]]
        + 0.2 * p["layers"]
    )


def make_study(path: str, multi: bool, n: int, seed: int = 7) -> None:
    import numpy as np
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    rng = np.random.default_rng(seed)
    sampler = (
        optuna.samplers.NSGAIISampler(seed=seed) if multi else optuna.samplers.TPESampler(seed=seed)
    )
    directions = ["minimize", "minimize"] if multi else ["minimize"]
    mem = optuna.create_study(directions=directions, sampler=sampler)
    out = optuna.create_study(
        storage=f"sqlite:///{path}",
        study_name="branin-demo" if not multi else "tradeoff-demo",
        directions=directions,
    )
    worker_free = [dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.timezone.utc)] * 4
    for i in range(n):
        t = mem.ask()
        p = {
            "x": t.suggest_float("x", -5, 10),
            "y": t.suggest_float("y", 0, 15),
            "lr": t.suggest_float("lr", 1e-5, 1e-1, log=True),
            "layers": t.suggest_int("layers", 1, 8),
            "act": t.suggest_categorical("act", ["relu", "tanh", "gelu"]),
        }
        w = int(np.argmin(worker_free))
        start = worker_free[w] + dt.timedelta(seconds=float(rng.uniform(1, 5)))
        runtime = float(rng.lognormal(3.5, 0.4))
        end = start + dt.timedelta(seconds=runtime)
        worker_free[w] = end
        fail = rng.uniform() < 0.05
        value = _objective(p)
        values = (
            [value, 30.0 / (1.0 + p["layers"]) + 0.3 * p["x"] + rng.normal(0, 0.5)]
            if multi
            else [value]
        )
        attrs = {
            "oo_hostname": f"node{w // 2}",
            "oo_worker": f"node{w // 2}:{4000 + w}",
            "oo_command": f"python3 train.py --x {p['x']!r} --y {p['y']!r} --lr {p['lr']!r} --layers {p['layers']} --act {p['act']}",
            "oo_start": start.timestamp(),
            "oo_end": end.timestamp(),
            "oo_runtime": runtime,
            "oo_exit_code": 1 if fail else 0,
        }
        if fail:
            attrs["oo_fail_reason"] = (
                "exit code 1: CUDA out of memory"
                if rng.uniform() < 0.6
                else "no RESULT line in the output"
            )
            mem.tell(t, state=optuna.trial.TrialState.FAIL)
        else:
            mem.tell(t, values if multi else values[0])
        frozen = optuna.trial.FrozenTrial(
            number=i,
            state=optuna.trial.TrialState.FAIL if fail else optuna.trial.TrialState.COMPLETE,
            value=None,
            values=None if fail else values,
            datetime_start=start,
            datetime_complete=end,
            params=p,
            distributions=t.distributions,
            user_attrs=attrs,
            system_attrs={},
            intermediate_values={},
            trial_id=i,
        )
        out.add_trial(frozen)


def main(out_dir: str) -> None:
    tmp = tempfile.mkdtemp(prefix="oo-shots-")
    single, multi = os.path.join(tmp, "single.db"), os.path.join(tmp, "multi.db")
    make_study(single, False, 400)
    make_study(multi, True, 300)
    env = dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"))
    os.makedirs(out_dir, exist_ok=True)

    def shot(db: str, name: str, view: str = "") -> None:
        cmd = [
            sys.executable,
            "-m",
            "omniopt_desktop.cli",
            "open",
            db,
            "--screenshot",
            os.path.join(out_dir, name),
        ]
        if view:
            cmd += ["--view", view]
        subprocess.run(cmd, check=True, env=env, cwd=ROOT)

    shot(single, "analysis-overview.png")
    for view in VIEWS:
        shot(single, f"analysis-{view}.png", view)
    shot(multi, "analysis-overview-multi.png")
    shot(multi, "analysis-pareto.png", "pareto")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "docs", "screenshots"))
