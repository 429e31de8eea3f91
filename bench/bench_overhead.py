"""Per-trial overhead of a 4-worker study of a trivial program on the test cluster.

Brings up the single-node SLURM of the tests (root needed; ``tests/support/slurm.py``), submits
a study through the same code as ``omniopt-desktop submit`` (LocalRunner: the cluster is this
machine), waits for it, fetches the snapshot and computes from the trials' own records:

    overhead per trial = (sum over workers of (last trial end - first trial start)
                          - sum of the program run times) / number of trials

i.e. the wall time a worker spends per trial beyond the program's own run time (ask, command,
process start, output parsing, tell, leases). Target: under 0.2 s. Also printed: the time from
submission to the first trial (queueing, environment) and the total wall time.

    python bench/bench_overhead.py [--trials 200] [--workers 4] [--sampler tpe]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import optuna

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from support.cluster_runs import make_study_folder, wait_finished  # noqa: E402
from support.slurm import SlurmCluster, slurm_available  # noqa: E402

from omniopt_desktop.cluster.commands import LocalRunner  # noqa: E402
from omniopt_desktop.cluster.registry import Registry  # noqa: E402
from omniopt_desktop.cluster.remote_env import EnvConfig  # noqa: E402
from omniopt_desktop.cluster.runs import ClusterProfile, ClusterRuns  # noqa: E402
from omniopt_desktop.cluster.transfer import LocalTransfer  # noqa: E402

optuna.logging.set_verbosity(optuna.logging.WARNING)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--sampler", default="tpe")
    args = parser.parse_args()
    why = slurm_available()
    if why:
        print(f"bench_overhead: cannot start the test cluster: {why}", file=sys.stderr)
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="oo-bench-overhead-"))
    cluster = SlurmCluster().start()
    try:
        study, path = make_study_folder(
            tmp / "study", name="overhead", n_trials=args.trials, workers=args.workers
        )
        study.sampler = args.sampler
        profile = ClusterProfile(
            host="localhost",
            env=EnvConfig(base=str(tmp / "base"), existing_python=sys.executable),
            slurm_prefix=cluster.shell_prefix,
            controller_interval=2,
        )
        runs = ClusterRuns(
            LocalRunner(env=cluster.env), profile, Registry(str(tmp / "runs.json")), LocalTransfer()
        )
        t0 = time.time()
        record = runs.submit(study, str(path))
        st = wait_finished(runs, record, timeout=3600)
        wall = time.time() - t0
        assert st.controller_state == "done", st.to_json()
        snap = runs.fetch(record, str(tmp / "snap"))
    finally:
        cluster.stop()
    trials = optuna.load_study(study_name="overhead", storage="sqlite:///" + snap).trials
    done = [t for t in trials if t.state.name == "COMPLETE"]
    by_worker: dict[str, list] = defaultdict(list)
    for t in done:
        by_worker[str(t.user_attrs.get("oo_worker"))].append(t)
    busy = 0.0
    for ts in by_worker.values():
        busy += max(t.datetime_complete.timestamp() for t in ts) - min(
            t.datetime_start.timestamp() for t in ts
        )
    program = sum(float(t.user_attrs.get("oo_runtime", 0.0)) for t in done)
    per_trial = (busy - program) / len(done)
    first = min(t.datetime_start.timestamp() for t in done)
    runtimes = [float(t.user_attrs.get("oo_runtime", 0.0)) for t in done]
    print(f"{len(done)} trials COMPLETE by {len(by_worker)} workers (sampler {args.sampler})")
    print(f"program run time per trial: {statistics.median(runtimes) * 1000:.1f} ms median")
    print(f"per-trial overhead beyond the program: {per_trial * 1000:.0f} ms (target < 200 ms)")
    print(f"submission to first trial: {first - t0:.1f} s; total wall time {wall:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
