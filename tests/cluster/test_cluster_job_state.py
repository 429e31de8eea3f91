"""Job-state parsing from recorded squeue / sacct / scontrol outputs."""

from __future__ import annotations

import pathlib

import pytest

from omniopt_desktop.cluster.job_state import (
    AccountingDisabled,
    JobId,
    JobState,
    expand_array_spec,
    is_transient_failure,
    parse_job_id,
    parse_sacct,
    parse_scontrol,
    parse_squeue,
    parse_state,
)
from omniopt_desktop.errors import ClusterError

REC = pathlib.Path(__file__).parent / "recorded"


@pytest.mark.parametrize(
    "text,state",
    [
        ("PENDING", JobState.PENDING),
        ("CANCELLED by 0", JobState.CANCELLED),
        ("CANCELLED by 1001", JobState.CANCELLED),
        ("RUNNING+", JobState.RUNNING),
        ("OUT_OF_MEMORY", JobState.OUT_OF_MEMORY),
        ("DEADLINE", JobState.DEADLINE),
        ("BOOT_FAIL", JobState.BOOT_FAIL),
        ("REQUEUED", JobState.REQUEUED),
        ("SUSPENDED", JobState.SUSPENDED),
        ("CD", JobState.COMPLETED),
        ("OOM", JobState.OUT_OF_MEMORY),
        ("QUANTUM_ENTANGLED", JobState.UNKNOWN),
        ("", JobState.UNKNOWN),
    ],
)
def test_parse_state(text, state):
    assert parse_state(text) is state


def test_every_state_is_exactly_one_of_active_finished_or_unknown():
    for s in JobState:
        assert s.is_active + s.is_finished + (s is JobState.UNKNOWN) == 1, s
    assert not JobState.UNKNOWN.is_finished and not JobState.UNKNOWN.is_failure
    assert JobState.CANCELLED.is_failure and not JobState.COMPLETED.is_failure
    assert {s for s in JobState if s.worth_resubmitting} == {
        JobState.TIMEOUT,
        JobState.NODE_FAIL,
        JobState.PREEMPTED,
        JobState.OUT_OF_MEMORY,
        JobState.BOOT_FAIL,
    }


@pytest.mark.parametrize(
    "text,expected,tasks",
    [
        ("123", JobId(123), ()),
        ("123_4", JobId(123, task=4), (4,)),
        ("123_[1-5%2]", JobId(123, array_spec="1-5%2"), (1, 2, 3, 4, 5)),
        (
            "20_[2-7,12-17,22%56]",
            JobId(20, array_spec="2-7,12-17,22%56"),
            (2, 3, 4, 5, 6, 7, 12, 13, 14, 15, 16, 17, 22),
        ),
        ("123.batch", JobId(123, step="batch"), ()),
        ("123_4.extern", JobId(123, task=4, step="extern"), (4,)),
        ("123.0", JobId(123, step="0"), ()),
        ("77+1", JobId(77, het=1), ()),
    ],
)
def test_parse_job_id(text, expected, tasks):
    jid = parse_job_id(text)
    assert jid == expected and jid.tasks == tasks and str(jid) == text


def test_array_spec_limit_and_step():
    assert expand_array_spec("2-7,12-17,22%56") == (
        (2, 3, 4, 5, 6, 7, 12, 13, 14, 15, 16, 17, 22),
        56,
    )
    assert expand_array_spec("1-9:4") == ((1, 5, 9), None)
    with pytest.raises(ClusterError):
        expand_array_spec("a-b")


def test_bad_job_id_is_an_error_with_the_text():
    with pytest.raises(ClusterError, match="garbage"):
        parse_job_id("garbage")


def test_sacct_rows_drop_steps_and_keep_every_state():
    rows = parse_sacct((REC / "sacct_parsable2.txt").read_text())
    states = {r.key: r.state for r in rows}
    assert not any(r.id.is_step for r in rows)
    assert states["4711"] is JobState.RUNNING
    assert states["4712_1"] is JobState.CANCELLED
    assert states["4712_3"] is JobState.OUT_OF_MEMORY
    assert states["4712_[4-7%2]"] is JobState.PENDING
    assert states["4720"] is JobState.UNKNOWN
    assert states["20_[2-7,12-17,22%56]"] is JobState.PENDING
    raw = {r.key: r.raw_state for r in rows}
    assert raw["4712_1"] == "CANCELLED by 0" and raw["4720"] == "QUANTUM_ENTANGLED"
    assert len(parse_sacct((REC / "sacct_parsable2.txt").read_text(), steps=True)) == 22


def test_sacct_accounting_disabled():
    with pytest.raises(AccountingDisabled):
        parse_sacct("", "sacct: error: Slurm accounting storage is disabled\n")


def test_squeue_rows():
    rows = parse_squeue((REC / "squeue_r.txt").read_text())
    assert [r.key for r in rows] == ["4711", "4712_5", "4712_4", "123_[1-5%2]", "4720", "4721"]
    assert rows[1].reason == "Resources" and rows[1].name == "oo-demo-wrk"
    assert all(r.state.is_active for r in rows)


def test_scontrol_records_with_spaces_in_values():
    rows = parse_scontrol((REC / "scontrol_o.txt").read_text())
    assert [r.key for r in rows] == ["4712_1", "4712_[2-7%2]", "4711"]
    assert rows[0].state is JobState.CANCELLED and rows[0].exit_code == "0:15"
    assert rows[1].reason == "JobArrayTaskLimit"


def test_scontrol_forgotten_job_is_no_row():
    assert parse_scontrol("slurm_load_jobs error: Invalid job id specified\n") == []


def test_unparsable_lines_raise_with_raw_text():
    with pytest.raises(ClusterError, match="weird"):
        parse_squeue("weird\n")
    with pytest.raises(ClusterError, match="weird"):
        parse_scontrol("weird line\n")


def test_transient_failures():
    assert is_transient_failure("squeue: error: Socket timed out on send/recv operation")
    assert is_transient_failure(
        "slurm_load_jobs error: Unable to contact slurm controller (connect failure)"
    )
    assert not is_transient_failure("sbatch: error: invalid partition specified: x")
