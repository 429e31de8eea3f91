"""The main window: file handling around one StudyDocument, the editor, runs, launching.

All disk and network work goes through :class:`~.tasks.TaskRunner`; errors of any kind reach
the one :class:`~.error_reporter.ErrorReporter` and are shown in the banner at the top.
"""

from __future__ import annotations

import gc
import importlib
import os
import shutil
import threading
from typing import Any

from PySide6.QtCore import QByteArray, QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QIcon, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from .. import paths
from ..errors import OmniOptError
from ..study import run_layout as L
from ..study.document import Change, ChangeKind, StudyDocument
from .editor.study_editor import StudyEditor
from .error_reporter import ErrorReporter
from .settings import AppSettings, config_dir
from .tasks import TaskHandle, TaskRunner
from .welcome import WelcomePage, describe_examples

APP_TITLE = "OmniOpt Desktop"
LOCAL_RUN_TASK = "running "  # name prefix of local-run tasks (see launch.launch_local)
WARM_MODULES = (
    "omniopt_desktop.cli.cmd_submit",
    "omniopt_desktop.cli.cmd_fetch",
    "omniopt_desktop.cluster.partitions",
    "omniopt_desktop.remote.session",
    "omniopt_desktop.remote.check",
    "omniopt_desktop.study.importers",
    "omniopt_desktop.engine.local_run",
)
_SETTINGS_LOCK = threading.Lock()
# the number of the newest settings snapshot taken, and of the newest written: a background
# write of an older snapshot that got the lock late must not overwrite a newer file
_SETTINGS_SEQ = {"taken": 0, "written": 0}


def _write_settings(snapshot: AppSettings, seq: int) -> None:
    with _SETTINGS_LOCK:
        if seq < _SETTINGS_SEQ["written"]:
            return
        snapshot.save()
        _SETTINGS_SEQ["written"] = seq


def _next_settings_seq() -> int:
    with _SETTINGS_LOCK:
        _SETTINGS_SEQ["taken"] += 1
        return _SETTINGS_SEQ["taken"]
STUDY_FILTER = "Study files (*.toml);;All files (*)"


def _freeze_heap() -> None:
    gc.collect()
    gc.freeze()


class ErrorBanner(QWidget):
    """A dismissable line at the top of the window showing the latest error."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("error_banner")
        self.setStyleSheet(
            "#error_banner { background: #ffebee; border-bottom: 1px solid #c62828; }"
            "#error_banner QLabel { color: #b71c1c; }"
        )
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.label = QLabel()
        self.label.setObjectName("error_banner_text")
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        close = QToolButton()
        close.setText("✕")
        close.setToolTip("Dismiss (Esc)")
        close.setShortcut("Esc")
        close.clicked.connect(self.hide)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(8, 4, 8, 4)
        lay.addWidget(self.label, 1)
        lay.addWidget(close)
        self.hide()

    def show_error(self, line: str, context: str = "") -> None:
        self.label.setText(line)
        self.setToolTip(f"while: {context}" if context else "")
        self.show()


class ChildWindows(QObject):
    """The main window's own top-level windows (live monitors, analysis windows): separate
    windows (``Qt.Window``) owned by the main window, listed in one of its attributes while they
    exist, closed with it, and deleted once closed (an analysis window after it stopped
    following its study and its read in flight has ended)."""

    def __init__(self, owner: QWidget) -> None:
        super().__init__(owner)
        self.owner = owner
        self.attrs: set[str] = set()

    def adopt(self, child: QWidget, attr: str) -> QWidget:
        if child.parent() is not self.owner:
            child.setParent(self.owner)
        child.setWindowFlag(Qt.WindowType.Window, True)  # after setParent, which resets flags
        self.attrs.add(attr)
        setattr(self.owner, attr, [*getattr(self.owner, attr, []), child])
        child.installEventFilter(self)
        child.destroyed.connect(lambda _obj=None, c=child, a=attr: self._forget(c, a))
        return child

    def _forget(self, child: QWidget, attr: str) -> None:
        setattr(self.owner, attr, [x for x in getattr(self.owner, attr, []) if x is not child])

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt
        if event.type() == QEvent.Type.Close:
            QTimer.singleShot(0, obj, lambda: self._closed(obj))  # after the close is done
        return False

    def _closed(self, child: Any) -> None:
        if child.isVisible():
            return  # the window refused to close
        if hasattr(child, "set_following"):
            child.set_following(False)
        panel = getattr(child, "panel", None)
        reading = panel._worker if panel is not None and panel.reading else None
        if isinstance(reading, TaskHandle):
            reading.ended.connect(child.deleteLater)  # its answer must not reach a deleted view
        else:
            child.deleteLater()

    def close_all(self) -> None:
        for attr in self.attrs:
            for w in list(getattr(self.owner, attr, [])):
                w.close()


class MainWindow(QMainWindow):
    document_opened = Signal(object)  # StudyDocument | None
    document_saved = Signal(str)

    def __init__(
        self,
        settings: AppSettings | None = None,
        reporter: ErrorReporter | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("main_window")
        self.settings = settings or AppSettings.load()
        self.reporter = reporter or ErrorReporter(self)
        self.tasks = TaskRunner(self.reporter, self)
        self.child_windows = ChildWindows(self)  # live monitors and analysis windows
        self.doc: StudyDocument | None = None
        self._unsubscribe: Any = None
        self._close_after_save = False
        icon = paths.resources_dir() / "icons" / "omniopt-desktop.png"
        if icon.is_file():
            self.setWindowIcon(QIcon(str(icon)))

        self.banner = ErrorBanner()
        self.reporter.error_reported.connect(self.banner.show_error)
        self.reporter.error_reported.connect(
            lambda line, _c: self.statusBar().showMessage(line, 10000)
        )
        self.welcome = WelcomePage()
        self.editor = StudyEditor()
        self.stack = QStackedWidget()
        self.stack.addWidget(self.welcome)
        self.stack.addWidget(self.editor)
        central = QWidget()
        cl = QVBoxLayout(central)
        cl.setContentsMargins(0, 0, 0, 0)
        cl.setSpacing(0)
        cl.addWidget(self.banner)
        cl.addWidget(self.stack, 1)
        self.setCentralWidget(central)

        self._build_actions()
        self._build_menus()
        self._build_docks()
        self.editor.validity_changed.connect(self._update_actions)
        self.welcome.new_requested.connect(self.new_study)
        self.welcome.open_requested.connect(self.open_dialog)
        self.welcome.import_requested.connect(self.import_dialog)
        self.welcome.file_chosen.connect(self._open_chosen)
        self.welcome.example_run_requested.connect(self.run_example)
        self.editor.resources_panel.partitions_requested.connect(self.load_partitions)

        self.resize(1100, 760)
        self._restore_layout()
        self._refresh_recent()
        self._update_title()
        self._update_actions()
        self._load_examples()

    # -- construction ----------------------------------------------------------------------
    def _action(
        self, text: str, slot: Any, shortcut: Any = None, tip: str = "", name: str = ""
    ) -> QAction:
        act = QAction(text, self)
        if shortcut is not None:
            act.setShortcut(QKeySequence(shortcut))
        act.setToolTip(tip or text.replace("&", "").rstrip("…"))
        act.setStatusTip(act.toolTip())
        act.setObjectName(
            name or "action_" + text.replace("&", "").replace("…", "").replace(" ", "_").lower()
        )
        act.triggered.connect(lambda _=False: slot())
        return act

    def _build_actions(self) -> None:
        K = QKeySequence.StandardKey
        self.act_new = self._action("&New", self.new_study, K.New, "Start a new study")
        self.act_open = self._action("&Open…", self.open_dialog, K.Open, "Open a study.toml")
        self.act_import = self._action(
            "&Import from OmniOpt…",
            self.import_dialog,
            "Ctrl+I",
            "Turn an OmniOpt 1 config.ini or an OmniOpt 2 command line into a study",
        )
        self.act_save = self._action("&Save", self.save, K.Save, "Save the study")
        self.act_save_as = self._action(
            "Save &As…", self.save_as, K.SaveAs, "Save under another name"
        )
        self.act_close = self._action("&Close study", self.close_study, K.Close, "Close the study")
        self.act_quit = self._action("&Quit", self.close, K.Quit, "Quit OmniOpt Desktop")
        self.act_run = self._action(
            "&Run locally",
            self.run_locally,
            "Ctrl+R",
            "Run the study on this machine",
            "action_run_locally",
        )
        self.act_submit = self._action(
            "&Submit to cluster…",
            self.submit_to_cluster,
            "Ctrl+Shift+R",
            "Upload the study and submit it to a SLURM cluster",
            "action_submit",
        )
        self.act_profiles = self._action(
            "Cluster &profiles…",
            self.edit_profiles,
            "Ctrl+Shift+P",
            "Hosts, folders and environment of your clusters",
        )
        self.act_about = self._action("&About", self._about)

    def _build_menus(self) -> None:
        mb = self.menuBar()
        file = mb.addMenu("&File")
        file.addActions([self.act_new, self.act_open])
        self.recent_menu = QMenu("Open &Recent", self)
        self.recent_menu.setObjectName("recent_menu")
        file.addMenu(self.recent_menu)
        file.addAction(self.act_import)
        file.addSeparator()
        file.addActions([self.act_save, self.act_save_as, self.act_close])
        file.addSeparator()
        file.addAction(self.act_quit)
        run = mb.addMenu("&Run")
        run.addActions([self.act_run, self.act_submit])
        cluster = mb.addMenu("&Cluster")
        cluster.addAction(self.act_profiles)
        self.view_menu = mb.addMenu("&View")
        help_ = mb.addMenu("&Help")
        help_.addAction(self.act_about)
        tb = self.addToolBar("Main")
        tb.setObjectName("main_toolbar")
        tb.addActions([self.act_new, self.act_open, self.act_save])
        tb.addSeparator()
        tb.addActions([self.act_run, self.act_submit])

    def _build_docks(self) -> None:
        from .runs_list import RunsPanel

        self.runs = RunsPanel(self.tasks, self.settings)
        self.runs.open_requested.connect(self.open_run_analysis)
        self.runs.stop_requested.connect(self._stop_run)
        self.runs.fetch_requested.connect(self._fetch_run)
        self.runs.monitor_requested.connect(self.open_run_monitor)
        dock = QDockWidget("Runs", self)
        dock.setObjectName("runs_dock")
        dock.setWidget(self.runs)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)
        self.resizeDocks([dock], [170], Qt.Orientation.Vertical)
        self.runs_dock = dock
        act = dock.toggleViewAction()
        act.setShortcut(QKeySequence("Ctrl+L"))
        act.setToolTip("Show or hide the list of runs (Ctrl+L)")
        self.view_menu.addAction(act)

    # -- start-up ----------------------------------------------------------------------------
    def warm_up(self) -> TaskHandle:
        """Import what SSH, submission and runs need off the GUI thread, then freeze the heap.

        Imports allocate a lot; doing them now (not when the user first submits) and then
        moving everything that lives as long as the app out of the collector's way
        (``gc.freeze``) keeps later full collections short: no stall when work starts.
        """

        def load(state: Any) -> None:
            for name in WARM_MODULES:
                state.check_cancelled()
                try:
                    importlib.import_module(name)
                except ImportError:  # an optional layer missing: it reports itself when used
                    pass

        handle = self.tasks.submit(load, name="loading the app", channel="warm-up")
        handle.ended.connect(_freeze_heap)
        return handle

    # -- layout ----------------------------------------------------------------------------
    def _restore_layout(self) -> None:
        s = self.settings
        if s.window_geometry:
            self.restoreGeometry(QByteArray.fromBase64(s.window_geometry.encode()))
        if s.window_state:
            self.restoreState(QByteArray.fromBase64(s.window_state.encode()))
        if s.splitter_state:
            self.editor.splitter.restoreState(QByteArray.fromBase64(s.splitter_state.encode()))

    def save_layout(self) -> None:
        """Record the layout and write the settings now (on closing: nothing may be lost)."""
        s = self.settings
        s.window_geometry = bytes(self.saveGeometry().toBase64()).decode()
        s.window_state = bytes(self.saveState().toBase64()).decode()
        s.splitter_state = bytes(self.editor.splitter.saveState().toBase64()).decode()
        try:
            _write_settings(s, _next_settings_seq())
        except OSError as e:
            self.reporter.report(f"cannot save the app settings in {config_dir()}: {e.strerror}")

    def _save_settings(self) -> None:
        """Write a snapshot of the settings off the GUI thread (the newest write wins)."""
        snapshot, seq = self.settings.snapshot(), _next_settings_seq()

        def write(state: Any) -> None:
            state.check_cancelled()  # a superseded snapshot is dropped
            try:
                _write_settings(snapshot, seq)
            except OSError as e:
                raise OmniOptError(
                    f"cannot save the app settings in {config_dir()}: {e.strerror}"
                ) from e

        self.tasks.submit(write, name="saving the app settings", channel="settings")

    # -- document --------------------------------------------------------------------------
    def set_document(self, doc: StudyDocument | None) -> None:
        if self._unsubscribe:
            self._unsubscribe()
            self._unsubscribe = None
        self.doc = doc
        self.editor.set_document(doc)
        if doc is not None:
            self._unsubscribe = doc.subscribe(self._on_change)
            self.stack.setCurrentWidget(self.editor)
        else:
            self.stack.setCurrentWidget(self.welcome)
        self._update_title()
        self._update_actions()
        self.document_opened.emit(doc)

    def _on_change(self, change: Change) -> None:
        if change.kind in (ChangeKind.DIRTY_CHANGED, ChangeKind.SAVED):
            self._update_title()
        if change.kind is ChangeKind.ISSUES_CHANGED:
            self._update_actions()

    def _update_title(self) -> None:
        if self.doc is None:
            self.setWindowTitle(APP_TITLE)
            self.setWindowModified(False)
            return
        self.setWindowTitle(f"{self.doc.display_name}[*] — {APP_TITLE}")
        self.setWindowModified(self.doc.dirty)

    def _update_actions(self, *_: Any) -> None:
        has = self.doc is not None
        valid = has and self.doc.is_valid
        for a in (self.act_save, self.act_save_as, self.act_close):
            a.setEnabled(has)
        for a in (self.act_run, self.act_submit):
            a.setEnabled(valid)
            why = (
                ""
                if valid
                else (" (fix the problems listed first)" if has else " (open a study first)")
            )
            a.setToolTip(a.statusTip() + why)

    # -- file actions ----------------------------------------------------------------------
    def maybe_save(self) -> bool:
        """Ask about unsaved changes; True when it is fine to discard the document now."""
        if self.doc is None or not self.doc.dirty:
            return True
        box = QMessageBox(self)
        box.setObjectName("unsaved_changes_box")
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle("Unsaved changes")
        box.setText(f"{self.doc.display_name} has unsaved changes.")
        box.setInformativeText("Save them before closing the study?")
        box.setStandardButtons(
            QMessageBox.StandardButton.Save
            | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel
        )
        box.setDefaultButton(QMessageBox.StandardButton.Save)
        answer = box.exec()
        if answer == QMessageBox.StandardButton.Discard:
            return True
        if answer == QMessageBox.StandardButton.Save:
            self._close_after_save = True
            self.save()
        return False

    def new_study(self) -> None:
        if self.maybe_save():
            self.set_document(StudyDocument.new())

    def close_study(self) -> None:
        if self.maybe_save():
            self.set_document(None)

    def open_dialog(self) -> None:
        if not self.maybe_save():
            return
        path, _ = QFileDialog.getOpenFileName(
            self, "Open study", self.settings.last_folder or os.getcwd(), STUDY_FILTER
        )
        if path:
            self.open_path(path)

    def open_path(self, path: str) -> TaskHandle:
        """Load ``path`` off the GUI thread; the editor shows it when it has been read."""

        def load(state: Any, p: str) -> StudyDocument:
            return StudyDocument.open(p)

        handle = self.tasks.submit(load, path, name=f"opening {path}", channel="document")
        handle.succeeded.connect(lambda doc, p=path: self._opened(doc, p))
        return handle

    def _opened(self, doc: StudyDocument, path: str) -> None:
        self.set_document(doc)
        self.settings.add_recent(path)
        # runs of this study started elsewhere (the command line, another session) are listed
        known = set(self.settings.local_runs)
        found = [d for d in L.run_folders_beside(path) if d not in known]
        self.settings.local_runs += found
        self._save_settings()
        self._refresh_recent()
        if found:
            self.runs.refresh()

    def _open_chosen(self, path: str) -> None:
        if not self.maybe_save():
            return
        examples = os.path.abspath(str(paths.examples_dir()))
        if os.path.abspath(path).startswith(examples + os.sep):
            self.open_example(path)
        else:
            self.open_path(path)

    def open_example(self, path: str) -> TaskHandle:
        """Copy a bundled example to the user's data folder (once) and open the copy."""
        import platformdirs

        target_root = os.path.join(
            platformdirs.user_data_dir("omniopt-desktop", appauthor=False), "examples"
        )

        def copy_and_load(state: Any, src: str) -> tuple[StudyDocument, str]:
            folder = os.path.dirname(src)
            dest = os.path.join(target_root, os.path.basename(folder))
            if not os.path.isdir(dest):
                shutil.copytree(folder, dest)
            study = os.path.join(dest, os.path.basename(src))
            return StudyDocument.open(study), study

        handle = self.tasks.submit(
            copy_and_load, path, name=f"opening example {path}", channel="document"
        )
        handle.succeeded.connect(lambda r: self._opened(r[0], r[1]))
        return handle

    def run_example(self, path: str) -> Any:
        """▶ Run of an example: copy and open it, run it locally, open its live plots.
        Returns the :class:`~.quick_start.ExampleRun` (None when the user kept the study)."""
        from .quick_start import ExampleRun

        if not self.maybe_save():
            return None
        run = ExampleRun(self, path)
        self.example_run = run
        run.start()
        return run

    def save(self) -> TaskHandle | None:
        if self.doc is None:
            return None
        if not self.doc.path:
            return self.save_as()
        return self._save_to(self.doc.path)

    def save_as(self) -> TaskHandle | None:
        if self.doc is None:
            return None
        start = self.doc.path or os.path.join(
            self.settings.last_folder or os.getcwd(), f"{self.doc.study.name or 'study'}.toml"
        )
        path, _ = QFileDialog.getSaveFileName(self, "Save study as", start, STUDY_FILTER)
        if not path:
            self._close_after_save = False
            return None
        if not os.path.splitext(path)[1]:
            path += ".toml"
        return self._save_to(path)

    def _save_to(self, path: str) -> TaskHandle:
        doc = self.doc
        assert doc is not None
        pending = doc.begin_save(path)
        handle = self.tasks.submit(lambda state: pending.write(), name=f"saving {path}")
        handle.succeeded.connect(lambda _r, d=doc, p=pending: self._saved(d, p))
        handle.failed.connect(lambda _e: setattr(self, "_close_after_save", False))
        return handle

    def _saved(self, doc: StudyDocument, pending: Any) -> None:
        path = doc.finish_save(pending)
        self.settings.add_recent(path)
        self._save_settings()
        self._refresh_recent()
        self.statusBar().showMessage(f"Saved {path}", 5000)
        self.document_saved.emit(path)
        if self._close_after_save:
            self._close_after_save = False
            if not doc.dirty:
                self.close()

    def _refresh_recent(self) -> None:
        self.recent_menu.clear()
        for p in self.settings.recent_files:
            act = self.recent_menu.addAction(p)
            act.triggered.connect(lambda _=False, p=p: self._open_chosen(p))
        self.recent_menu.setEnabled(bool(self.settings.recent_files))
        self.welcome.set_recent(self.settings.recent_files)

    def _load_examples(self) -> TaskHandle:
        handle = self.tasks.submit(
            lambda state: describe_examples(paths.example_studies()), name="listing examples"
        )
        handle.succeeded.connect(self.welcome.set_examples)
        self.examples_task = handle
        return handle

    # -- other windows ---------------------------------------------------------------------
    def import_dialog(self) -> None:
        from .import_dialog import ImportDialog

        if not self.maybe_save():
            return
        dialog = ImportDialog(self.tasks, self)
        if dialog.exec() and dialog.study is not None:
            self.set_document(StudyDocument.new(dialog.study, unsaved=True))

    def edit_profiles(self) -> None:
        from .profiles.profiles_dialog import ProfilesDialog

        dialog = ProfilesDialog(self.settings, self.tasks, self)
        dialog.exec()
        self._save_settings()

    def run_locally(self) -> None:
        from .launch import start_local_run

        if self.doc is not None and self.doc.is_valid:
            start_local_run(self)

    def submit_to_cluster(self) -> None:
        from .cluster_launch import start_cluster_submission

        if self.doc is not None and self.doc.is_valid:
            start_cluster_submission(self)

    def load_partitions(self) -> None:
        from .cluster_launch import load_partitions

        load_partitions(self)

    def _stop_run(self, key: str) -> None:
        from .launch import stop_run

        stop_run(self, key)

    def _fetch_run(self, run_id: str) -> None:
        from .cluster_launch import fetch_remote_run

        fetch_remote_run(self, run_id)

    def open_run_monitor(self, run_id: str) -> Any:
        from .remote_monitor import open_remote_monitor

        return open_remote_monitor(self, run_id)

    def open_run_analysis(self, db_path: str) -> None:
        from .launch import open_analysis

        open_analysis(self, db_path)

    def _about(self) -> None:
        from .. import __version__

        QMessageBox.about(
            self,
            f"About {APP_TITLE}",
            f"<b>{APP_TITLE}</b> {__version__}<br>Hyper-parameter optimisation of any program, "
            "locally or on a SLURM cluster.",
        )

    # -- closing ---------------------------------------------------------------------------
    def _confirm_stop_local_runs(self) -> bool:
        live = [h for h in self.tasks.running() if h.name.startswith(LOCAL_RUN_TASK)]
        if not live:
            return True
        from .confirm import ask_yes_no

        return ask_yes_no(
            self,
            "stop_runs_box",
            QMessageBox.Icon.Question,
            "Local run in progress",
            f"{len(live)} local run{'s' * (len(live) != 1)} still going.",
            "Quitting stops them cleanly; Run locally again later resumes where they stopped.",
            yes="Stop and quit",
        )

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.maybe_save() or not self._confirm_stop_local_runs():
            event.ignore()
            return
        self.save_layout()
        self.tasks.cancel_all()
        self.child_windows.close_all()  # the monitor and analysis windows go with the app
        self.runs.live.close()  # the SSH sessions of the clusters (one per cluster)
        event.accept()
