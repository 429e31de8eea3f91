"""Summary: counts by state, failure reasons, the best parameters and "copy as command"."""

from __future__ import annotations

import html
from typing import Optional

from PySide6.QtWidgets import QApplication, QHBoxLayout, QPushButton, QTextBrowser, QWidget

from ...analysis import derived, run_files
from ...errors import OmniOptError
from ...study.template import format_value
from .base import AnalysisView
from .model import AnalysisModel


class SummaryView(AnalysisView):
    """``text`` (QTextBrowser) holds the summary; ``best_command()`` the command of the best
    trial rendered with the frozen study's template (None without a study.json)."""

    title = "Summary"

    def __init__(self, model: AnalysisModel, parent: Optional[QWidget] = None) -> None:
        super().__init__(model, parent)
        self.text = QTextBrowser()
        self._layout.addWidget(self.text, 1)
        bar = QHBoxLayout()
        self.copy_button = QPushButton("Copy best as command")
        self.copy_button.clicked.connect(self.copy_command)
        bar.addStretch(1)
        bar.addWidget(self.copy_button)
        self._layout.addLayout(bar)
        self._frozen_for = None
        self._frozen = None
        model.objective_changed.connect(lambda _: self.refresh(force=True))

    def frozen(self) -> object:
        if self._frozen_for != self.model.path:
            self._frozen_for = self.model.path
            self._frozen = run_files.frozen_study(self.model.path) if self.model.path else None
        return self._frozen

    def best_command(self) -> Optional[str]:
        from ...study.template import render_command

        study, cols, row = self.frozen(), self.model.cols, self.model.best_row()
        if study is None or cols is None or row is None:
            return None
        try:
            return render_command(
                study.program.command, cols.row_params(row), known=cols.param_names
            )
        except OmniOptError:
            return None

    def copy_command(self) -> None:
        cmd = self.best_command()
        if cmd:
            QApplication.clipboard().setText(cmd)

    def redraw(self) -> None:
        m = self.model
        cols = m.cols
        info = cols.study
        parts = [f"<h3>{html.escape(info.name)}</h3>"]
        dirs = ", ".join(
            f"{html.escape(n)} ({d})" for n, d in zip(info.objective_names, info.directions)
        )
        parts.append(f"<p>{len(cols)} trials · objectives: {dirs} · {html.escape(m.path)}</p>")
        counts = derived.counts_by_state(cols)
        parts.append(
            "<table cellspacing=6><tr>"
            + "".join(f"<th>{k.lower()}</th>" for k in counts)
            + "</tr><tr>"
        )
        parts.append(
            "".join(f"<td align=right>{v}</td>" for v in counts.values()) + "</tr></table>"
        )
        fails = derived.failures_by_reason(cols)
        if fails:
            parts.append("<h4>Failures by reason</h4><table cellspacing=4>")
            parts += [
                f"<tr><td align=right>{n}</td><td>{html.escape(r)}</td></tr>" for r, n in fails[:20]
            ]
            parts.append("</table>")
        row = m.best_row()
        if info.is_multi_objective:
            front = m.pareto_rows()
            parts.append(f"<h4>Pareto front: {len(front)} trials</h4>")
        if row is not None:
            value = cols.values[row, m.objective]
            parts.append(
                f"<h4>Best trial #{int(cols.number[row])}: {html.escape(m.objective_name())} = {value:.8g}</h4><table>"
            )
            for name, v in cols.row_params(row).items():
                parts.append(
                    f"<tr><td>{html.escape(name)}</td><td>{html.escape(format_value(v))}</td></tr>"
                )
            parts.append("</table>")
        cmd = self.best_command()
        if cmd:
            parts.append(f"<p><b>command:</b> <code>{html.escape(cmd)}</code></p>")
        self.copy_button.setEnabled(cmd is not None)
        self.copy_button.setToolTip(
            "" if cmd else "needs the study.json of the run beside the database"
        )
        self.text.setHtml("".join(parts))

    def export(self, path: str) -> str:
        self.refresh()
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.text.toHtml())
        return path
