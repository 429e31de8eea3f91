"""How many program failures in a row a study ends with: the stop rule of ``study.max_failures``.

Counted study-wide, by completion time, so N workers stop after the limit and not after N times
the limit. Trials ended by a stop signal, a cancel or a lost worker are no program failures
(they are retried) and neither break nor extend the streak. Python 3.9+, optuna + stdlib.
"""

from __future__ import annotations

from typing import Any, Iterable, Tuple

from ..study import trial_attrs as A

# a stop signal (time limit, scancel) reaches the program too: "killed by SIGTERM" is no failure
STOPPED_REASONS = ("interrupted", "program killed by SIGTERM")
NOT_PROGRAM_FAILURES = (*STOPPED_REASONS, "cancelled", "worker ")


def failure_streak(trials: Iterable[Any]) -> Tuple[int, str]:
    """Consecutive program failures at the end of ``trials`` (FrozenTrials), and the reason of
    the latest one ("" when the streak is 0)."""
    from optuna.trial import TrialState

    done = [t for t in trials if t.state in (TrialState.COMPLETE, TrialState.FAIL)]
    done.sort(key=lambda t: (t.datetime_complete is None, t.datetime_complete, t.number))
    streak, reason = 0, ""
    for t in reversed(done):
        if t.state != TrialState.FAIL:
            break
        why = str(t.user_attrs.get(A.FAIL_REASON, ""))
        if why.startswith(NOT_PROGRAM_FAILURES):
            continue
        streak += 1
        reason = reason or why
    return streak, reason
