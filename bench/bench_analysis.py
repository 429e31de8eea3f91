"""Benchmark of the analysis side at 100,000 trials.

Builds a 100,000-trial, 10-parameter Optuna SQLite study (Optuna creates the schema, rows are
inserted with SQL), then prints:

* ``open --screenshot`` wall time (a new process, start-up included; target <= 3 s),
* the loader alone, and its speed relative to ``optuna.load_study(...).get_trials()`` on the
  same file (target >= 60x),
* the time to append 100 new trials to the live views of that study (incremental read of the
  new trials + merge + redraw of the visible view + one paint of it; target <= 100 ms), for each
  view as the visible one (median of ``--repeat``), and for all views redrawn one after another.

    python bench/bench_analysis.py [--trials 100000] [--skip-optuna] [--db PATH]
                                   [--compare-tree DIR]

``--compare-tree DIR`` times ``open --screenshot`` of another checkout (e.g. ``git worktree``
of an older commit) alternately with this one, side by side under the same load. The appends
go to a copy of the database (the file given with --db keeps its trials).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, ROOT)
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def timed(fn, repeat: int = 3):
    times = []
    result = None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), min(times), result


def write_journal(path: str, n: int, n_params: int = 10) -> None:
    """An Optuna journal with ``n`` finished trials, written line by line as Optuna does."""
    import json
    import random

    rng = random.Random(0)
    # Optuna writes each distribution as JSON text inside the JSON line
    num = json.dumps(
        {
            "name": "FloatDistribution",
            "attributes": {"step": None, "low": -5.0, "high": 5.0, "log": False},
        }
    )
    cat = json.dumps(
        {"name": "CategoricalDistribution", "attributes": {"choices": ["a", "b", "c"]}}
    )
    t0 = "2026-01-01T00:00:00.000000+00:00"
    with open(path, "w") as f:

        def put(d: dict) -> None:
            f.write(json.dumps(d, separators=(",", ":")) + "\n")

        put({"op_code": 0, "worker_id": "w", "study_name": "journal", "directions": [1]})
        for i in range(n):
            put({"op_code": 4, "worker_id": "w", "study_id": 0, "datetime_start": t0})
            for p in range(n_params - 1):
                v = rng.uniform(-5, 5)
                put(
                    {
                        "op_code": 5,
                        "worker_id": "w",
                        "trial_id": i,
                        "param_name": f"x{p}",
                        "param_value_internal": v,
                        "distribution": num,
                    }
                )
            put(
                {
                    "op_code": 5,
                    "worker_id": "w",
                    "trial_id": i,
                    "param_name": "c",
                    "param_value_internal": float(i % 3),
                    "distribution": cat,
                }
            )
            for key, v in (
                ("oo_hostname", f"node{i % 4}"),
                ("oo_exit_code", 0),
                ("oo_runtime", 1.5),
            ):
                put({"op_code": 8, "worker_id": "w", "trial_id": i, "user_attr": {key: v}})
            put(
                {
                    "op_code": 6,
                    "worker_id": "w",
                    "trial_id": i,
                    "state": 1,
                    "values": [rng.random()],
                    "datetime_complete": t0,
                }
            )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=100_000)
    ap.add_argument("--params", type=int, default=10)
    ap.add_argument("--skip-optuna", action="store_true", help="skip the slow Optuna baseline")
    ap.add_argument("--db", help="use (or create) this database instead of a temporary one")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--journal-trials", type=int, default=28_000)
    ap.add_argument("--compare-tree", metavar="DIR", help="another checkout, timed side by side")
    args = ap.parse_args()

    from support.analysis_studies import make_bulk_db

    tmp = tempfile.mkdtemp(prefix="oo-bench-analysis-")
    db = args.db or os.path.join(tmp, "study.db")
    if not os.path.exists(db):
        t = time.perf_counter()
        make_bulk_db(db, args.trials, n_params=args.params)
        print(
            f"built {args.trials} trials x {args.params} params in {time.perf_counter() - t:.1f} s: {db}"
        )
    print(
        f"database: {os.path.getsize(db) / 1e6:.0f} MB; machine: {os.cpu_count()} CPUs,"
        f" load average {os.getloadavg()[0]:.2f} (other work slows every figure below)"
    )

    # an installed package has its bytecode compiled (pip does it); this checkout may not
    # (PYTHONDONTWRITEBYTECODE), so compile it as an installation would
    import compileall

    compileall.compile_dir(os.path.join(ROOT, "omniopt_desktop"), quiet=1)

    # 1. open --screenshot, a new process each time (from this checkout, and --compare-tree)
    png = os.path.join(tmp, "shot.png")
    trees = [("this tree", ROOT)]
    if args.compare_tree:
        other = os.path.abspath(args.compare_tree)
        compileall.compile_dir(os.path.join(other, "omniopt_desktop"), quiet=1)
        trees.append((other, other))
    walls = {label: [] for label, _ in trees}
    phases = ""
    for _ in range(args.repeat):
        for label, tree in trees:  # alternately: both see the same load
            cmd = [sys.executable, "-m", "omniopt_desktop.cli", "open", db, "--screenshot", png]
            env = dict(os.environ, OMNIOPT_PHASES="1")
            t = time.perf_counter()
            proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tree, env=env)
            walls[label].append(time.perf_counter() - t)
            if proc.returncode != 0:
                raise SystemExit(f"open --screenshot ({label}) failed: {proc.stderr.strip()}")
            if tree == ROOT:
                phases = "\n".join(
                    "    " + line for line in proc.stderr.splitlines() if line.startswith("phase")
                )
    for label, times in walls.items():
        print(
            f"open --screenshot (wall, new process, {label}): median"
            f" {statistics.median(times):.2f} s, best {min(times):.2f} s  (target <= 3 s;"
            f" load average {os.getloadavg()[0]:.2f})"
        )
    if phases:
        print("  phases of the last run (OMNIOPT_PHASES=1; the loader runs beside the imports):")
        print(phases)

    # 2. the loader alone
    from omniopt_desktop.analysis.loader import load_trials

    cpu0 = time.process_time()
    med_load, best_load, cols = timed(lambda: load_trials(db), args.repeat)
    cpu_load = (time.process_time() - cpu0) / args.repeat
    print(
        f"loader (all columns, all user attrs): median {med_load:.2f} s, best {best_load:.2f} s"
        f" wall, {cpu_load:.2f} s CPU (2 threads) for {len(cols)} trials"
    )

    if not args.skip_optuna:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        t, cpu0 = time.perf_counter(), time.process_time()
        trials = optuna.load_study(study_name=None, storage=f"sqlite:///{db}").get_trials()
        t_optuna, cpu_optuna = time.perf_counter() - t, time.process_time() - cpu0
        assert len(trials) == len(cols)
        print(
            f"optuna.load_study().get_trials(): {t_optuna:.1f} s wall, {cpu_optuna:.1f} s CPU -> loader is"
            f" {t_optuna / med_load:.0f}x faster (median wall), {t_optuna / best_load:.0f}x (best wall),"
            f" {cpu_optuna / cpu_load:.0f}x in CPU time  (target >= 60x)"
        )

    # 2b. a journal file of --journal-trials trials (Optuna's operation log, written directly)
    journal = os.path.join(tmp, "study.journal")
    write_journal(journal, args.journal_trials)
    med_j, best_j, jcols = timed(lambda: load_trials(journal), args.repeat)
    print(
        f"journal loader: median {med_j:.2f} s, best {best_j:.2f} s for {len(jcols)} trials"
        f" ({os.path.getsize(journal) / 1e6:.0f} MB)"
    )
    if not args.skip_optuna:
        import optuna
        from optuna.storages.journal import JournalFileBackend

        t = time.perf_counter()
        storage = optuna.storages.JournalStorage(JournalFileBackend(journal))
        n = len(optuna.load_study(study_name=None, storage=storage).get_trials())
        t_oj = time.perf_counter() - t
        print(
            f"optuna JournalStorage get_trials(): {t_oj:.1f} s for {n} trials -> {t_oj / med_j:.0f}x"
        )

    # 3. append 100 new trials to the live views: each view of the panel in turn is the visible
    # one (hidden views only mark themselves dirty and redraw when shown), then all of them
    from PySide6.QtWidgets import QApplication

    from omniopt_desktop.gui.analysis import AnalysisPanel
    from omniopt_desktop.gui.analysis.panel import view_keys

    app = QApplication.instance() or QApplication([])
    if args.db:  # appends go to a copy: the database given keeps its trials
        db = shutil.copy(args.db, os.path.join(tmp, "append.db"))
    panel = AnalysisPanel(cols)
    panel.model.path = db
    panel.resize(1400, 900)
    panel.show()
    app.processEvents()
    from omniopt_desktop.analysis.loader import StudyFollower

    follower = StudyFollower(db)
    follower.seed(cols)
    start = len(cols)

    def add_trials() -> None:
        nonlocal start
        make_bulk_db(db, 100, n_params=args.params, create=False, start_number=start, seed=start)
        start += 100

    print(f"append 100 trials (load average {os.getloadavg()[0]:.2f}); target <= 100 ms per view:")
    per_view = {}
    for key in view_keys():
        panel.show_view(key)
        app.processEvents()
        panel.current_view().grab()
        times = []
        for _ in range(args.repeat):
            add_trials()
            t, cpu = time.perf_counter(), time.thread_time()
            new = follower.poll().columns  # what the live monitor reads: new + unfinished trials
            t_read = time.perf_counter() - t
            panel.append_trials(new)
            t_merge = time.perf_counter() - t - t_read
            panel.flush()  # the redraw the throttle timer would do
            panel.current_view().grab()  # and one paint of the view (into a pixmap)
            times.append((time.perf_counter() - t, t_read, t_merge, time.thread_time() - cpu))
        total, t_read, t_merge, t_cpu = sorted(times)[len(times) // 2]
        per_view[key] = total
        print(
            f"  '{key}' visible, {panel.model.n - 100 * args.repeat} trials before: median"
            f" {total * 1000:.0f} ms (read {t_read * 1000:.0f}, merge {t_merge * 1000:.0f}, redraw"
            f" + paint {(total - t_read - t_merge) * 1000:.0f}; GUI thread CPU {t_cpu * 1000:.0f} ms)"
        )
    worst = max(per_view, key=per_view.get)
    print(f"  slowest view: '{worst}' {per_view[worst] * 1000:.0f} ms")
    # every view brought up to date after one append, one after another (a user switching
    # through all tabs; the window itself only ever redraws the visible one)
    add_trials()
    t, cpu = time.perf_counter(), time.thread_time()
    panel.append_trials(follower.poll().columns)
    for key in view_keys():
        panel.show_view(key)
        panel.current_view().grab()
    total_all, cpu_all = time.perf_counter() - t, time.thread_time() - cpu
    print(
        f"append 100 trials, then redraw and paint all {len(view_keys())} views in turn:"
        f" {total_all * 1000:.0f} ms (GUI thread CPU {cpu_all * 1000:.0f} ms)"
    )
    panel.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
