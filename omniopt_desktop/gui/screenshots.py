"""Render the docs' screenshots: ``python -m omniopt_desktop.gui.screenshots OUTDIR``.

Uses the real window on the real platform (run it under Xvfb with ``QT_QPA_PLATFORM=xcb``):
the study editor (parameters and program tabs), the cluster profile dialog, the runs list after
a real short local run of the bundled quadratic example, and the import dialog. The app's
settings go to a temporary folder unless XDG_CONFIG_HOME is set.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile

from .. import paths

IMPORT_SAMPLE = (
    "./omniopt --partition=alpha --experiment_name=mnist --mem_gb=8 --time=120 \\\n"
    "    --worker_timeout=60 --max_eval=200 --num_parallel_jobs=10 --gpus=1 --follow \\\n"
    "    --run_program=cHl0aG9uMyB0cmFpbi5weSAtLWxyICUobHIpIC0tb3B0ICUob3B0KQ== \\\n"
    "    --parameter lr range 0.0001 0.1 float --parameter opt choice adam,sgd,rmsprop \\\n"
    "    --parameter epochs range 5 50 int --result_names loss=min\n"
)


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
    from .profiles.profiles_dialog import ProfilesDialog
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
            "taurus",
            "/scratch/ws/0/$USER-omniopt",
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

    dialog = ProfilesDialog(settings, window.tasks, window, ssh_config=os.devnull)
    dialog.show()
    dialog.list.setCurrentRow(0)
    dialog.test_output.setPlainText(
        "(press Test connection: host key, password, passphrase and 2FA questions appear as "
        "dialogs)"
    )
    settle(400)
    written.append(save_screenshot(dialog, os.path.join(out, "profile-dialog.png")))
    dialog.close()

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
