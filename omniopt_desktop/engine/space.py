"""The study's search space, suggested define-by-run on an Optuna trial, and its constraints.

Contract:
- :meth:`SearchSpace.suggest` suggests the parameters in the study's order: float/int with
  low/high/log/step, choice via ``suggest_categorical``, fixed as a one-value categorical (so it
  is recorded with the trial). A parameter whose ``when`` is false, or reads a parameter that is
  inactive, is skipped and absent from the returned values.
- :meth:`SearchSpace.violations` evaluates the constraint rules on the values; a rule that reads
  an inactive parameter is not applicable (satisfied).
- :meth:`SearchSpace.record_constraints` tells the sampler through ``trial.set_constraint``
  (Optuna >= 5: ``constraints_func`` is deprecated), one key per rule, 1.0 violated, 0.0 met,
  on every trial so that all trials carry the same keys.

Python 3.9+, optuna + stdlib.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

from ..errors import ExpressionError
from ..study.expressions import Expression, compile_expression
from ..study.model import Parameter, ParamType, Study

CONSTRAINT_KEY = "rule{}"


class SearchSpace:
    def __init__(self, study: Study) -> None:
        self.parameters: List[Parameter] = list(study.parameters)
        self._when: Dict[str, Optional[Expression]] = {}
        for p in self.parameters:
            self._when[p.name] = compile_expression(p.when) if p.when else None
        self.rules: List[Expression] = [compile_expression(r) for r in study.constraints]
        self.names = [p.name for p in self.parameters]

    # -- suggestion ---------------------------------------------------------------------------
    def is_active(self, p: Parameter, values: Dict[str, Any]) -> bool:
        expr = self._when.get(p.name)
        if expr is None:
            return True
        if not expr.names <= set(values):
            return False  # reads an inactive parameter
        return bool(expr.evaluate(values))

    def suggest(self, trial: Any) -> Dict[str, Any]:
        """Suggest every active parameter on ``trial`` (an ``optuna.Trial``); return the values."""
        values: Dict[str, Any] = {}
        for p in self.parameters:
            if not self.is_active(p, values):
                continue
            values[p.name] = suggest_one(trial, p)
        return values

    # -- constraints -------------------------------------------------------------------------
    def violations(self, values: Dict[str, Any]) -> List[Tuple[int, str]]:
        """(index, rule text) of every rule the values break."""
        broken = []
        for i, rule in enumerate(self.rules):
            if not rule.names <= set(values):
                continue
            try:
                ok = bool(rule.evaluate(values))
            except ExpressionError:
                ok = False
            if not ok:
                broken.append((i, rule.text))
        return broken

    def record_constraints(self, trial: Any, broken: List[Tuple[int, str]]) -> None:
        bad = {i for i, _ in broken}
        for i in range(len(self.rules)):
            trial.set_constraint(CONSTRAINT_KEY.format(i), 1.0 if i in bad else 0.0)

    # -- grid ---------------------------------------------------------------------------------
    def grid(self) -> Dict[str, List[Any]]:
        """The grid for Optuna's GridSampler; floats need a step (ValueError otherwise)."""
        out: Dict[str, List[Any]] = {}
        for p in self.parameters:
            if p.type is ParamType.CHOICE:
                out[p.name] = list(p.values)
            elif p.type is ParamType.FIXED:
                out[p.name] = [p.value]
            elif p.type is ParamType.INT:
                step = int(p.step or 1)
                out[p.name] = list(range(int(p.low), int(p.high) + 1, step))  # type: ignore[arg-type]
            else:
                if not p.step:
                    raise ValueError(
                        f"parameter '{p.name}': the grid sampler needs a step for float parameters"
                    )
                n = int(round((float(p.high) - float(p.low)) / float(p.step)))  # type: ignore[arg-type]
                out[p.name] = [float(p.low) + k * float(p.step) for k in range(n + 1)]  # type: ignore[arg-type]
        return out


def suggest_one(trial: Any, p: Parameter) -> Any:
    if p.type is ParamType.FLOAT:
        step = None if p.log or not p.step else float(p.step)
        return trial.suggest_float(p.name, float(p.low), float(p.high), step=step, log=p.log)  # type: ignore[arg-type]
    if p.type is ParamType.INT:
        step = 1 if p.log or not p.step else int(p.step)
        return trial.suggest_int(p.name, int(p.low), int(p.high), step=step, log=p.log)  # type: ignore[arg-type]
    if p.type is ParamType.CHOICE:
        return trial.suggest_categorical(p.name, list(p.values))
    return trial.suggest_categorical(p.name, [p.value])
