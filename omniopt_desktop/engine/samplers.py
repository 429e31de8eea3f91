"""The Optuna sampler for a study: tpe (default), random, grid, cmaes, gp, nsga2.

Workers of one study must not draw the same random points, so each worker's seed is derived
from the study's seed and the worker's index. TPE runs multivariate (single objective) with
constant liar when several workers share the study, so running trials push others away, over a
bounded window of the study (see ``window_sampler``) so that an ask does not slow down as the
study grows.

Python 3.9+, optuna + stdlib.
"""

from __future__ import annotations

import importlib
from typing import Any, Optional

from ..errors import OmniOptError
from ..study.model import Study
from .space import SearchSpace

_NEEDS = {"cmaes": "cmaes", "gp": "torch"}


def worker_seed(seed: Optional[int], worker_index: int) -> Optional[int]:
    if seed is None:
        return None
    return (int(seed) * 1_000_003 + int(worker_index)) % (2**32)


def build_sampler(study: Study, n_workers: int = 1, worker_index: int = 0) -> Any:
    """A fresh sampler for one worker; OmniOptError for an unknown or unavailable sampler."""
    import optuna

    name = (study.sampler or "tpe").lower()
    seed = worker_seed(study.seed, worker_index)
    module = _NEEDS.get(name)
    if module is not None:
        try:
            importlib.import_module(module)
        except ImportError as e:
            raise OmniOptError(
                f"sampler '{name}' needs the Python package '{module}' where the workers run: "
                f'pip install {module}, or choose sampler = "tpe"'
            ) from e
    if name == "tpe":
        from .window_sampler import window_size_from_env, windowed

        tpe = optuna.samplers.TPESampler(
            seed=seed, multivariate=not study.is_multi_objective, constant_liar=n_workers > 1
        )
        window = window_size_from_env()
        return tpe if window is None else windowed(tpe, *window)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "grid":
        try:
            grid = SearchSpace(study).grid()
        except ValueError as e:
            raise OmniOptError(str(e)) from e
        return _grid_sampler(grid, seed)
    if name == "cmaes":
        return optuna.samplers.CmaEsSampler(seed=seed)
    if name == "gp":
        return optuna.samplers.GPSampler(seed=seed)
    if name == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed)
    raise OmniOptError(
        f"study.sampler '{name}' is unknown; use one of tpe, random, grid, cmaes, gp, nsga2"
    )


def _grid_sampler(grid: Any, seed: Optional[int]) -> Any:
    """Optuna's GridSampler, minus its ``study.stop()`` after the last point: that call is
    meant for ``optimize()`` and raises in an ask-and-tell loop (the trial is stored anyway).
    Once the grid is exhausted, Optuna re-runs visited points until ``n_trials``."""
    import optuna

    class GridSampler(optuna.samplers.GridSampler):
        def after_trial(self, study: Any, trial: Any, state: Any, values: Any) -> None:
            try:
                super().after_trial(study, trial, state, values)
            except RuntimeError as e:
                if "Study.stop" not in str(e):
                    raise

    return GridSampler(grid, seed=seed)
