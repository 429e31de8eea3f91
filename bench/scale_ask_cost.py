"""``bench_scale.py --ask-cost``: one ask's cost (ask + suggest + tell, one process) at each
study size and number of RUNNING trials, Optuna's TPE against the engine's windowed TPE.
"""

from __future__ import annotations

import time
from typing import List

from scale_backends import STUDY_NAME, Backends
from support import scale as S


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
