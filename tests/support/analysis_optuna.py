"""Studies written by plain Optuna (its own storage code), for the analysis tests."""

from __future__ import annotations

import math
from typing import Any, List

CHOICES: List[Any] = ["relu", 3, 2.5, True, None]


def fill_study(storage: Any, name: str = "plain", n: int = 12, directions=("minimize",)) -> None:
    """Trials with float-log, int, step-float and categorical (mixed-type) params and user attrs.

    Every 5th trial FAILs (oo_fail_reason), trial 7 is PRUNED, one trial is left RUNNING, and in
    multi-objective studies trial 2 has an infinite value.
    """
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        storage=storage,
        study_name=name,
        directions=list(directions),
        sampler=optuna.samplers.RandomSampler(seed=3),
    )
    for i in range(n):
        t = study.ask()
        lr = t.suggest_float("lr", 1e-5, 1e-1, log=True)
        layers = t.suggest_int("layers", 1, 8)
        act = t.suggest_categorical("act", CHOICES)
        if act == "relu":
            t.suggest_float("momentum", 0.0, 0.9, step=0.1)
        t.set_user_attr("oo_hostname", f"host{i % 2}")
        t.set_user_attr("oo_worker", f"host{i % 2}:{100 + i % 3}")
        t.set_user_attr("oo_command", f"python3 train.py --lr {lr!r} --act '{act}'")
        t.set_user_attr("oo_info.note", f"n{i}")
        if i % 5 == 4:
            t.set_user_attr("oo_fail_reason", "exit code 2" if i % 2 else "timeout after 30s")
            t.set_user_attr("oo_exit_code", 2)
            study.tell(t, state=optuna.trial.TrialState.FAIL)
        elif i == 7:
            study.tell(t, state=optuna.trial.TrialState.PRUNED)
        else:
            t.set_user_attr("oo_exit_code", 0)
            base = math.log10(lr) + layers
            vals = [base + j for j in range(len(directions))]
            if len(directions) > 1 and i == 2:
                vals[1] = float("inf")
            study.tell(t, vals if len(directions) > 1 else vals[0])
    study.ask()  # one left RUNNING
