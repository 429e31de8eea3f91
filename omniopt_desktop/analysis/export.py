"""CSV export: one row per trial, columns as OmniOpt2's ``results.csv`` (see docs/export.md).

    trial_index, submit_time, start_time, end_time, run_time, program_string, exit_code,
    signal, hostname, trial_status, <one per objective>, <one per parameter>, OO_Info_<key>...

Times are whole unix seconds (UTC), as OmniOpt2 writes them; ``run_time`` is seconds with up to
three decimals; floats are written so they read back exactly; a missing value is an empty cell.
"""

from __future__ import annotations

import csv
import io
import math
from typing import IO, Any, Iterator, List, Optional

import numpy as np

from ..study import trial_attrs as A
from ..study.file_modes import write_atomic
from ..study.template import format_value
from .columns import TrialColumns, TrialState

FIXED_COLUMNS = (
    "trial_index",
    "submit_time",
    "start_time",
    "end_time",
    "run_time",
    "program_string",
    "exit_code",
    "signal",
    "hostname",
    "trial_status",
)
INFO_COLUMN_PREFIX = "OO_Info_"
# Ax's trial status names, which OmniOpt2's results.csv uses
STATUS_NAMES = {
    int(TrialState.RUNNING): "RUNNING",
    int(TrialState.COMPLETE): "COMPLETED",
    int(TrialState.PRUNED): "EARLY_STOPPED",
    int(TrialState.FAIL): "FAILED",
    int(TrialState.WAITING): "CANDIDATE",
}


def header(cols: TrialColumns) -> List[str]:
    out = list(FIXED_COLUMNS)
    taken = set(out)
    for name in [*cols.study.objective_names, *cols.param_names, *_info_keys(cols)]:
        label = (
            name
            if not name.startswith(A.INFO_PREFIX)
            else INFO_COLUMN_PREFIX + name[len(A.INFO_PREFIX) :]
        )
        while label in taken:  # a parameter named like an objective: keep both
            label += "_"
        taken.add(label)
        out.append(label)
    return out


def _info_keys(cols: TrialColumns) -> List[str]:
    return sorted(k for k in cols.user_attrs if k.startswith(A.INFO_PREFIX))


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, (float, np.floating)):
        v = float(v)
        if math.isnan(v):
            return ""
        if v.is_integer() and abs(v) < 2**53:
            return str(int(v))
    if isinstance(v, np.integer):
        v = int(v)
    if isinstance(v, (dict, list)):
        import json

        return json.dumps(v, sort_keys=True)
    return format_value(v)


def _seconds(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    return str(int(math.floor(float(v))))


def _duration(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    return _cell(round(float(v), 3))


def rows(cols: TrialColumns) -> Iterator[List[str]]:
    """The CSV rows (without header), one per trial in number order."""
    attrs = cols.user_attrs

    def col(key: str) -> Optional[np.ndarray]:
        return attrs.get(key)

    command, exit_code, signal, host = (
        col(A.COMMAND),
        col(A.EXIT_CODE),
        col(A.SIGNAL),
        col(A.HOSTNAME),
    )
    start, end, runtime = col(A.START), col(A.END), col(A.RUNTIME)
    infos = [attrs[k] for k in _info_keys(cols)]
    params = [(cols.param_info[n], cols.params[n]) for n in cols.param_names]
    k = cols.study.n_objectives

    def get(a: Optional[np.ndarray], i: int) -> Any:
        return None if a is None else a[i]

    for i in range(len(cols)):
        t_start = get(start, i)
        if t_start is None or t_start != t_start:
            t_start = cols.start[i]
        t_end = get(end, i)
        if t_end is None or t_end != t_end:
            t_end = cols.complete[i]
        rt = get(runtime, i)
        if (rt is None or rt != rt) and t_start == t_start and t_end == t_end:
            rt = float(t_end) - float(t_start)
        row = [
            str(int(cols.number[i])),
            _seconds(cols.start[i]),
            _seconds(t_start),
            _seconds(t_end),
            _duration(rt),
            _cell(get(command, i)),
            _cell(get(exit_code, i)),
            _cell(get(signal, i)),
            _cell(get(host, i)),
            STATUS_NAMES.get(int(cols.state[i]), "UNKNOWN"),
        ]
        row += [_cell(cols.values[i, j]) for j in range(k)]
        row += [_cell(info.external(values[i])) for info, values in params]
        row += [_cell(a[i]) for a in infos]
        yield row


def write_csv(cols: TrialColumns, out: IO[str]) -> int:
    """Write the header and one row per trial to ``out``; return the number of trials."""
    w = csv.writer(out, lineterminator="\n")
    w.writerow(header(cols))
    n = 0
    for row in rows(cols):
        w.writerow(row)
        n += 1
    return n


def to_csv_text(cols: TrialColumns) -> str:
    buf = io.StringIO()
    write_csv(cols, buf)
    return buf.getvalue()


def export_csv(cols: TrialColumns, path: str) -> int:
    """Write the CSV to ``path`` whole or not at all; return the number of trials."""
    return write_atomic(path, lambda f: write_csv(cols, f), newline="")
