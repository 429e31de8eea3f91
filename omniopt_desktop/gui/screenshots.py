"""Render the docs' screenshots: ``python -m omniopt_desktop.gui.screenshots OUTDIR``.

Uses the real window on the real platform (run it under Xvfb with ``QT_QPA_PLATFORM=xcb``):
the study editor (parameters and program tabs), the cluster profile dialog, the runs list after
a real short local run of the bundled quadratic example, and the import dialog. The app's
settings go to a temporary folder unless XDG_CONFIG_HOME is set.

The first cluster run's dialogs (host key, password and one-time code, the submission's
environment step and its failure without internet) are the real dialogs, filled with what the
real code makes of a scripted cluster (:class:`ScriptedCluster`): no cluster is needed.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import shutil
import sys
import tempfile
import threading
from typing import Any

from .. import paths

IMPORT_SAMPLE = (
    "./omniopt --partition=alpha --experiment_name=mnist --mem_gb=8 --time=120 \\\n"
    "    --worker_timeout=60 --max_eval=200 --num_parallel_jobs=10 --gpus=1 --follow \\\n"
    "    --run_program=cHl0aG9uMyB0cmFpbi5weSAtLWxyICUobHIpIC0tb3B0ICUob3B0KQ== \\\n"
    "    --parameter lr range 0.0001 0.1 float --parameter opt choice adam,sgd,rmsprop \\\n"
    "    --parameter epochs range 5 50 int --result_names loss=min\n"
)


HOST = "login1.taurus.hrsk.tu-dresden.de"
USER_AT_HOST = f"alice@{HOST}"
# what an sshd's ed25519 key looks like as ssh prints it (a made-up key, so a made-up print)
FINGERPRINT = "SHA256:" + base64.b64encode(hashlib.sha256(b"omniopt docs key").digest()).decode(
    "ascii"
).rstrip("=")
PIP_OFFLINE = (
    "WARNING: Retrying (Retry(total=0, connect=None, read=None, redirect=None, status=None)) "
    "after connection broken by 'NewConnectionError(\"<pip._vendor.urllib3.connection."
    "HTTPSConnection object at 0x7f3a2c1e5d90>: Failed to establish a new connection: [Errno 101] "
    "Network is unreachable\")': /simple/optuna/\n"
    "ERROR: Could not find a version that satisfies the requirement {spec} (from versions: none)\n"
    "ERROR: No matching distribution found for {spec}\n"
)


class ScriptedCluster:
    """A CommandRunner answering like a login node on its first submission: nothing set up yet,
    Python 3.11 after the module load, and ``pip install`` failing without internet. The pip
    command waits until :attr:`release` is set, so the dialog can be photographed meanwhile."""

    def __init__(self, host: str = HOST) -> None:
        self.host = host
        self.release = threading.Event()
        self.at_pip = threading.Event()

    def run(self, command: str, *, timeout: Any = 60.0, input: Any = None, check: bool = False):
        from ..cluster.commands import CommandResult

        out, err, status = "", "", 0
        if 'printf "%s" "$HOME"' in command:
            out = "/home/alice"
        elif "test -f" in command:
            status = 1  # nothing there yet: a first submission
        elif "sys.version_info" in command:
            out = "3.11\n"
        elif "pip install" in command:
            self.at_pip.set()
            self.release.wait(60)
            spec = re.search(r"optuna==[\w.]+", command)
            err, status = PIP_OFFLINE.format(spec=spec.group(0) if spec else "optuna"), 1
        return CommandResult(command, out, err, status, 0.1, None, self.host)


def cluster_shots(window: Any, settings: Any, out: str) -> list[str]:
    """The dialogs of a first cluster run, photographed; returns the files written."""
    from ..cluster.remote_env import EnvBuilder, EnvConfig
    from ..remote.callbacks import InteractivePrompt, InteractiveRound, SecretRequest
    from ..remote.check import CheckResult, ToolCheck
    from ..remote.known_hosts import HostKeyInfo
    from ..remote.session import SessionInfo
    from .app import save_screenshot, settle, wait_for
    from .cluster_launch import SUBMIT_STEPS, submit_step
    from .profiles.auth_dialogs import HostKeyDialog, InteractiveDialog, SecretDialog
    from .profiles.profiles_dialog import ProfilesDialog
    from .progress_dialog import TaskProgressDialog

    written: list[str] = []

    def shot(widget: Any, name: str) -> None:
        widget.show()
        settle(300)
        written.append(save_screenshot(widget, os.path.join(out, name)))
        widget.close()

    dialog = ProfilesDialog(settings, window.tasks, window, ssh_config=os.devnull)
    dialog.list.setCurrentRow(0)
    check = CheckResult(
        SessionInfo(USER_AT_HOST, "ssh-ed25519", FINGERPRINT, ("password", "keyboard-interactive")),
        f"Linux {HOST} 4.18.0-553.el8_10.x86_64 #1 SMP x86_64 GNU/Linux",
        "Python 3.9.18",
        tuple(ToolCheck(t, True, "slurm 23.02.7") for t in ("sbatch", "squeue", "sacct")),
    )
    dialog.test_output.setPlainText("OK\n" + "\n".join(check.lines()))
    dialog.resize(1000, 600)  # the test's report without wrapped lines
    shot(dialog, "profile-dialog.png")

    shot(HostKeyDialog(HostKeyInfo(HOST, "ssh-ed25519", FINGERPRINT, ""), window), "host-key.png")
    shot(SecretDialog("password", SecretRequest(USER_AT_HOST), window), "password.png")
    otp = InteractiveRound(
        USER_AT_HOST, "", "", (InteractivePrompt("One-time password (OTP): ", False),)
    )
    shot(InteractiveDialog(otp, window), "two-factor.png")

    # the submission, up to the environment step, then its failure on a cluster without internet
    profile = settings.profiles[0]
    cluster = ScriptedCluster()
    config = EnvConfig(base=profile.remote_base, setup_lines=profile.env_setup)

    def submit(state: Any) -> Any:
        state.set_progress(None, f"Connecting to {profile.host}…")
        return EnvBuilder(cluster, config, lambda text, _f: state.set_progress(None, text)).ensure()

    handle = window.tasks.submit(submit, name="submitting (docs)", handles_errors=True)
    progress = TaskProgressDialog(
        handle, f"Submitting quadratic to {profile.name}", SUBMIT_STEPS, window, submit_step
    )
    progress.show()
    cluster.at_pip.wait(30)
    settle(400)
    written.append(save_screenshot(progress, os.path.join(out, "submit-environment.png")))
    cluster.release.set()
    wait_for(handle)
    settle(300)
    written.append(save_screenshot(progress, os.path.join(out, "submit-failed-offline.png")))
    progress.close()
    return written


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    out = os.path.abspath(argv[0] if argv else "docs/screenshots")
    os.makedirs(out, exist_ok=True)
    work = tempfile.mkdtemp(prefix="oo-shots-")
    os.environ.setdefault("XDG_CONFIG_HOME", os.path.join(work, "config"))
    os.environ.setdefault("XDG_DATA_HOME", os.path.join(work, "data"))

    from PySide6.QtCore import Qt

    from ..engine.local_run import run_local
    from ..study import run_layout as L
    from ..study.toml_io import load_study
    from .app import application, save_screenshot, settle, wait_for
    from .import_dialog import ImportDialog
    from .main_window import MainWindow
    from .settings import AppSettings, ClusterProfile

    example = next(p for p in paths.example_studies() if "quadratic" in str(p))
    folder = os.path.join(work, "quadratic")
    shutil.copytree(os.path.dirname(example), folder)
    study_file = os.path.join(folder, "study.toml")
    study = load_study(study_file).study
    study.n_trials = 12
    run_dir = L.default_run_dir(study_file, study.name)
    run_local(study, run_dir, workers=2, study_file=study_file)

    application()
    settings = AppSettings(path=os.path.join(work, "settings.json"))
    settings.local_runs = [run_dir]
    settings.profiles = [
        ClusterProfile(
            "Taurus (ZIH)",
            USER_AT_HOST,
            "/scratch/ws/0/alice-omniopt",
            ("module load release/24.04 GCCcore/13.2.0 Python/3.11.5",),
        ),
        ClusterProfile("lab cluster", "alice@login.lab.example.org:2222", "~/omniopt-runs"),
    ]
    window = MainWindow(settings=settings)
    window.resize(1180, 820)
    window.show()
    written = []
    wait_for(window.examples_task)
    wait_for(window.runs.refresh())
    settle(300)
    written.append(save_screenshot(window, os.path.join(out, "welcome.png")))
    wait_for(window.open_path(study_file))

    window.editor.tabs.setCurrentIndex(1)
    window.editor.parameter_panel.select_row(3, 6)
    settle(400)
    written.append(save_screenshot(window, os.path.join(out, "editor.png")))

    window.doc.set(("parameter", 0, "low"), 50.0)  # a bad bound: marked cell, Run disabled
    window.editor.parameter_panel.select_row(1, 0)  # keep the marked cell unselected
    settle(300)
    written.append(save_screenshot(window, os.path.join(out, "editor-validation.png")))
    window.doc.set(("parameter", 0, "low"), -5.0)

    window.editor.tabs.setCurrentIndex(2)
    settle(300)
    written.append(save_screenshot(window, os.path.join(out, "editor-program.png")))

    window.runs_dock.show()
    window.resizeDocks([window.runs_dock], [260], Qt.Orientation.Vertical)
    window.runs.view.selectRow(0)
    window.editor.tabs.setCurrentIndex(0)
    settle(300)
    written.append(save_screenshot(window.runs_dock, os.path.join(out, "runs-list.png")))

    written += cluster_shots(window, settings, out)

    imp = ImportDialog(window.tasks, window)
    imp.show()
    imp.source.setPlainText(IMPORT_SAMPLE)
    wait_for(imp.convert())
    settle(300)
    written.append(save_screenshot(imp, os.path.join(out, "import-dialog.png")))
    imp.close()

    window.doc._dirty = False
    window.close()
    shutil.rmtree(work, ignore_errors=True)
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
