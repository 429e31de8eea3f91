"""The SLURM jobs of a cluster run (controller and workers) with their states, from one poll."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..cluster.run_summary import jobs_text

COLUMNS = ("Job", "Role", "State", "Reason")


def job_rows(status: Any) -> list[tuple[str, str, str, str]]:
    """(id, role, state, reason) of every job of a poll: the controller first, then workers
    by id. A pending array remainder shows as one row (``123_[4-9]``)."""
    rows = []
    for j in status.jobs.jobs.values():
        role = "controller" if j.name.endswith("-ctl") else "worker"
        reason = j.reason if j.reason and j.reason not in ("None", "(null)") else ""
        if j.source == "gone":
            reason = reason or j.raw_state
        rows.append((j.key, role, j.state.value, reason))

    def order(r: tuple[str, str, str, str]) -> tuple:
        base, _, task = r[0].partition("_")
        return (r[1] != "controller", int(base) if base.isdigit() else 0, task.zfill(8))

    return sorted(rows, key=order)


class JobsPanel(QWidget):
    """A read-only table of the run's jobs and a one-line summary above it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("jobs_panel")
        self.summary = QLabel("no job states yet")
        self.summary.setObjectName("jobs_summary")
        self.summary.setWordWrap(True)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("jobs_table")
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)

    def show_status(self, status: Any) -> None:
        rows = job_rows(status)
        if status.stale and not rows:
            return  # nothing known yet: keep "no job states yet"
        self.summary.setText(jobs_text(status) or "no jobs listed")
        self.table.setRowCount(len(rows))
        for i, row in enumerate(rows):
            for c, text in enumerate(row):
                item = self.table.item(i, c)
                if item is None:
                    self.table.setItem(i, c, QTableWidgetItem(text))
                elif item.text() != text:
                    item.setText(text)
        self.table.setEnabled(not status.stale)

    def states(self) -> dict[str, str]:
        """Job id → state as shown (for tests and the screenshot check)."""
        return {
            self.table.item(i, 0).text(): self.table.item(i, 2).text()
            for i in range(self.table.rowCount())
        }
