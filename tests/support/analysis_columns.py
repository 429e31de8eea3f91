"""Small studies with known values as TrialColumns, for the analysis view tests."""

from __future__ import annotations

import numpy as np

from omniopt_desktop.analysis.columns import ParamInfo, ParamKind, StudyInfo, TrialColumns

T0 = 1_767_000_000.0

PARAMS = {
    "x": ParamInfo("x", ParamKind.FLOAT, -5.0, 5.0),
    "lr": ParamInfo("lr", ParamKind.FLOAT, 1e-4, 1e-1, log=True),
    "act": ParamInfo("act", ParamKind.CATEGORICAL, choices=("relu", "tanh", "gelu")),
}


def single_objective() -> TrialColumns:
    """6 trials: values 5, 3, (fail), 4, 1, (running); best is trial 4."""
    n = 6
    return TrialColumns(
        study=StudyInfo("known", ("minimize",), ("loss",), source=""),
        number=np.arange(n),
        state=np.array([1, 1, 3, 1, 1, 0], dtype=np.int8),
        values=np.array([5.0, 3.0, np.nan, 4.0, 1.0, np.nan]).reshape(n, 1),
        start=T0 + np.arange(n) * 10.0,
        complete=np.array([T0 + 5, T0 + 15, T0 + 25, T0 + 35, T0 + 45, np.nan]),
        params={
            "x": np.array([-4.0, -2.0, 0.0, 2.0, 4.0, 1.0]),
            "lr": np.array([1e-4, 1e-3, 1e-2, 1e-1, 1e-2, 1e-3]),
            "act": np.array([0.0, 1.0, 2.0, 0.0, 2.0, 1.0]),
        },
        param_info=PARAMS,
        user_attrs={
            "oo_worker": np.array(["a:1", "b:2", "a:1", "b:2", "a:1", "b:2"], dtype=object),
            "oo_hostname": np.array(["a", "b", "a", "b", "a", "b"], dtype=object),
            "oo_fail_reason": np.array([None, None, "exit code 3", None, None, None], dtype=object),
            "oo_runtime": np.array([5.0, 5.0, 5.0, 5.0, 5.0, np.nan]),
        },
    )


def multi_objective() -> TrialColumns:
    """5 completed trials in (minimize, maximize); the front is trials 0, 1, 3."""
    vals = np.array([[1.0, 1.0], [2.0, 3.0], [3.0, 2.0], [4.0, 5.0], [5.0, 4.0]])
    n = len(vals)
    return TrialColumns(
        study=StudyInfo("mo", ("minimize", "maximize"), ("cost", "score"), source=""),
        number=np.arange(n),
        state=np.ones(n, dtype=np.int8),
        values=vals,
        start=T0 + np.arange(n) * 10.0,
        complete=T0 + np.arange(n) * 10.0 + 5,
        params={"x": np.linspace(-4, 4, n)},
        param_info={"x": PARAMS["x"]},
        user_attrs={},
    )
