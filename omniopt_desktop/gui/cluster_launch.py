"""Launching on a cluster from the window: submit, load partitions, cancel and fetch runs.

Every remote operation runs over the app's one SSH session to the cluster
(:class:`~.session_pool.SessionPool`, shared with the runs list's polls), so a one-time code is
asked once per app session per cluster (:func:`~.session_pool.on_cluster`). Each is a task on
the window's TaskRunner with a TaskProgressDialog.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import QInputDialog

from .launch import open_analysis, saved_then
from .progress_dialog import TaskProgressDialog
from .runs_list import RunRow
from .session_pool import on_cluster
from .tasks import TaskHandle, TaskState

if TYPE_CHECKING:
    from .main_window import MainWindow
    from .session_pool import SessionPool


# -- cluster -----------------------------------------------------------------------------------
SUBMIT_STEPS = (
    "Connecting",
    "Setting up the environment",
    "Uploading the study",
    "Queueing the controller",
)


def submit_step(text: str) -> int | None:
    """Which of SUBMIT_STEPS a progress message of the submission belongs to."""
    t = text.lower()
    if t.startswith("connecting"):
        return 0
    if any(k in t for k in ("environment", "interpreter", "engine", "wheels", "remote folder")):
        return 1
    if "run folder" in t or "uploading the study" in t:
        return 2
    if "queue" in t:
        return 3
    return None


def _cluster_api() -> Any:
    """The submission service shared with ``omniopt-desktop submit``."""
    return importlib.import_module("omniopt_desktop.cli.cmd_submit")


def start_cluster_submission(window: MainWindow, profile_name: str | None = None) -> None:
    doc = window.doc
    if doc is None:
        return
    profiles = window.settings.profiles
    if not profiles:
        window.reporter.report(
            "no cluster profile yet: add one in Cluster → Cluster profiles…, then submit again"
        )
        window.edit_profiles()
        return
    if profile_name is None:
        names = [p.name for p in profiles]
        profile_name, ok = QInputDialog.getItem(
            window, "Submit to cluster", "Cluster profile:", names, 0, False
        )
        if not ok:
            return
    saved_then(window, lambda: launch_cluster(window, profile_name))


def launch_cluster(window: MainWindow, profile_name: str) -> TaskHandle | None:
    from .profiles.prompts import GuiPrompts

    doc = window.doc
    profile = window.settings.profile(profile_name)
    if doc is None or doc.path is None or profile is None:
        return None
    api = _cluster_api()
    prompts = GuiPrompts(window)
    study = doc.study.copy()
    study_path = doc.path
    pool = session_pool(window)

    def submit(state: TaskState) -> Any:
        prompts.bind(state)
        from ..cluster.runs import CREATING_RUN_FOLDER

        created: list[str] = []  # a run folder exists: a lost connection is not retried

        def progress(text: str) -> None:
            if text.startswith(CREATING_RUN_FOLDER):
                created.append(text)
            state.set_progress(None, text)

        def work(conn: Any) -> Any:
            return api.submit_study(
                study,
                study_path,
                host=profile.host,
                remote_base=profile.remote_base,
                env_setup=list(profile.env_setup),
                python=profile.python or "python3",
                wheelhouse=profile.wheelhouse or None,
                slurm_setup=profile.slurm_setup,
                ssh_config=profile.ssh_config,
                callbacks=prompts,
                on_progress=progress,
                cancelled=lambda: state.cancelled,
                connection=(conn.runner, conn.transfer),
            )

        return on_cluster(
            pool, profile.host, profile.ssh_config, prompts, state, work, lambda: not created
        )

    handle = window.tasks.submit(submit, name=f"submitting {study.name} to {profile.host}")
    dialog = TaskProgressDialog(
        handle, f"Submitting {study.name} to {profile.name}", SUBMIT_STEPS, window, submit_step
    )
    dialog.setObjectName("submit_dialog")
    window.run_dialog = dialog
    dialog.show()

    def submitted(run: Any) -> None:
        key = str(getattr(run, "run_id", getattr(run, "id", run)))
        window.runs.show_row(
            RunRow(
                key,
                "remote",
                study.name,
                f"{profile.host}:{profile.remote_base}",
                "submitted",
                0,
                study.n_trials,
            )
        )
        window.runs.refresh()

    handle.succeeded.connect(submitted)
    return handle


def load_partitions(window: MainWindow, profile_name: str | None = None) -> TaskHandle | None:
    """Fill the resources form's partition list from the cluster of a profile."""
    from .profiles.prompts import GuiPrompts

    profiles = window.settings.profiles
    if not profiles:
        window.reporter.report("no cluster profile yet: add one in Cluster → Cluster profiles…")
        return None
    if profile_name is None:
        if len(profiles) == 1:
            profile_name = profiles[0].name
        else:
            profile_name, ok = QInputDialog.getItem(
                window, "Load partitions", "Cluster profile:", [p.name for p in profiles], 0, False
            )
            if not ok:
                return None
    profile = window.settings.profile(profile_name)
    if profile is None:
        return None
    prompts = GuiPrompts(window)
    pool = session_pool(window)

    def query(state: TaskState) -> Any:
        prompts.bind(state)
        return fetch_partitions(pool, profile, prompts, state)

    panel = window.editor.resources_panel
    panel.load_button.setEnabled(False)
    handle = window.tasks.submit(
        query, name=f"reading partitions of {profile.host}", channel="partitions"
    )
    handle.succeeded.connect(panel.set_partitions)
    handle.ended.connect(lambda: panel.load_button.setEnabled(True))
    return handle


def fetch_partitions(pool: SessionPool, profile: Any, callbacks: Any, state: TaskState) -> list:
    """The SLURM partitions of the profile's cluster (worker thread)."""
    from ..cluster.partitions import list_partitions

    return on_cluster(
        pool,
        profile.host,
        profile.ssh_config,
        callbacks,
        state,
        lambda conn: list_partitions(conn.runner, profile.slurm_setup),
    )


# -- remote runs -------------------------------------------------------------------------------
def session_pool(window: MainWindow) -> SessionPool:
    """The app's SSH sessions, one per cluster (owned by the runs list's :class:`LiveRuns`)."""
    return window.runs.live.pool


def _with_cluster_runs(
    pool: SessionPool, record: Any, prompts: Any, state: TaskState, work: Any
) -> Any:
    """``work(runs)`` with a :class:`ClusterRuns` on a registered run's cluster (worker thread)."""
    from ..cluster.registry import Registry
    from ..cluster.runs import ClusterRuns
    from .session_pool import runs_profile

    def run(conn: Any) -> Any:
        progress = lambda text, f: state.set_progress(f, text)  # noqa: E731
        return work(
            ClusterRuns(conn.runner, runs_profile(record), Registry(), conn.transfer, progress)
        )

    return on_cluster(pool, record.host, record.ssh_config, prompts, state, run)


def cancel_remote_run(window: MainWindow, run_id: str) -> TaskHandle:
    from ..cluster.registry import Registry
    from .profiles.prompts import GuiPrompts

    prompts = GuiPrompts(window)
    pool = session_pool(window)

    def cancel(state: TaskState) -> Any:
        prompts.bind(state)
        record = Registry().get(run_id)
        return _with_cluster_runs(pool, record, prompts, state, lambda runs: runs.cancel(record))

    handle = window.tasks.submit(cancel, name=f"cancelling {run_id}", channel=f"remote:{run_id}")
    handle.succeeded.connect(lambda _r: window.runs.mark(run_id, state="cancelled"))
    handle.ended.connect(window.runs.refresh)
    return handle


def fetch_remote_run(
    window: MainWindow, run_id: str, open_after: bool = True, logs: bool = False
) -> TaskHandle:
    """Download a consistent snapshot of a cluster run, then open it in the analysis view
    (``logs``: the trial folders and logs too, beside it in ``<run id>-logs``)."""
    from ..cli.cmd_fetch import default_dest
    from ..cluster.registry import Registry
    from .profiles.prompts import GuiPrompts

    prompts = GuiPrompts(window)
    pool = session_pool(window)

    def fetch(state: TaskState) -> str:
        prompts.bind(state)
        record = Registry().get(run_id)
        dest = default_dest(record.run_id)
        return _with_cluster_runs(
            pool, record, prompts, state, lambda runs: runs.fetch(record, dest, logs=logs)
        )

    handle = window.tasks.submit(fetch, name=f"fetching {run_id}", channel=f"remote:{run_id}")
    dialog = TaskProgressDialog(handle, f"Fetching {run_id}", parent=window)
    dialog.setObjectName("fetch_dialog")
    window.run_dialog = dialog
    dialog.show()

    def fetched(path: str) -> None:
        window.runs.mark(run_id, db_path=path)
        if open_after:
            open_analysis(window, path)

    handle.succeeded.connect(fetched)
    return handle


