"""Main window: first start offers the bundled examples, recent files, layout restored,
import dialog, the gui command's --screenshot."""

from __future__ import annotations

import os
import subprocess
import sys

from PySide6.QtCore import Qt
from support.gui_helpers import wait_task

from omniopt_desktop import paths
from omniopt_desktop.gui.main_window import MainWindow
from omniopt_desktop.gui.settings import AppSettings, ClusterProfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_first_start_lists_examples_and_one_click_opens_a_copy(qtbot, window):
    assert window.stack.currentWidget() is window.welcome
    examples = window.welcome.examples
    expected = paths.example_studies()
    assert expected, "no bundled examples"
    qtbot.waitUntil(lambda: examples.count() == len(expected), timeout=5000)
    item = examples.item(0)
    rect = examples.visualItemRect(item)
    with qtbot.waitSignal(window.document_opened, timeout=10000):
        qtbot.mouseClick(examples.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert window.stack.currentWidget() is window.editor
    doc = window.doc
    assert doc is not None and doc.is_valid
    # a copy in the user's data folder, never the bundled file itself
    assert not doc.path.startswith(str(paths.examples_dir()))
    assert doc.path.startswith(os.environ["XDG_DATA_HOME"])
    assert os.listdir(os.path.dirname(doc.path))  # program files copied along
    assert window.settings.recent_files[0] == doc.path


def test_recent_files_and_layout_survive_a_restart(qtbot, settings, tmp_path):
    study = tmp_path / "s.toml"
    study.write_text(open(paths.example_studies()[0]).read())
    w = MainWindow(settings=settings)
    w.show()
    qtbot.waitExposed(w)
    wait_task(qtbot, w.open_path(str(study)))
    w.resize(700, 500)
    w.runs_dock.hide()
    w.settings.put_profile(ClusterProfile("hpc", "user@login.example.org:2222"))
    assert w.close()
    reread = AppSettings.load(settings.path)
    assert reread.recent_files == [str(study)]
    assert reread.profiles == [ClusterProfile("hpc", "user@login.example.org:2222")]
    w2 = MainWindow(settings=reread)
    w2.show()
    qtbot.waitExposed(w2)
    assert (w2.width(), w2.height()) == (700, 500)
    assert not w2.runs_dock.isVisible()
    assert [a.text() for a in w2.recent_menu.actions()] == [str(study)]
    assert w2.welcome.recent.count() == 1
    w2.close()


def test_settings_never_live_beside_the_study(tmp_path):
    s = AppSettings()
    assert s.default_path().startswith(os.environ["XDG_CONFIG_HOME"])


def test_open_error_reaches_the_banner(qtbot, window, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[study\nname = ")
    window.open_path(str(bad))
    qtbot.waitUntil(window.banner.isVisible, timeout=5000)
    assert "bad.toml" in window.banner.label.text()
    assert window.doc is None


def test_import_dialog_paste_convert_create(qtbot, window, monkeypatch):
    from omniopt_desktop.gui.import_dialog import ImportDialog

    dlg = ImportDialog(window.tasks, window)
    qtbot.addWidget(dlg)
    dlg.source.setPlainText(
        "./omniopt --partition=alpha --experiment_name=demo --mem_gb=4 --time=60 \\\n"
        "  --worker_timeout=30 --max_eval=50 --num_parallel_jobs=5 --follow \\\n"
        "  --run_program=cHl0aG9uMyB0cmFpbi5weSAtLXggJXgK \\\n"
        "  --parameter x range -5 5 float --parameter opt choice sgd,adam \\\n"
        "  --result_names loss=min"
    )
    qtbot.waitUntil(dlg.ok_button.isEnabled, timeout=10000)
    assert "[[parameter]]" in dlg.preview.toPlainText()
    notes = [dlg.notes.item(i).text() for i in range(dlg.notes.count())]
    assert any("--follow" in n for n in notes)
    assert "2 parameters" in dlg.status.text()
    dlg.accept()
    assert dlg.study is not None and dlg.study.parameter("opt").values == ["sgd", "adam"]


def test_import_dialog_bad_source_says_why(qtbot, window):
    from omniopt_desktop.gui.import_dialog import ImportDialog

    dlg = ImportDialog(window.tasks, window)
    qtbot.addWidget(dlg)
    dlg.source.setPlainText("hello world")
    qtbot.waitUntil(lambda: "not an OmniOpt" in dlg.status.text(), timeout=10000)
    assert not dlg.ok_button.isEnabled()


def test_import_dialog_opens_a_file(qtbot, window, tmp_path):
    from omniopt_desktop.gui.import_dialog import ImportDialog

    ini = tmp_path / "config.ini"
    ini.write_text(
        "[DATA]\nprecision = 8\nmax_evals = 20\nobjective_program = python3 run.py ($x_0) ($x_1)\n"
        "algo_name = tpe.suggest\nrange_generator_name = hp.randint\n\n"
        "[DIMENSIONS]\ndimensions = 2\ndim_0_name = x\nrange_generator_0 = hp.uniform\n"
        "min_dim_0 = -1\nmax_dim_0 = 1\ndim_1_name = n\nmax_dim_1 = 100\n"
    )
    dlg = ImportDialog(window.tasks, window)
    qtbot.addWidget(dlg)
    wait_task(qtbot, dlg.load_file(str(ini)))
    assert dlg.ok_button.isEnabled(), dlg.status.text()
    assert "[DATA]" in dlg.source.toPlainText()
    dlg.accept()
    n = dlg.study.parameter("n")
    assert (n.low, n.high) == (0, 99)


def test_gui_command_screenshot(tmp_path):
    out = tmp_path / "shot.png"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    example = str(paths.example_studies()[0])
    proc = subprocess.run(
        [sys.executable, "-m", "omniopt_desktop.cli", example, "--screenshot", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == str(out)
    assert out.stat().st_size > 10000
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "omniopt_desktop.cli",
            str(tmp_path / "none.toml"),
            "--screenshot",
            str(out),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 1 and "no such file" in bad.stderr


def test_save_failure_reaches_the_banner_and_keeps_the_changes(qtbot, window, tmp_path):
    window.new_study()
    window.doc.set(("study", "name"), "keep_me")
    h = window._save_to(str(tmp_path / "no-such-folder" / "s.toml"))
    wait_task(qtbot, h)
    assert window.banner.isVisible() and "cannot be saved" in window.banner.label.text()
    assert window.doc.dirty and window.doc.path is None
