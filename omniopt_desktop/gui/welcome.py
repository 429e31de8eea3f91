"""What the window shows with no study open: a one-click quick start (run an example with live
plots), start new, open, import, the bundled examples and the recent files.

Each example row has **▶ Run** (copy, run locally, watch the plots fill in) and **Open**
(copy and open it in the editor; a click on the row does the same).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import tomllib
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QFrame,
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

QUICK_START_EXAMPLE = "quadratic"  # the example folder the quick-start button runs


@dataclass(frozen=True, slots=True)
class Example:
    """A bundled example as the welcome page lists it."""

    path: str  # its study.toml
    title: str
    description: str = ""
    n_trials: int | None = None

    @property
    def folder(self) -> str:
        return os.path.basename(os.path.dirname(self.path))


class WelcomePage(QWidget):
    new_requested = Signal()
    open_requested = Signal()
    import_requested = Signal()
    file_chosen = Signal(str)  # open an example (in the editor) or a recent file
    example_run_requested = Signal(str)  # run an example now (its study.toml)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("welcome_page")
        title = QLabel("<h2>OmniOpt Desktop</h2>")
        sub = QLabel(
            "Optimise the parameters of any program, on this machine or on a SLURM cluster."
        )
        sub.setWordWrap(True)
        self._quick_example: Example | None = None
        self.quick_start = self._build_quick_start()
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

        self.examples = _ExampleList()
        self.examples.resized.connect(self._fit_rows)
        self.examples.setObjectName("examples_list")
        self.examples.setToolTip(
            "Bundled examples: ▶ Run runs one on this machine with live plots; "
            "click a row (or Enter) to open it in the editor"
        )
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
        ex_box = QGroupBox("Examples")
        QVBoxLayout(ex_box).addWidget(self.examples)
        rec_box = QGroupBox("Recent studies")
        QVBoxLayout(rec_box).addWidget(self.recent)
        grid = QGridLayout()
        grid.addWidget(ex_box, 0, 0)
        grid.addWidget(rec_box, 0, 1)
        grid.setColumnStretch(0, 3)
        grid.setColumnStretch(1, 2)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 16, 24, 16)
        layout.addWidget(title)
        layout.addWidget(sub)
        layout.addWidget(self.quick_start)
        layout.addLayout(buttons)
        layout.addLayout(grid, 1)

    def _build_quick_start(self) -> QFrame:
        box = QFrame()
        box.setObjectName("quick_start")
        box.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        box.setStyleSheet(
            "#quick_start { background: #e8f1fb; border: 1px solid #90b4dc; border-radius: 6px; }"
        )
        self.quick_button = QPushButton("▶  Run the quadratic example")
        self.quick_button.setObjectName("quick_start_button")
        self.quick_button.setDefault(True)
        self.quick_button.setMinimumHeight(36)
        font = self.quick_button.font()
        font.setBold(True)
        self.quick_button.setFont(font)
        self.quick_button.clicked.connect(self._quick_clicked)
        self.quick_text = QLabel()
        self.quick_text.setObjectName("quick_start_text")
        self.quick_text.setWordWrap(True)
        lay = QHBoxLayout(box)
        lay.setContentsMargins(12, 10, 12, 10)
        lay.addWidget(self.quick_button)
        lay.addWidget(self.quick_text, 1)
        box.hide()  # until the examples are listed
        return box

    # -- content -------------------------------------------------------------------------------
    def set_examples(self, examples: Sequence[Example]) -> None:
        """List the examples, the quick-start one first."""
        examples = sorted(examples, key=lambda e: e.folder != QUICK_START_EXAMPLE)
        self.examples.clear()
        for ex in examples:
            item = QListWidgetItem()
            item.setData(Qt.ItemDataRole.UserRole, ex.path)
            item.setToolTip(f"{ex.path}\nclick to open it in the editor")
            self.examples.addItem(item)
            row = _ExampleRow(ex)
            row.run_button.clicked.connect(lambda _=False, p=ex.path: self._run(p))
            row.open_button.clicked.connect(lambda _=False, p=ex.path: self.file_chosen.emit(p))
            self.examples.setItemWidget(item, row)
        if not examples:
            item = QListWidgetItem("(no bundled examples found)")
            item.setFlags(Qt.ItemFlag.NoItemFlags)
            self.examples.addItem(item)
        self._fit_rows()
        quick = next((e for e in examples if e.folder == QUICK_START_EXAMPLE), None)
        self._quick_example = quick or (examples[0] if examples else None)
        self._show_quick_start()

    def _show_quick_start(self) -> None:
        ex = self._quick_example
        if ex is None:
            self.quick_start.hide()
            return
        self.quick_button.setText(f"▶  Run the {ex.title.lower()} example")
        self.quick_button.setToolTip(f"Copy {ex.path} to your data folder and run it now")
        trials = f"its {ex.n_trials} trials" if ex.n_trials else "it"
        self.quick_text.setText(
            "<b>New here?</b> One click copies a small example study to your data folder, runs "
            f"{trials} on this machine and opens the plots, which fill in live "
            "(well under a minute)."
        )
        self.quick_start.show()

    def set_recent(self, paths: Sequence[str]) -> None:
        self.recent.clear()
        for p in paths:
            item = QListWidgetItem(f"{os.path.basename(p)}  —  {os.path.dirname(p)}")
            item.setData(Qt.ItemDataRole.UserRole, p)
            item.setToolTip(p)
            self.recent.addItem(item)
        if not paths:
            item = QListWidgetItem("None yet: the studies you open or save appear here.")
            item.setFlags(Qt.ItemFlag.NoItemFlags)
            self.recent.addItem(item)

    def run_button(self, folder: str) -> QPushButton:
        """The ▶ Run button of the example in ``folder`` (e.g. ``quadratic``)."""
        for i in range(self.examples.count()):
            row = self.examples.itemWidget(self.examples.item(i))
            if isinstance(row, _ExampleRow) and row.example.folder == folder:
                return row.run_button
        raise KeyError(folder)

    # -- events --------------------------------------------------------------------------------
    def _fit_rows(self) -> None:
        """Row heights follow the list's width (descriptions wrap)."""
        width = max(200, self.examples.viewport().width() - 2 * self.examples.spacing())
        for i in range(self.examples.count()):
            item = self.examples.item(i)
            row = self.examples.itemWidget(item)
            if row is None:
                continue
            h = row.heightForWidth(width) if row.hasHeightForWidth() else -1
            h = max(h, row.minimumSizeHint().height(), row.sizeHint().height() if h < 0 else 0)
            item.setSizeHint(QSize(width, h))

    def _quick_clicked(self) -> None:
        if self._quick_example is not None:
            self._run(self._quick_example.path)

    def _run(self, path: str) -> None:
        self.example_run_requested.emit(path)

    def _chosen(self, item: QListWidgetItem) -> None:
        path = item.data(Qt.ItemDataRole.UserRole)
        if path:
            self.file_chosen.emit(str(path))


class _ExampleList(QListWidget):
    resized = Signal()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.resized.emit()


class _ExampleRow(QWidget):
    """One example: title and description, ▶ Run and Open."""

    def __init__(self, example: Example) -> None:
        super().__init__()
        self.example = example
        self.setObjectName(f"example_row_{example.folder}")
        title = example.title[:1].upper() + example.title[1:]
        trials = f" · {example.n_trials} trials" if example.n_trials else ""
        # children from the start: a parentless label with WA_TransparentForMouseEvents
        # would become a native window of its own (and take the window's focus)
        self.title = QLabel(f"<b>{title}</b>{trials}", self)
        self.title.setTextFormat(Qt.TextFormat.RichText)
        self.description = QLabel(example.description, self)
        self.description.setWordWrap(True)
        self.description.setVisible(bool(example.description))
        for label in (self.title, self.description):
            label.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents, True)
        self.run_button = QPushButton("▶ Run", self)
        self.run_button.setObjectName(f"example_run_button_{example.folder}")
        self.run_button.setToolTip("Run this example on this machine now and watch the plots")
        self.open_button = QPushButton("Open", self)
        self.open_button.setObjectName(f"example_open_button_{example.folder}")
        self.open_button.setToolTip("Open this example in the editor (a copy: change it freely)")
        text = QVBoxLayout()
        text.setSpacing(2)
        text.addWidget(self.title)
        text.addWidget(self.description)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(6, 4, 6, 4)
        lay.addLayout(text, 1)
        lay.addWidget(self.run_button, 0, Qt.AlignmentFlag.AlignVCenter)
        lay.addWidget(self.open_button, 0, Qt.AlignmentFlag.AlignVCenter)


def describe_examples(paths: Sequence[os.PathLike | str]) -> list[Example]:
    """Title (folder name), the first comment line and n_trials of each example (runs on a
    worker thread)."""
    out = []
    for p in paths:
        p = os.fspath(p)
        title = os.path.basename(os.path.dirname(p)).replace("_", " ")
        try:
            with open(p, encoding="utf-8") as f:
                text = f.read()
        except OSError:
            continue
        desc = next(
            (line.lstrip("# ").strip() for line in text.splitlines() if line.startswith("#")), ""
        )
        try:
            n = tomllib.loads(text).get("study", {}).get("n_trials")
        except tomllib.TOMLDecodeError:
            n = None
        out.append(Example(p, title, desc, n if isinstance(n, int) else None))
    return out
