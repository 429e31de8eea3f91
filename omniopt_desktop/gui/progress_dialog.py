"""A non-modal progress dialog for one task: steps, a bar, the latest message, Cancel."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QListWidget,
    QProgressBar,
    QVBoxLayout,
    QWidget,
)

from .tasks import TaskHandle


class TaskProgressDialog(QDialog):
    """Follows ``handle``: progress text goes to the label (and the step list when it names a
    step), Cancel cancels the task; the dialog stays open with the outcome until closed. With
    ``keep_progress`` the outcome keeps the latest progress text: "Done. 40 of 40 trials done…"."""

    def __init__(
        self,
        handle: TaskHandle,
        title: str,
        steps: Sequence[str] = (),
        parent: QWidget | None = None,
        step_of: Callable[[str], int | None] | None = None,
        keep_progress: bool = False,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("task_progress_dialog")
        self.setWindowTitle(title)
        self.setModal(False)
        self.handle = handle
        self._step_of = step_of
        self._keep_progress = keep_progress  # the outcome repeats the latest progress text
        self._last_text = ""
        self.label = QLabel("Starting…")
        self.label.setObjectName("progress_text")
        self.label.setWordWrap(True)
        self.bar = QProgressBar()
        self.bar.setObjectName("progress_bar")
        self.bar.setRange(0, 0)
        self.steps = QListWidget()
        self.steps.setObjectName("progress_steps")
        self.steps.setToolTip("What has been done so far")
        self._step_names = list(steps)
        for s in steps:
            self.steps.addItem(f"○ {s}")
        self.steps.setVisible(bool(steps))
        if steps:  # as tall as its rows: no empty box under the last step
            rows = self.steps.sizeHintForRow(0) * len(steps)
            self.steps.setFixedHeight(rows + 2 * self.steps.frameWidth() + 4)
        self._step_at: int | None = None  # the step under way, marked ✗ if the task fails
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.cancel_button = self.buttons.button(QDialogButtonBox.StandardButton.Cancel)
        self.cancel_button.setObjectName("progress_cancel_button")
        self.cancel_button.setToolTip("Stop this (Esc)")
        self.buttons.rejected.connect(self._cancel_or_close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.label)
        layout.addWidget(self.bar)
        layout.addWidget(self.steps)
        layout.addWidget(self.buttons)
        self.resize(460, self.sizeHint().height())
        handle.progress_changed.connect(self._progress)
        handle.succeeded.connect(lambda _r: self._ended("Done."))
        handle.failed.connect(lambda e: self._ended(f"Failed: {e}"))
        handle.cancelled.connect(lambda: self._ended("Cancelled."))

    def _progress(self, fraction: float, text: str) -> None:
        if text:
            self._last_text = text
            self.label.setText(text)
            self._mark_step(text)
        if fraction < 0:
            self.bar.setRange(0, 0)
        else:
            self.bar.setRange(0, 1000)
            self.bar.setValue(int(fraction * 1000))

    def _mark_step(self, text: str) -> None:
        if self._step_of is not None:
            found = self._step_of(text)
        else:
            found = next(
                (i for i, n in enumerate(self._step_names) if text.lower().startswith(n.lower())),
                None,
            )
        if found is None or not 0 <= found < len(self._step_names):
            return
        for j in range(found):
            self.steps.item(j).setText(f"✓ {self._step_names[j]}")
        self.steps.item(found).setText(f"▶ {self._step_names[found]}")
        self._step_at = found

    def _ended(self, text: str) -> None:
        done = text == "Done."
        if self._keep_progress and self._last_text and not text.startswith("Failed"):
            text = f"{text} {self._last_text}"
        self.label.setText(text)
        self.bar.setRange(0, 1000)
        if done:
            self.bar.setValue(1000)
            for i, name in enumerate(self._step_names):
                self.steps.item(i).setText(f"✓ {name}")
        elif self._step_at is not None:
            self.steps.item(self._step_at).setText(f"✗ {self._step_names[self._step_at]}")
        self.resize(self.width(), max(self.height(), self.sizeHint().height()))  # a long reason
        self.cancel_button.setText("Close")
        self.cancel_button.setToolTip("Close this window (Esc)")

    def _cancel_or_close(self) -> None:
        if not self.handle.is_done:
            self.handle.cancel()
        else:
            self.close()

    def reject(self) -> None:  # Esc
        self._cancel_or_close()
