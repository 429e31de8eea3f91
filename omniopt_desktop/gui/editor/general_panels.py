"""The [study] form (with objectives and constraints) and the [resources] form."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QGroupBox,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ...study.document import Change, StudyDocument
from ...study.model import SAMPLERS, STORAGE_KINDS
from .fields import FormBuilder, combo, line, spin
from .list_panels import ConstraintPanel, ObjectivePanel


class StudyPanel(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("study_panel")
        box = QGroupBox("Study")
        f = self.form = FormBuilder(box)
        f.add("&Name:", ("study", "name"), line("my-study"))
        f.add("&Trials:", ("study", "n_trials"), spin(0, 10_000_000), kind="int")
        f.add("Sa&mpler:", ("study", "sampler"), combo(SAMPLERS))
        f.add("S&eed:", ("study", "seed"), line("random"), kind="optional_int")
        f.add(
            "St&orage:",
            ("study", "storage"),
            combo(STORAGE_KINDS, editable=True),
        )
        f.add("Max &failures:", ("study", "max_failures"), line("default: max(20, trials ÷ 10)"), kind="optional_int")
        f.add("Max &retries:", ("study", "max_retries"), spin(0, 1000), kind="int")
        objectives = QGroupBox("Objectives (several = multi-objective)")
        self.objectives = ObjectivePanel()
        QVBoxLayout(objectives).addWidget(self.objectives)
        constraints = QGroupBox("Constraints")
        self.constraints = ConstraintPanel()
        QVBoxLayout(constraints).addWidget(self.constraints)
        layout = QVBoxLayout(self)
        layout.addWidget(box)
        layout.addWidget(objectives, 1)
        layout.addWidget(constraints, 1)

    def set_document(self, doc: StudyDocument | None) -> None:
        if doc is not None:
            self.form.bind(doc)
        self.objectives.set_document(doc)
        self.constraints.set_document(doc)

    def on_change(self, change: Change) -> None:
        self.form.on_change(change)
        self.objectives.on_change(change)
        self.constraints.on_change(change)


class ResourcesPanel(QWidget):
    """SLURM resources. ``partitions_requested`` asks the window to load the cluster's list."""

    partitions_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("resources_panel")
        box = QGroupBox("SLURM resources (used when submitting to a cluster)")
        f = self.form = FormBuilder(box)
        f.add("&Workers:", ("resources", "workers"), spin(1, 100_000), kind="int")
        self.partition = combo([""], editable=True)
        self.partition.lineEdit().setPlaceholderText("cluster default")
        self.load_button = QPushButton("&Load")
        self.load_button.setObjectName("load_partitions_button")
        self.load_button.setToolTip("Ask the cluster of the selected profile for its partitions")
        self.load_button.clicked.connect(self.partitions_requested.emit)
        f.add(
            "&Partition:",
            ("resources", "partition"),
            self.partition,
            kind="optional_text",
            extra=[self.load_button],
        )
        self.partition_info = QLabel()
        self.partition_info.setObjectName("partition_info")
        self.partition_info.setWordWrap(True)
        self.partition_info.setToolTip(
            "Limits of the chosen partition, as the cluster reports them"
        )
        f.layout.addRow("", self.partition_info)
        f.add("T&ime per job:", ("resources", "time"), line("e.g. 2h, 1-00:00:00"), "optional_text")
        f.add("&CPUs per task:", ("resources", "cpus_per_task"), spin(1, 4096), kind="int")
        f.add("&Memory:", ("resources", "mem"), line("e.g. 4G"), kind="optional_text")
        f.add("&GPUs:", ("resources", "gpus"), spin(0, 64), kind="int")
        f.add("&Account:", ("resources", "account"), line(), kind="optional_text")
        f.add("Rese&rvation:", ("resources", "reservation"), line(), kind="optional_text")
        f.add("&QoS:", ("resources", "qos"), line(), kind="optional_text")
        f.add("Co&nstraint:", ("resources", "constraint"), line("node features"), "optional_text")
        f.add(
            "E&xclude nodes:", ("resources", "exclude"), line("e.g. node[01-03]"), "optional_text"
        )
        extra = QPlainTextEdit()
        extra.setPlaceholderText("--mail-type=END")
        extra.setMaximumHeight(70)
        extra.setTabChangesFocus(True)
        f.add("E&xtra #SBATCH:", ("resources", "extra_sbatch"), extra, kind="lines")
        self._partitions: dict[str, Any] = {}
        self.partition.currentTextChanged.connect(self._show_partition)
        layout = QVBoxLayout(self)
        layout.addWidget(box)
        layout.addStretch(1)

    def set_document(self, doc: StudyDocument | None) -> None:
        if doc is not None:
            self.form.bind(doc)

    def on_change(self, change: Change) -> None:
        self.form.on_change(change)

    def set_partitions(self, partitions: Sequence[Any]) -> None:
        """Fill the drop-down from the cluster (objects with ``.name``; limits shown)."""
        current = self.partition.currentText()
        self._partitions = {str(getattr(p, "name", p)): p for p in partitions}
        self.partition.blockSignals(True)
        self.partition.clear()
        self.partition.addItem("")
        for name, p in self._partitions.items():
            self.partition.addItem(name)
            self.partition.setItemData(self.partition.count() - 1, describe_partition(p), 3)
        self.partition.setEditText(current)
        self.partition.blockSignals(False)
        self._show_partition(current)

    def _show_partition(self, name: str) -> None:
        p = self._partitions.get(name)
        self.partition_info.setText(describe_partition(p) if p is not None else "")


_LIMITS = (
    ("time_limit", "time limit"),
    ("nodes", "nodes"),
    ("cpus", "CPUs/node"),
    ("memory_mb", "memory/node (MB)"),
    ("gres", "GRES"),
)


def describe_partition(p: Any) -> str:
    if p is None:
        return ""
    parts = []
    if getattr(p, "default", False):
        parts.append("default")
    if getattr(p, "available", True) is False:
        parts.append("DOWN")
    for attr, label in _LIMITS:
        v = getattr(p, attr, None)
        if v not in (None, "", (), "(null)"):
            parts.append(f"{label} {v}")
    return ", ".join(parts)
