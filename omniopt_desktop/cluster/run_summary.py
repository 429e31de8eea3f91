"""Short texts for one poll of a cluster run, as the runs list and the live monitor show them.

``jobs_text``: "controller RUNNING, 12 workers RUNNING, 3 PENDING";
``trials_text``: "7 done, 2 running, 1 failed of 20". No Qt.
"""

from __future__ import annotations

from collections import Counter

from .runs import RunStatus

# the order states are listed in: what runs first, then what waits, then what ended
_ORDER = ("RUNNING", "COMPLETING", "CONFIGURING", "PENDING", "REQUEUED", "SUSPENDED")


def _ordered(counter: Counter) -> list[tuple[str, int]]:
    return sorted(
        counter.items(), key=lambda kv: (_ORDER.index(kv[0]) if kv[0] in _ORDER else 99, kv[0])
    )


def jobs_text(st: RunStatus) -> str:
    """The controller's job state and the workers counted by state ("" when none is known)."""
    ctl = [j for j in st.jobs.jobs.values() if j.name.endswith("-ctl")]
    workers: Counter = Counter()
    for j in st.jobs.jobs.values():
        if not j.name.endswith("-ctl"):  # a pending array remainder stands for several tasks
            workers[j.state.value] += max(1, len(j.id.tasks))
    parts = []
    if ctl:
        parts.append(f"controller {ctl[-1].state.value}")
    for i, (state, n) in enumerate(_ordered(workers)):
        noun = (" worker" + "s" * (n != 1)) if i == 0 else ""
        parts.append(f"{n}{noun} {state}")
    return ", ".join(parts)


def trials_text(st: RunStatus) -> str:
    """Trial counts against the budget ("" before the study answered once)."""
    if not st.study:
        return ""
    c = st.counts
    total = st.study.get("n_trials")
    text = f"{c.get('COMPLETE', 0)} done, {c.get('RUNNING', 0)} running, {c.get('FAIL', 0)} failed"
    if c.get("PRUNED"):
        text += f", {c['PRUNED']} pruned"
    return f"{text} of {total}" if total else text


def state_text(st: RunStatus) -> str:
    """The run's state in a word or two: the controller's state, or why it ended."""
    if st.controller_gone and not st.stale:
        ctl = [j for j in st.jobs.jobs.values() if j.name.endswith("-ctl")]
        return f"controller ended ({ctl[-1].state.value})" if ctl else "controller ended"
    return st.controller_state
