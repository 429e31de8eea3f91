"""``omniopt-desktop open DB [--screenshot PNG]``: the analysis window for a result database.

With ``screenshot`` the main views are rendered into one image (or one view with ``view``),
saved, and the program exits. The database is read on a thread started before Qt is imported,
so loading and start-up overlap.
"""

from __future__ import annotations

import os
import sys
import threading
from typing import Any, Dict, Optional

from ...errors import OmniOptError

OVERVIEW_SIZE = (1800, 1100)
PNG_QUALITY = 80  # zlib level ~2: half the time of the default level, 4% larger files


def _load_in_background(
    path: str, study_name: Optional[str], view: Optional[str]
) -> Dict[str, Any]:
    box: Dict[str, Any] = {}

    def work() -> None:
        try:
            from ...analysis.loader import load_trials
            from ...study import trial_attrs as A

            # the overview needs only these attributes (the workers of the timeline, reasons)
            keys = None if view else (A.WORKER, A.HOSTNAME, A.FAIL_REASON)
            box["cols"] = load_trials(path, study_name=study_name, user_attrs=keys)
        except BaseException as e:  # noqa: BLE001 - re-raised on the main thread
            box["error"] = e

    t = threading.Thread(target=work, daemon=True)
    t.start()
    box["thread"] = t
    return box


def main(
    path: str,
    screenshot: Optional[str] = None,
    study_name: Optional[str] = None,
    view: Optional[str] = None,
) -> int:
    from ...analysis.loader import find_result_file

    path = os.path.abspath(find_result_file(path))
    box = _load_in_background(path, study_name, view) if screenshot else None
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    if not screenshot:
        from .window import AnalysisWindow

        window = AnalysisWindow(path, study_name=study_name)
        window.show()
        return int(app.exec())
    box["thread"].join()
    if "error" in box:
        raise box["error"]
    out = render_screenshot(box["cols"], screenshot, path=path, view=view)
    print(out)
    # the image is written: leave without tearing down Qt and 100,000 points object by object
    # (slow, and PySide6 has crashed in that teardown after a rendered view)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def render_screenshot(cols: Any, out: str, path: str = "", view: Optional[str] = None) -> str:
    """Render the overview (or one view of the panel) of ``cols`` to ``out`` (PNG)."""
    from PySide6.QtWidgets import QApplication

    out = os.path.abspath(out)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    if view:
        from .panel import AnalysisPanel

        widget = AnalysisPanel(None)
        widget.model.set_columns(cols, path)
        widget.set_columns(cols, path)
        widget.resize(1400, 900)
        widget.show()
        widget.show_view(view)
    else:
        widget = Overview(cols, path)
        widget.resize(*OVERVIEW_SIZE)
        widget.show()
        widget.refresh()
    QApplication.processEvents()
    if not widget.grab().save(out, "PNG", PNG_QUALITY):
        raise OmniOptError(
            f"{out}: cannot write the screenshot (use a .png name in a writable folder)"
        )
    widget.close()
    return out


def _overview_class() -> Any:
    from PySide6.QtWidgets import QGridLayout, QLabel, QWidget

    from ...analysis import derived
    from .distribution import DistributionView
    from .history import HistoryView
    from .importance_view import ImportanceView
    from .model import AnalysisModel
    from .parallel import ParallelView
    from .pareto import ParetoView
    from .timeline import TimelineView

    class _Overview(QWidget):
        """History, importance, parallel coordinates, timeline and Pareto front/distribution."""

        def __init__(self, cols: Any, path: str = "") -> None:
            super().__init__()
            self.model = AnalysisModel(self)
            self.model.set_columns(cols, path)
            grid = QGridLayout(self)
            counts = derived.counts_by_state(cols)
            text = ", ".join(f"{v} {k.lower()}" for k, v in counts.items() if v)
            header = QLabel(f"<b>{cols.study.name}</b> — {len(cols)} trials ({text}) — {path}")
            grid.addWidget(header, 0, 0, 1, 3)
            second = ParetoView if cols.study.is_multi_objective else DistributionView
            self.views = [
                HistoryView(self.model),
                ImportanceView(self.model),
                second(self.model),
                ParallelView(self.model),
                TimelineView(self.model),
            ]
            for i, v in enumerate(self.views[:3]):
                grid.addWidget(v, 1, i)
            grid.addWidget(self.views[3], 2, 0, 1, 2)
            grid.addWidget(self.views[4], 2, 2)
            grid.setRowStretch(1, 1)
            grid.setRowStretch(2, 1)

        def refresh(self) -> None:
            for v in self.views:
                v.refresh()

    return _Overview


def Overview(cols: Any, path: str = "") -> Any:  # noqa: N802 - a factory that reads like a class
    return _overview_class()(cols, path)
