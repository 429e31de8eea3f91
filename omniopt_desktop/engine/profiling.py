"""``OMNIOPT_WORKER_PROFILE=<folder>``: a worker's loop under cProfile (``bench_scale.py
--worker-profile``), CPU time of its main thread from its second trial on (the first one reads
the whole study), written to ``<folder>/worker-<pid>.prof`` when the worker ends.

Python 3.9+, stdlib.
"""

from __future__ import annotations

import os
import time
from typing import Any

PROFILE_ENV = "OMNIOPT_WORKER_PROFILE"


def profiled_run(worker: Any) -> Any:
    """``worker.run()`` under cProfile (see the module docstring)."""
    import cProfile

    prof = cProfile.Profile(time.process_time)
    first = worker.one_trial

    def one_trial() -> str:
        try:
            return first()
        finally:
            prof.enable()  # the first trial (a full read of the study) is not counted

    worker.one_trial = one_trial
    try:
        return worker.run()
    finally:
        prof.disable()
        prof.dump_stats(os.path.join(os.environ[PROFILE_ENV], f"worker-{os.getpid()}.prof"))
