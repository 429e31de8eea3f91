"""What the window shows with no study open: start new, open, import, the bundled examples
(one click opens one) and the recent files."""

from __future__ import annotations

import os
from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)


class WelcomePage(QWidget):
    new_requested = Signal()
    open_requested = Signal()
    import_requested = Signal()
    file_chosen = Signal(str)  # an example or a recent file

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("welcome_page")
        title = QLabel("<h2>OmniOpt Desktop</h2>")
        sub = QLabel(
            "Optimise the parameters of any program, on this machine or on a SLURM cluster."
        )
        sub.setWordWrap(True)
        buttons = QHBoxLayout()
        for text, tip, sig, name in (
            ("&New study", "Start from an empty study (Ctrl+N)", self.new_requested, "new"),
            ("&Open study…", "Open a study.toml (Ctrl+O)", self.open_requested, "open"),
            (
                "&Import from OmniOpt…",
                "Turn an OmniOpt 1 config.ini or an OmniOpt 2 command line into a study",
                self.import_requested,
                "import",
            ),
        ):
            b = QPushButton(text)
            b.setObjectName(f"welcome_{name}_button")
            b.setToolTip(tip)
            b.clicked.connect(sig.emit)
            buttons.addWidget(b)
        buttons.addStretch(1)

        self.examples = QListWidget()
        self.examples.setObjectName("examples_list")
        self.examples.setToolTip("Bundled examples: click (or Enter) to open one")
        self.examples.itemClicked.connect(self._chosen)
        self.examples.itemActivated.connect(self._chosen)
        self.recent = QListWidget()
        self.recent.setObjectName("welcome_recent_list")
        self.recent.setToolTip("Recently opened studies: click (or Enter) to open one")
        self.recent.itemClicked.connect(self._chosen)
        self.recent.itemActivated.connect(self._chosen)
        for lst in (self.examples, self.recent):
            lst.setWordWrap(True)
            lst.setSpacing(4)
            lst.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        ex_box = QGroupBox("Start from an example")
        QVBoxLayout(ex_box).addWidget(self.examples)
        rec_box = QGroupBox("Recent studies")
        QVBoxLayout(rec_box).addWidget(self.recent)
        grid = QGridLayout()
        grid.addWidget(ex_box, 0, 0)
        grid.addWidget(rec_box, 0, 1)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 16, 24, 16)
        layout.addWidget(title)
        layout.addWidget(sub)
        layout.addLayout(buttons)
        layout.addLayout(grid, 1)

    def set_examples(self, examples: Sequence[tuple[str, str, str]]) -> None:
        """``(path, title, description)`` per example."""
        self.examples.clear()
        for path, title, description in examples:
            title = title[:1].upper() + title[1:]
            item = QListWidgetItem(f"{title} — {description}" if description else title)
            item.setData(Qt.ItemDataRole.UserRole, path)
            item.setToolTip(path)
            self.examples.addItem(item)
        if not examples:
            item = QListWidgetItem("(no bundled examples found)")
            item.setFlags(Qt.ItemFlag.NoItemFlags)
            self.examples.addItem(item)

    def set_recent(self, paths: Sequence[str]) -> None:
        self.recent.clear()
        for p in paths:
            item = QListWidgetItem(f"{os.path.basename(p)}  —  {os.path.dirname(p)}")
            item.setData(Qt.ItemDataRole.UserRole, p)
            item.setToolTip(p)
            self.recent.addItem(item)

    def _chosen(self, item: QListWidgetItem) -> None:
        path = item.data(Qt.ItemDataRole.UserRole)
        if path:
            self.file_chosen.emit(str(path))


def describe_examples(paths: Sequence[os.PathLike | str]) -> list[tuple[str, str, str]]:
    """Title (folder name) and the first comment line of each example (runs on a worker)."""
    out = []
    for p in paths:
        p = os.fspath(p)
        title = os.path.basename(os.path.dirname(p)).replace("_", " ")
        desc = ""
        try:
            with open(p, encoding="utf-8") as f:
                for line in f:
                    if line.startswith("#"):
                        desc = line.lstrip("# ").strip()
                        break
        except OSError:
            continue
        out.append((p, title, desc))
    return out
