"""RunMonitor's poll scheduling (no Qt): what each poll asks for, the back-off while nothing
changes or the cluster does not answer, the end; and the texts the GUI shows for a poll."""

from __future__ import annotations

from support.scripted_runs import (
    ScriptedRuns,
    demo_record,
    finished_status,
    job,
    stale,
    status,
    trial,
)

from omniopt_desktop.cluster.run_summary import jobs_text, state_text, trials_text
from omniopt_desktop.cluster.runs import RunMonitor
from omniopt_desktop.errors import RemoteError


def test_polls_ask_only_for_new_and_unfinished_trials(tmp_path):
    runs = ScriptedRuns(
        [
            status([trial(0), trial(1, "RUNNING")]),
            status([trial(1), trial(2, "RUNNING")]),
            finished_status([trial(2)]),
        ]
    )
    mon = RunMonitor(runs, demo_record(tmp_path))
    while not mon.finished:
        mon.poll()
    assert runs.calls == [(-1, ()), (1, (1,)), (2, (2,))]
    assert [t["state"] for t in mon.all_trials()] == ["COMPLETE"] * 3


def test_back_off_while_nothing_changes_or_the_cluster_is_silent(tmp_path):
    same = status([trial(0)])
    quiet = status([], counts={"COMPLETE": 1})  # same counts, no new trials
    runs = ScriptedRuns([same, quiet, quiet, stale(), RemoteError("connection lost"), stale(),
                         stale(), stale(), status([trial(1)], counts={"COMPLETE": 2})])  # fmt: skip
    mon = RunMonitor(runs, demo_record(tmp_path), interval=2.0, max_interval=10.0)
    intervals, stales = [], []
    for _ in range(9):
        st = mon.poll()
        intervals.append(mon.interval)
        stales.append(st.stale)
    assert intervals == [2.0, 3.0, 4.5, 9.0, 10.0, 10.0, 10.0, 10.0, 2.0]
    assert stales == [False, False, False, True, True, True, True, True, False]
    assert not mon.finished


def test_a_stale_poll_keeps_the_last_known_states_and_never_ends_the_run(tmp_path):
    runs = ScriptedRuns([status([trial(0)]), RemoteError("ssh: connection lost")])
    mon = RunMonitor(runs, demo_record(tmp_path))
    first = mon.poll()
    st = mon.poll()
    assert st.stale and st.error == "ssh: connection lost"
    assert st.study == first.study and st.jobs.stale
    assert set(st.jobs.jobs) == set(first.jobs.jobs)  # last known jobs, marked stale
    assert not st.finished and not mon.finished


def test_status_texts():
    st = status(
        jobs=[job("9", "RUNNING", ctl=True)]
        + [job(f"10_{i}", "RUNNING") for i in range(12)]
        + [job(f"10_{i}", "PENDING") for i in range(12, 15)]
        + [job("10_15", "COMPLETED")],
        counts={"COMPLETE": 7, "RUNNING": 2, "FAIL": 1},
        n_trials=20,
    )
    assert jobs_text(st) == "controller RUNNING, 12 workers RUNNING, 3 PENDING, 1 COMPLETED"
    assert trials_text(st) == "7 done, 2 running, 1 failed of 20"
    assert state_text(st) == "running"
    gone = status(controller="running", jobs=[job("9", "TIMEOUT", ctl=True)])
    assert state_text(gone) == "controller ended (TIMEOUT)"
    assert trials_text(stale()) == "" and jobs_text(stale()) == ""
