"""The SLURM calls of the controller job: its worker array and its successor.

Run inside the controller's own job, so the environment drops inherited ``SLURM_*``/``SBATCH_*``
settings (all but ``SLURM_CONF``). Failures are logged and answered with ``None``/``False``; the
controller's next round looks again. Python 3.9+, stdlib only.
"""

from __future__ import annotations

import logging
import os
import subprocess
from typing import Dict, Optional, Sequence, Set, Tuple

from ..study import run_layout as L
from .run_files import record_job

log = logging.getLogger("omniopt.controller")

WORKER_SCRIPT = L.WORKER_SCRIPT
ACTIVE_JOB = {
    "PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "SUSPENDED", "STOPPED", "RESIZING",
    "SIGNALING", "STAGE_OUT", "REQUEUED", "REQUEUE_FED", "REQUEUE_HOLD", "RESV_DEL_HOLD",
    "SPECIAL_EXIT",
}  # fmt: skip


def slurm_env() -> Dict[str, str]:
    """The environment for sbatch/squeue inside a job: no inherited job settings."""
    return {
        k: v
        for k, v in os.environ.items()
        if k == "SLURM_CONF" or not (k.startswith("SLURM_") or k.startswith("SBATCH_"))
    }


def sh(argv: Sequence[str], timeout: float = 60.0) -> Tuple[int, str]:
    """Exit status and output (stdout, plus stderr on failure); 255 when it could not run."""
    try:
        p = subprocess.run(
            list(argv), capture_output=True, text=True, timeout=timeout, env=slurm_env()
        )
    except (OSError, subprocess.SubprocessError) as e:
        return 255, str(e)
    return p.returncode, p.stdout + (p.stderr if p.returncode else "")


def live_jobs(job_name: str) -> Optional[Set[str]]:
    """Ids (``J_T``) of the jobs named ``job_name`` still queued or running; None: no answer."""
    rc, out = sh(["squeue", "-h", "-r", "-t", "all", "-n", job_name, "-o", "%i|%T"])
    if rc != 0:
        log.warning("squeue failed (states unknown this round): %s", out.strip()[:300])
        return None
    live = set()
    for line in out.splitlines():
        jid, _, state = line.strip().partition("|")
        if jid and state.split()[0:1] and state.split()[0].rstrip("+") in ACTIVE_JOB:
            live.add(jid)
    return live


def submit_worker_array(run_dir: str, count: int) -> bool:
    """``sbatch`` ``count`` workers as one array of ``<run>/slurm/worker.sh``; recorded in jobs.txt."""
    script = os.path.join(run_dir, WORKER_SCRIPT)
    rc, out = sh(["sbatch", "--parsable", f"--array=0-{count - 1}", script])
    if rc != 0 or not out.strip().split(";")[0].isdigit():
        # sbatch may fail after queueing: the next round counts live jobs again
        log.warning("sbatch of %d worker(s) failed: %s", count, out.strip()[:300])
        return False
    job = out.strip().split(";")[0]
    record_job(run_dir, job, "wrk", count)
    log.info("submitted %d worker(s) as job %s", count, job)
    return True


def queue_successor(run_dir: str) -> Tuple[Optional[str], str]:
    """Queue the next controller job (``singleton``: it starts once this one has ended).

    Returns (job id, "") or (None, sbatch's output)."""
    script = os.path.join(run_dir, L.CONTROLLER_SCRIPT)
    rc, out = sh(["sbatch", "--parsable", "--dependency=singleton", script])
    job = out.strip().split(";")[0]
    if rc != 0 or not job.isdigit():
        return None, out.strip()[:300]
    record_job(run_dir, job, "ctl", 1)
    return job, ""


def cancel_jobs(job_name: str, pending_only: bool = False) -> None:
    """``scancel`` the jobs named ``job_name`` (only those still PENDING with ``pending_only``)."""
    sh(["scancel", *(["-t", "PENDING"] if pending_only else []), "-n", job_name])
