"""Names of the per-trial user attributes the engine writes and the analysis reads.

One place so that writer and readers agree. Python 3.9+, stdlib only.
"""

from __future__ import annotations

PREFIX = "oo_"
COMMAND = "oo_command"  # the exact command line run (str)
EXIT_CODE = "oo_exit_code"  # int or None (killed / not started)
SIGNAL = "oo_signal"  # name of the signal that ended the program, if any
HOSTNAME = "oo_hostname"
WORKER = "oo_worker"  # worker id: "<host>:<pid>" or SLURM "<jobid>_<task>"
START = "oo_start"  # unix time (float) the program started
END = "oo_end"  # unix time (float) the program ended
RUNTIME = "oo_runtime"  # seconds (float)
FAIL_REASON = "oo_fail_reason"  # one line: why the trial failed or was pruned
TRIAL_DIR = "oo_trial_dir"  # path of the trial folder relative to the run folder
RETRY_OF = "oo_retry_of"  # number of the trial this one retries
ATTEMPT = "oo_attempt"  # 1 for a first run, 2 for its first retry, ...
CONSTRAINT_VIOLATION = "oo_constraint"  # the violated rule: such a trial is PRUNED and was not run
INFO_PREFIX = "oo_info."  # OO-Info lines: "oo_info.<key>" -> value (str or number)
LEASE = "oo_lease"  # a *system* attr: engine lease {"worker", "host", "pgid", "until"}

# Trial folder files, relative to the trial's folder
CMD_FILE = "command.txt"
STDOUT_FILE = "stdout.txt"
STDERR_FILE = "stderr.txt"
STATUS_FILE = "status.json"
