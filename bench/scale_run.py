"""``bench_scale.py``: one run of W real engine workers on one storage, its figures, and the
printed rows (see ``bench_scale.py``'s docstring for what they mean).
"""

from __future__ import annotations

import os
import tempfile
import time
from typing import Any, Dict, Optional

from scale_backends import STUDY_NAME, Backends
from scale_cpu import CpuSampler, format_per_trial
from support import scale as S

from omniopt_desktop.engine.profiling import PROFILE_ENV


def run_one(
    backends: Backends,
    kind: str,
    w: int,
    trials: int,
    sleep: float,
    prefill: int,
    caches: Optional[str] = None,
    profile_dir: Optional[str] = None,
    top: int = 25,
) -> Dict[str, Any]:
    from omniopt_desktop.engine.local_run import prepare_run
    from omniopt_desktop.engine.storage import ensure_study, open_storage

    url, dbname = backends.url(kind, prefill)
    run_dir = tempfile.mkdtemp(prefix=f"run-{kind}-{w}-", dir=backends.tmp)
    study = S.sleep_study(prefill + trials, sleep, STUDY_NAME)
    prepare_run(study, run_dir, url)
    ensure_study(open_storage(url), STUDY_NAME, ["minimize"])
    sampler = S.ConnectionSampler(backends.pg, dbname) if dbname else None
    t0 = time.time()
    if sampler:
        sampler.__enter__()
    env = {} if caches is None else {"OMNIOPT_WORKER_CACHE": caches}
    if profile_dir:
        env[PROFILE_ENV] = tempfile.mkdtemp(prefix="prof-", dir=profile_dir)
    workers = S.Workers(run_dir, url, w, env=env or None)
    cpu = CpuSampler([p.pid for p in workers.procs.values()], backends.pg, dbname).__enter__()
    try:
        codes = workers.wait(timeout=max(600.0, 20 * trials * sleep / w + 300))
    finally:
        cpu.__exit__(None, None, None)
        workers.kill_all()
        if sampler:
            sampler.__exit__(None, None, None)
    wall = time.time() - t0
    a = S.audit(run_dir, url, STUDY_NAME, prefill + trials, since_number=prefill)
    rate = S.steady_rate(a.ends)
    ideal = w / sleep
    gaps = a.engine_gaps
    ends = sorted(a.ends)
    lo, hi = int(0.1 * (len(ends) - 1)), int(0.9 * (len(ends) - 1))
    # gaps that begin in the steady part (no start-up: each worker's first read of the study)
    steady = [g for t, g in a.gap_starts if ends and ends[lo] <= t <= ends[hi]]
    per_trial = cpu.per_trial(ends[lo], ends[hi], hi - lo) if len(ends) >= 10 else {}
    if profile_dir:
        # each worker's first trial (its full read of the study) is not profiled
        print_worker_profile(env[PROFILE_ENV], a.complete_in_run - w, top)
    return {
        "per_trial": per_trial,
        "storage": kind + {None: "", "0": " off", "1": " cache", "2": " fast"}[caches],
        "load": os.getloadavg()[0],
        "W": w,
        "trials": a.complete_in_run,
        "wall": wall,
        "rate": rate,
        "ideal": ideal,
        "ratio": rate / ideal,
        "p50": S.percentile(gaps, 50),
        "p95": S.percentile(gaps, 95),
        "p99": S.percentile(gaps, 99),
        "steady_p95": S.percentile(steady, 95) if steady else float("nan"),
        "steady_n": len(steady),
        "runtime": S.percentile(a.runtimes, 50),
        "retried": a.retried_errors,
        "failed": sum(a.failed_reasons.values()),
        "reasons": a.failed_reasons,
        "conns": sampler.peak if sampler else None,
        "exits": sorted({str(c) for c in codes.values()}),
        "check": a.line(),
        "ok": a.ok,
        "run_dir": run_dir,
    }


def print_worker_profile(folder: str, trials: int, top: int) -> None:
    """The workers' cProfile stats (``--worker-profile``) merged: top functions by own and by
    cumulative time, in ms per trial of the run."""
    import io
    import pstats

    files = [os.path.join(folder, f) for f in sorted(os.listdir(folder)) if f.endswith(".prof")]
    if not files:
        return
    st = pstats.Stats(*files, stream=io.StringIO())
    rows = st.stats  # type: ignore[attr-defined]
    for key, title in ((2, "own"), (3, "cumulative")):
        print(f"  workers' profile, {len(files)} workers, ms per trial by {title} time:")
        best = sorted(rows.items(), key=lambda kv: -kv[1][key])[:top]
        for (path, line, fn), v in best:
            where = f"{os.path.basename(path)}:{line}({fn})"
            print(
                f"    {v[key] * 1000 / max(1, trials):8.2f}  {v[1] / max(1, trials):7.1f}  {where}"
            )


def print_row(r: Dict[str, Any]) -> None:
    conns = "-" if r["conns"] is None else str(r["conns"])
    print(
        f"{r['storage']:12s} {r['W']:4d} {r['trials']:6d} {r['rate']:8.1f} {r['ideal']:7.1f} "
        f"{r['ratio']:6.2f} {r['p50']:7.3f} {r['p95']:7.3f} {r['p99']:7.3f} {r['runtime']:6.2f} "
        f"{r['retried']:7d} {r['failed']:6d} {conns:>6s} {r['load']:5.1f}  "
        f"exits {','.join(r['exits'])}  "
        f"{r['check']}",
        flush=True,
    )
    print(
        f"{'':15s}steady part (gaps starting between the 10th and 90th percentile of ends): "
        f"n {r['steady_n']}, p95 {r['steady_p95']:.3f} s",
        flush=True,
    )
    if r.get("per_trial"):
        print(f"{'':15s}{format_per_trial(r['per_trial'])}", flush=True)
    if not r["ok"]:
        print(f"{'':15s}kept for inspection: {r['run_dir']}", flush=True)
    if r["reasons"]:
        print(f"{'':15s}failed: {r['reasons']}", flush=True)


HEADER = (
    f"{'storage':12s} {'W':>4s} {'trials':>6s} {'trial/s':>8s} {'ideal':>7s} {'ratio':>6s} "
    f"{'p50 s':>7s} {'p95 s':>7s} {'p99 s':>7s} {'prog s':>6s} {'retried':>7s} {'failed':>6s} "
    f"{'conns':>6s} {'load':>5s}  check"
)
