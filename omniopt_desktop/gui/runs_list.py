"""The runs list: local runs started from this app and remote runs from the run registry.

Rows are frozen :class:`RunRow` values produced by loader functions on a worker thread
(:meth:`RunsPanel.refresh`); a live local run updates its row from its progress signal. A
cluster run that is still going is polled in the background while the list is visible
(:mod:`.live_runs`): its row shows the job states, trial counts and a stale marker when the
cluster cannot be reached.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ..study import run_layout as L
from .live_runs import LIVE_STATES, LiveRuns, LiveUpdate
from .settings import AppSettings
from .tasks import TaskRunner

Index = QModelIndex | QPersistentModelIndex
STALE_GREY = "#7a7a7a"  # last known states: readable on light and dark themes, clearly not fresh


@dataclass(frozen=True)
class RunRow:
    key: str  # run folder (local) or run id (remote)
    kind: str  # "local" | "remote"
    study: str
    where: str  # folder or host:folder
    state: str
    complete: int | None = None
    total: int | None = None
    best: str = ""
    db_path: str = ""  # a local result database to open in the analysis view
    jobs: str = ""  # SLURM job states of a polled cluster run
    trials: str = ""  # trial counts of a polled cluster run
    stale: str = ""  # why the last poll could not reach the cluster ("" = fresh)
    record: Any = field(default=None, compare=False, repr=False)  # RunRecord of a cluster run

    @property
    def progress_text(self) -> str:
        if self.trials:
            return self.trials
        if self.total is None:
            return ""
        return f"{self.complete or 0} / {self.total}"

    @property
    def state_text(self) -> str:
        return f"{self.state} (stale)" if self.stale else self.state

    @property
    def is_live_remote(self) -> bool:
        """A cluster run that may still be going (worth polling)."""
        registered = self.record.state if self.record is not None else self.state
        return self.kind == "remote" and registered in LIVE_STATES


def row_with_status(row: RunRow, update: LiveUpdate) -> RunRow:
    """``row`` showing one poll of its run (a stale poll keeps the last known states)."""
    from ..cluster.run_summary import jobs_text, state_text, trials_text

    st = update.status
    best = st.study.get("best") if st.study else None
    return replace(
        row,
        state=state_text(st) if st.study else row.state,
        jobs=jobs_text(st) or row.jobs,
        trials=trials_text(st) or row.trials,
        best=f"{best['value']:.6g} (trial {best['number']})" if best else row.best,
        stale=(st.error or "no answer") if st.stale else "",
    )


def local_runs(run_dirs: Sequence[str]) -> list[RunRow]:
    """Rows for local run folders (reads each folder's frozen study and database)."""
    rows = []
    for d in run_dirs:
        if not os.path.isdir(d):
            continue
        name, total = os.path.basename(d), None
        try:
            from ..engine.frozen import load_frozen

            study, _run = load_frozen(d)
            name, total = study.name, study.n_trials
        except Exception:  # a half-written or foreign folder: still list it
            pass
        db = os.path.join(d, L.SQLITE_DB)
        journal = os.path.join(d, L.JOURNAL_FILE)
        complete, best, state = None, "", "prepared"
        url = None
        if os.path.exists(db):
            url = L.storage_url(d, "sqlite")
        elif os.path.exists(journal):
            url = L.storage_url(d, "journal")
        if url is not None and total is not None:
            try:
                from ..engine.local_run import progress_of
                from ..engine.storage import open_storage

                p = progress_of(open_storage(url), name, total, 0, 0.0)
                complete, best = p.complete, p.best_text()
                state = "finished" if p.complete >= total else "stopped"
            except Exception:
                state = "unreadable"
        if os.path.exists(os.path.join(d, L.STOP_FILE)):
            state = "stopped"
        rows.append(
            RunRow(
                key=d,
                kind="local",
                study=name,
                where=d,
                state=state,
                complete=complete,
                total=total,
                best=best,
                db_path=db if os.path.exists(db) else (journal if os.path.exists(journal) else ""),
            )
        )
    return rows


def registry_runs() -> list[RunRow]:
    """Rows for the cluster runs in the run registry (``omniopt-desktop runs`` lists the same)."""
    from ..cluster.registry import Registry

    rows = []
    for r in Registry().all():
        snapshot = r.snapshots[-1] if r.snapshots else ""
        rows.append(
            RunRow(
                key=r.run_id,
                kind="remote",
                study=r.study_name,
                where=f"{r.host}:{r.remote_dir}",
                state=r.state,
                db_path=snapshot if snapshot and os.path.exists(snapshot) else "",
                record=r,
            )
        )
    rows.reverse()  # newest first
    return rows


class RunsModel(QAbstractTableModel):
    headers = ["Kind", "Study", "State", "Trials", "Jobs", "Best", "Where"]

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.rows: list[RunRow] = []

    def set_rows(self, rows: Sequence[RunRow]) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        self.endResetModel()

    def update_row(self, row: RunRow) -> None:
        for i, r in enumerate(self.rows):
            if r.key == row.key:
                self.rows[i] = row
                self.dataChanged.emit(self.index(i, 0), self.index(i, len(self.headers) - 1))
                return
        self.beginInsertRows(QModelIndex(), 0, 0)
        self.rows.insert(0, row)
        self.endInsertRows()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return len(self.headers)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = 0) -> Any:
        if orientation is Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.headers[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        r = self.rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            cells = (r.kind, r.study, r.state_text, r.progress_text, r.jobs, r.best, r.where)
            return cells[index.column()]
        if role == Qt.ItemDataRole.ToolTipRole:
            tip = f"{r.study} ({r.kind}) — {r.state}\n{r.where}"
            if r.jobs:
                tip += f"\njobs: {r.jobs}"
            if r.stale:
                tip += f"\nSTALE — last known states shown; the cluster did not answer: {r.stale}"
            return tip
        if r.stale and role == Qt.ItemDataRole.ForegroundRole:
            return QColor(STALE_GREY)
        if r.stale and role == Qt.ItemDataRole.FontRole:
            font = QFont()
            font.setItalic(True)
            return font
        return None


class RunsPanel(QWidget):
    """The runs list with Refresh / Open results / Stop."""

    open_requested = Signal(str)  # a result database
    monitor_requested = Signal(str)  # a cluster run id: open its live monitor
    stop_requested = Signal(str)  # a run key
    fetch_requested = Signal(str)  # a remote run id

    def __init__(
        self,
        tasks: TaskRunner,
        settings: AppSettings,
        loaders: Sequence[Callable[[], list[RunRow]]] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("runs_panel")
        self.tasks = tasks
        self.settings = settings
        self.loaders = list(loaders) if loaders is not None else None
        self.model = RunsModel(self)
        self.live = LiveRuns(tasks, self)
        self._listening: set[str] = set()  # run ids whose poller updates this list
        self.view = QTableView()
        self.view.setObjectName("runs_table")
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.horizontalHeader().setStretchLastSection(True)
        self.view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.view.verticalHeader().hide()
        self.view.setToolTip("Runs started from this app; Enter opens the results")
        self.view.activated.connect(lambda _i: self.open_selected())
        self.status = QLabel()
        self.status.setObjectName("runs_status")
        self.refresh_button = self._button(
            "Re&fresh", "Read the runs' state again (F5)", self.refresh
        )
        self.refresh_button.setShortcut("F5")
        self.open_button = self._button(
            "Open &results",
            "Open the selected run's results in the analysis view",
            self.open_selected,
        )
        self.stop_button = self._button(
            "S&top", "Stop the selected running run", self.stop_selected
        )
        self.fetch_button = self._button(
            "Fetc&h results",
            "Download a consistent snapshot of the selected cluster run's database",
            self.fetch_selected,
        )
        buttons = QHBoxLayout()
        for b in (self.refresh_button, self.open_button, self.fetch_button, self.stop_button):
            buttons.addWidget(b)
        buttons.addWidget(self.status, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.view, 1)
        layout.addLayout(buttons)
        self.view.selectionModel().currentChanged.connect(lambda *_: self._update_buttons())
        self.model.modelReset.connect(self._update_buttons)
        self._update_buttons()

    def _button(self, text: str, tip: str, slot: Callable[[], Any]) -> QPushButton:
        b = QPushButton(text)
        b.setToolTip(tip)
        b.setObjectName("runs_" + text.replace("&", "").split()[0].lower() + "_button")
        b.clicked.connect(lambda: slot())
        return b

    def selected(self) -> RunRow | None:
        idx = self.view.currentIndex()
        return self.model.rows[idx.row()] if idx.isValid() else None

    def _update_buttons(self) -> None:
        r = self.selected()
        self.open_button.setEnabled(bool(r and (r.db_path or r.kind == "remote")))
        live = bool(r and r.kind == "remote" and (self._may_be_live(r) or not r.db_path))
        self.open_button.setText("Open live &monitor" if live else "Open &results")
        self.open_button.setToolTip(
            "Watch the selected cluster run: its trials in the analysis views, its jobs, "
            "Cancel and Fetch snapshot"
            if live
            else "Open the selected run's results in the analysis view"
        )
        if r is not None and r.kind == "remote":
            self.stop_button.setEnabled(self._may_be_live(r))
        else:
            self.stop_button.setEnabled(bool(r and r.state in ("running", "submitting", "queued")))
        self.fetch_button.setEnabled(bool(r and r.kind == "remote"))

    def refresh(self) -> Any:
        loaders = self.loaders
        if loaders is None:
            run_dirs = list(self.settings.local_runs)
            loaders = [lambda: local_runs(run_dirs), registry_runs]

        def load(state: Any) -> list[RunRow]:
            rows: list[RunRow] = []
            for loader in loaders:
                state.check_cancelled()
                rows.extend(loader())
            return rows

        self.status.setText("Reading runs…")
        h = self.tasks.submit(load, name="reading the runs list", channel="runs")
        h.succeeded.connect(self._loaded)
        h.ended.connect(lambda: self.status.setText(""))
        return h

    def _loaded(self, rows: list[RunRow]) -> None:
        live = {r.key: r for r in self.model.rows if r.state == "running"}
        rows = [self._with_last_poll(live.get(r.key, r)) for r in rows]
        self.model.set_rows(rows + [r for k, r in live.items() if k not in {x.key for x in rows}])
        self.view.resizeColumnsToContents()
        self._sync_polling()

    # -- live cluster runs --------------------------------------------------------------------
    def _may_be_live(self, r: RunRow) -> bool:
        p = self.live.get(r.key)
        return r.is_live_remote and not (p is not None and p.is_finished)

    def _with_last_poll(self, row: RunRow) -> RunRow:
        p = self.live.get(row.key) if row.kind == "remote" else None
        if p is None or p.last is None:
            return row
        shown = row_with_status(row, LiveUpdate(p.last))
        if not row.is_live_remote:  # the registry knows better (cancelled, done, failed)
            shown = replace(shown, state=row.state, stale="")
        return shown

    def _sync_polling(self) -> None:
        """Poll the cluster runs that may still be going, while the list is visible."""
        if not self.isVisible():
            return
        for r in self.model.rows:
            if r.record is None or not r.is_live_remote:
                continue
            p = self.live.poller(r.record)
            if r.key not in self._listening:
                self._listening.add(r.key)
                p.updated.connect(lambda u, key=r.key: self._polled(key, u))
            p.subscribe(self)

    def _polled(self, key: str, update: LiveUpdate) -> None:
        for r in self.model.rows:
            if r.key == key:
                self.model.update_row(row_with_status(r, update))
                break
        self._update_buttons()

    def showEvent(self, event: Any) -> None:  # noqa: N802 - Qt
        super().showEvent(event)
        self._sync_polling()

    def hideEvent(self, event: Any) -> None:  # noqa: N802 - Qt
        super().hideEvent(event)
        for p in self.live.pollers.values():
            p.unsubscribe(self)

    def live_poller(self, run_id: str) -> Any:
        """The poller of a cluster run in the list (created when needed), for a monitor."""
        r = next((x for x in self.model.rows if x.key == run_id), None)
        if r is None or r.record is None:
            return self.live.get(run_id)
        return self.live.poller(r.record)

    def show_row(self, row: RunRow) -> None:
        self.model.update_row(row)
        self._update_buttons()

    def mark(self, key: str, **changes: Any) -> None:
        for r in self.model.rows:
            if r.key == key:
                self.model.update_row(replace(r, **changes))
                self._update_buttons()
                return

    def open_selected(self) -> None:
        """A local run or a fetched snapshot opens in the analysis view; a cluster run that
        may still be going (or was never fetched) opens its live monitor."""
        r = self.selected()
        if r is None:
            return
        if r.kind == "remote" and (self._may_be_live(r) or not r.db_path):
            self.monitor_requested.emit(r.key)
        elif r.db_path:
            self.open_requested.emit(r.db_path)

    def fetch_selected(self) -> None:
        r = self.selected()
        if r and r.kind == "remote":
            self.fetch_requested.emit(r.key)

    def stop_selected(self) -> None:
        r = self.selected()
        if r:
            self.stop_requested.emit(r.key)
