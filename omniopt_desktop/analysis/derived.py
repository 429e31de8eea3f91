"""Series derived from :class:`TrialColumns`: best-so-far, Pareto front and hypervolume,
parameter importance (PED-ANOVA on the columns), empirical distribution, failures by reason.

Everything works on numpy arrays and stays fast at 100,000 trials. Objectives are turned into
losses (maximised ones negated) internally; results are returned in the user's units.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from itertools import repeat
from typing import Dict, List, Optional, Tuple

import numpy as np

from ..study import trial_attrs as A
from .columns import ParamInfo, ParamKind, TrialColumns, TrialState


def _sign(direction: str) -> float:
    return -1.0 if direction == "maximize" else 1.0


def completed_mask(cols: TrialColumns) -> np.ndarray:
    """COMPLETE trials whose objective values are all finite."""
    ok = cols.state == int(TrialState.COMPLETE)
    if cols.values.size:
        ok &= np.isfinite(cols.values).all(axis=1)
    return ok


def losses(cols: TrialColumns) -> np.ndarray:
    """Objective values as losses (lower is better), shape (n, k)."""
    signs = np.array([_sign(d) for d in cols.study.directions])
    return cols.values * signs


# -- best so far -------------------------------------------------------------------------------
@dataclass(frozen=True)
class BestSoFar:
    number: np.ndarray  # numbers of completed trials
    value: np.ndarray  # their objective values
    best: np.ndarray  # best value up to and including each of them


def best_so_far(cols: TrialColumns, objective: int = 0) -> BestSoFar:
    ok = completed_mask(cols)
    nums = cols.number[ok]
    vals = cols.values[ok, objective] if cols.values.size else np.empty(0)
    if cols.study.directions[objective] == "maximize":
        best = np.maximum.accumulate(vals) if len(vals) else vals
    else:
        best = np.minimum.accumulate(vals) if len(vals) else vals
    return BestSoFar(nums, vals, best)


def best_row(cols: TrialColumns, objective: int = 0) -> Optional[int]:
    """Row of the best completed trial for one objective (first one on ties), or None."""
    ok = np.flatnonzero(completed_mask(cols))
    if not len(ok):
        return None
    loss = losses(cols)[ok, objective]
    return int(ok[int(np.argmin(loss))])


# -- Pareto front and hypervolume -------------------------------------------------------------
def pareto_mask(loss: np.ndarray) -> np.ndarray:
    """Non-dominated rows of a (n, k) loss array (minimisation)."""
    n = loss.shape[0]
    mask = np.zeros(n, dtype=bool)
    if n == 0:
        return mask
    if loss.shape[1] == 1:
        mask[loss[:, 0] == loss[:, 0].min()] = True
        return mask
    if loss.shape[1] == 2:
        order = np.lexsort((loss[:, 1], loss[:, 0]))
        y = loss[order, 1]
        prev_best = np.concatenate([[np.inf], np.minimum.accumulate(y)[:-1]])
        keep = y < prev_best
        # equal points: keep every copy of a kept point
        x = loss[order, 0]
        same = np.zeros(n, dtype=bool)
        same[1:] = (x[1:] == x[:-1]) & (y[1:] == y[:-1])
        for i in np.flatnonzero(same):
            keep[i] = keep[i - 1]
        mask[order[keep]] = True
        return mask
    alive = np.arange(n)
    pts = loss
    while len(alive):
        sums = pts[alive].sum(axis=1)
        pick = alive[int(np.argmin(sums))]
        p = pts[pick]
        mask[pick] = True
        rest = pts[alive]
        dominated = (rest >= p).all(axis=1) & (rest > p).any(axis=1)
        alive = alive[~dominated & (alive != pick)]
        # points equal to p stay and are picked in turn (they are non-dominated too)
    return mask


def pareto_front_rows(cols: TrialColumns) -> np.ndarray:
    """Rows of the completed trials on the Pareto front, sorted by the first objective."""
    ok = np.flatnonzero(completed_mask(cols))
    if not len(ok):
        return ok
    loss = losses(cols)[ok]
    rows = ok[pareto_mask(loss)]
    return rows[np.argsort(cols.values[rows, 0], kind="stable")]


def reference_point(loss_front: np.ndarray) -> np.ndarray:
    """Default hypervolume reference (in loss space): 10% beyond the front's worst corner."""
    worst, best = loss_front.max(axis=0), loss_front.min(axis=0)
    span = np.where(worst > best, worst - best, np.maximum(np.abs(worst), 1.0))
    return worst + 0.1 * span


def hypervolume(loss_front: np.ndarray, ref: np.ndarray) -> float:
    """Hypervolume dominated by ``loss_front`` (minimisation) up to ``ref``; exact for 2-D and
    for small N-D fronts (slicing), Monte Carlo (fixed seed) for large fronts in 4+ dimensions."""
    pts = loss_front[(loss_front < ref).all(axis=1)]
    if not len(pts):
        return 0.0
    k = pts.shape[1]
    if k == 1:
        return float(ref[0] - pts[:, 0].min())
    if k == 2:
        return _hv2(pts, ref)
    if k == 3 or len(pts) <= 64:
        return _hv_slices(pts, ref)
    rng = np.random.default_rng(0)
    lo = pts.min(axis=0)
    samples = rng.uniform(lo, ref, size=(200_000, k))
    hit = np.zeros(len(samples), dtype=bool)
    for p in pts:
        hit |= (samples >= p).all(axis=1)
    return float(hit.mean() * np.prod(ref - lo))


def _hv2(pts: np.ndarray, ref: np.ndarray) -> float:
    order = np.argsort(pts[:, 0], kind="stable")
    x, y = pts[order, 0], pts[order, 1]
    y_best = np.minimum.accumulate(y)
    x_next = np.concatenate([x[1:], [ref[0]]])
    return float(np.sum((x_next - x) * (ref[1] - y_best)))


def _hv_slices(pts: np.ndarray, ref: np.ndarray) -> float:
    k = pts.shape[1]
    if k == 2:
        return _hv2(pts, ref)
    order = np.argsort(pts[:, -1], kind="stable")
    pts = pts[order]
    total = 0.0
    for i in range(len(pts)):
        top = pts[i + 1, -1] if i + 1 < len(pts) else ref[-1]
        depth = top - pts[i, -1]
        if depth > 0:
            sub = pts[: i + 1, :-1]
            sub = sub[pareto_mask(sub)]
            total += depth * _hv_slices(sub, ref[:-1])
    return float(total)


# -- parameter importance (PED-ANOVA) ---------------------------------------------------------
N_STEPS = 50
PRIOR_WEIGHT = 1.0


def importance(
    cols: TrialColumns, objective: int = 0, target_quantile: float = 0.1
) -> Dict[str, float]:
    """PED-ANOVA importance of each parameter for reaching the top ``target_quantile`` of the
    completed trials (Watanabe et al., IJCAI 2023; conditional parameters as in condPED-ANOVA:
    an inactive parameter forms its own regime). Sorted, most important first."""
    ok = np.flatnonzero(completed_mask(cols))
    out = {name: 0.0 for name in cols.param_names}
    if len(ok) <= 1:
        return out
    loss = losses(cols)[ok, objective]
    cut_index = int(math.ceil(target_quantile * len(loss))) - 1
    cutoff = np.partition(loss, cut_index)[cut_index]
    top = loss <= cutoff
    n_top, n_all = int(top.sum()), len(loss)
    if n_top == n_all:
        return out
    for name in cols.param_names:
        info = cols.param_info[name]
        x = cols.params[name][ok]
        active = ~np.isnan(x)
        if active.sum() < 2:
            continue
        if info.is_categorical and len(info.choices) <= 1:
            continue
        if not info.is_categorical and (info.low is None or info.low == info.high):
            continue
        top_active = active & top
        if not top_active.any():
            continue
        alpha = top_active.sum() / n_top
        beta = active.sum() / n_all
        counts_top = _grid_counts(info, x[top_active])
        counts_all = _grid_counts(info, x[active])
        pdf_top = _parzen_on_grid(info, counts_top) + 1e-12
        pdf_all = _parzen_on_grid(info, counts_all) + 1e-12
        div = float(pdf_all @ ((pdf_top / pdf_all - 1.0) ** 2))
        out[name] += alpha**2 / beta * div
    scale = (n_top / n_all) ** 2
    return dict(sorted(((k, v * scale) for k, v in out.items()), key=lambda kv: -kv[1]))


def _grid_counts(info: ParamInfo, x: np.ndarray) -> np.ndarray:
    if info.kind is ParamKind.CATEGORICAL:
        return np.bincount(x.astype(int), minlength=len(info.choices))
    low, high = float(info.low), float(info.high)
    n_steps = N_STEPS
    if info.kind is ParamKind.INT and info.log:
        n_steps = min(int(math.ceil(math.log2(high - low + 1))) + 1, n_steps)
    elif info.step:
        n_steps = min(int(round((high - low) / info.step)) + 1, n_steps)
    if info.log:
        low, high, x = math.log(low), math.log(high), np.log(x)
    n_steps = max(n_steps, 2)
    step = (high - low) / (n_steps - 1)
    idx = np.clip(np.ceil((x - low) / step - 0.5).astype(int), 0, n_steps - 1)
    return np.bincount(idx, minlength=n_steps)


_erf = np.frompyfunc(math.erf, 1, 1)


def _parzen_on_grid(info: ParamInfo, counts: np.ndarray) -> np.ndarray:
    """Probability of each grid cell under a Parzen estimator of the observed cells."""
    size = len(counts)
    obs = np.flatnonzero(counts)
    w = counts[obs].astype(float)
    mix = np.append(w, PRIOR_WEIGHT)
    mix /= mix.sum()
    if info.kind is ParamKind.CATEGORICAL:
        n_kernels = len(obs) + 1
        kern = np.full((n_kernels, size), PRIOR_WEIGHT / n_kernels)
        kern[np.arange(len(obs)), obs] += 1.0
        kern /= kern.sum(axis=1, keepdims=True)
        return mix @ kern
    # discretised truncated normals on cells 0..size-1, bandwidth by Scott's rule
    total = w.sum()
    mean = (obs @ w) / total
    sd = math.sqrt(((obs - mean) ** 2 @ w) / max(1.0, total - 1))
    cum = np.cumsum(w)
    q1 = obs[min(len(obs) - 1, int(np.searchsorted(cum, total // 4, side="left")))]
    q3 = obs[min(len(obs) - 1, int(np.searchsorted(cum, total * 3 // 4, side="right")))]
    sigma = 1.059 * min((q3 - q1) / 1.34, sd) * total**-0.2
    sigma = max(sigma, 0.5 / 1.64)
    mus = np.append(obs.astype(float), (size - 1) / 2.0)
    sigmas = np.append(np.full(len(obs), sigma), size)
    edges = np.arange(size + 1) - 0.5
    z = (edges[None, :] - mus[:, None]) / (sigmas[:, None] * math.sqrt(2.0))
    cdf = 0.5 * (1.0 + _erf(z).astype(float))
    cell = np.diff(cdf, axis=1)
    cell /= np.maximum(cell.sum(axis=1, keepdims=True), 1e-300)
    return mix @ cell


# -- empirical distribution, failures ---------------------------------------------------------
def empirical_distribution(cols: TrialColumns, objective: int = 0) -> Tuple[np.ndarray, np.ndarray]:
    """Sorted objective values of completed trials and the fraction of trials at or below each."""
    ok = completed_mask(cols)
    v = np.sort(cols.values[ok, objective]) if cols.values.size else np.empty(0)
    return v, np.arange(1, len(v) + 1) / max(len(v), 1)


def failures_by_reason(cols: TrialColumns) -> List[Tuple[str, int]]:
    """(reason, count) of FAILed trials, most frequent first; unknown reasons as '(no reason)'."""
    failed = cols.state == int(TrialState.FAIL)
    reasons = cols.user_attrs.get(A.FAIL_REASON)
    if reasons is None:
        n = int(failed.sum())
        return [("(no reason recorded)", n)] if n else []
    counter = Counter(
        "(no reason recorded)" if (r is None or r != r) else str(r) for r in reasons[failed]
    )
    return sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))


def counts_by_state(cols: TrialColumns) -> Dict[str, int]:
    return {s.name: cols.count(s) for s in TrialState}


def worker_labels(cols: TrialColumns) -> Tuple[List[str], np.ndarray]:
    """Distinct workers (oo_worker, else oo_hostname, else '?'), in order of first appearance,
    and each trial's worker index."""
    for key in (A.WORKER, A.HOSTNAME):
        col = cols.user_attrs.get(key)
        if col is not None:
            return _factorize(col)
    return ["?"], np.zeros(len(cols), dtype=int)


def _factorize(col: np.ndarray) -> Tuple[List[str], np.ndarray]:
    """Distinct labels of a column in order of first appearance, and each row's index.
    Only the few distinct values go through Python one by one; missing ones are '?'."""
    values = col.tolist()
    try:
        distinct = list(dict.fromkeys(values))  # NaN objects may repeat here: harmless
    except TypeError:  # unhashable values (lists from JSON): by their text
        values = ["?" if (v is None or v != v) else str(v) for v in values]
        distinct = list(dict.fromkeys(values))
    labels: Dict[str, int] = {}
    code: Dict[object, int] = {}
    for v in distinct:
        code[v] = labels.setdefault("?" if (v is None or v != v) else str(v), len(labels))
    # NaN objects other than the first one are not found (NaN != NaN): -1, then "?"
    idx = np.fromiter(map(code.get, values, repeat(-1)), dtype=np.int64, count=len(values))
    missing = idx < 0
    if missing.any():
        idx[missing] = labels.setdefault("?", len(labels))
    return list(labels), idx


def merged_segments(
    start: np.ndarray, end: np.ndarray, row: np.ndarray, gap: float
) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Segments on the same row closer than ``gap`` joined into one (drawing 100,000 bars
    that are narrower than a pixel is slow and looks the same)."""
    if not len(start):
        return start, end, row
    order = np.lexsort((start, row))
    s, e, r = start[order], end[order], row[order]
    # the furthest end so far within each row: rows are lifted apart by a large offset so
    # that one running maximum over all of them never mixes two rows
    new_row = np.r_[True, r[1:] != r[:-1]]
    group = np.cumsum(new_row) - 1
    offset = group * (float(np.nanmax(e) - np.nanmin(s) + 1.0) * 2.0)
    reach = np.maximum.accumulate(e + offset) - offset
    opens = np.r_[True, (s[1:] > reach[:-1] + gap) | new_row[1:]]
    first = np.flatnonzero(opens)
    last = np.r_[first[1:], len(s)] - 1
    return s[first], reach[last], r[first]
