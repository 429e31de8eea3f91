"""A local run in a child process, reporting to the GUI through a queue. Qt-free.

The watcher of a local run (polling the study database, restarting workers) allocates a lot;
run in the GUI process its garbage collections and GIL use stall the event loop. In a child
process (``spawn``, so no Qt state is inherited) it cannot. Messages on the queue are
``("progress", Progress)``, ``("event", text)``, then one ``("done", RunSummary)`` or
``("error", one-line text)``.
"""

from __future__ import annotations

import multiprocessing
import os
import queue as queue_mod
import signal
from collections.abc import Callable
from typing import Any

from ..errors import OmniOptError


def child_main(study_dict: dict, run_dir: str, workers: int, study_file: str, q: Any) -> None:
    """The child's main thread: SIGINT (sent by :func:`run_in_child` on cancel) stops the run
    cleanly, as Ctrl-C does for ``omniopt-desktop run``."""
    from ..engine.local_run import run_local
    from ..study.model import Study

    try:
        summary = run_local(
            Study.from_dict(study_dict),
            run_dir,
            workers=workers,
            study_file=study_file,
            on_progress=lambda p: q.put(("progress", p)),
            on_event=lambda text: q.put(("event", str(text))),
        )
    except OmniOptError as e:
        q.put(("error", str(e)))
    except BaseException as e:  # noqa: BLE001 - reported to the GUI as one line
        q.put(("error", f"{type(e).__name__}: {e}"))
    else:
        q.put(("done", summary))


def run_in_child(
    study_dict: dict,
    run_dir: str,
    workers: int,
    study_file: str,
    on_message: Callable[[str, Any], None],
    cancelled: Callable[[], bool],
) -> Any:
    """Start the child, relay its messages to ``on_message`` until it is done; returns the
    RunSummary. ``cancelled()`` turning true asks the run to stop cleanly (it still returns)."""
    ctx = multiprocessing.get_context("spawn")
    q = ctx.Queue()
    proc = ctx.Process(
        target=child_main,
        args=(study_dict, run_dir, workers, study_file, q),
        name="omniopt-local-run",
    )
    proc.start()
    interrupted = False
    try:
        while True:
            if cancelled() and not interrupted and proc.pid is not None:
                interrupted = True
                os.kill(proc.pid, signal.SIGINT)
            try:
                kind, payload = q.get(timeout=0.2)
            except queue_mod.Empty:
                if not proc.is_alive():
                    raise OmniOptError(
                        f"the local run stopped unexpectedly (exit code {proc.exitcode}); "
                        f"see the logs in {run_dir}"
                    ) from None
                continue
            if kind == "done":
                return payload
            if kind == "error":
                raise OmniOptError(payload)
            on_message(kind, payload)
    finally:
        if proc.is_alive() and not interrupted and proc.pid is not None:
            os.kill(proc.pid, signal.SIGINT)
        proc.join(timeout=30)
        if proc.is_alive():
            proc.terminate()
            proc.join(5)
