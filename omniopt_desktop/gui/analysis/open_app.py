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
    """Find and read the study on a thread (it imports numpy and the loader itself, while the
    main thread imports Qt and pyqtgraph); ``box["cols"]`` or ``box["error"]`` once joined."""
    box: Dict[str, Any] = {}

    def work() -> None:
        try:
            from ...analysis.loader import find_result_file, load_trials
            from ...study import trial_attrs as A

            box["path"] = found = os.path.abspath(find_result_file(path))
            # the overview needs only these attributes (the workers of the timeline, reasons)
            keys = None if view else (A.WORKER, A.HOSTNAME, A.FAIL_REASON)
            box["cols"] = load_trials(found, study_name=study_name, user_attrs=keys)
        except BaseException as e:  # noqa: BLE001 - re-raised on the main thread
            box["error"] = e

    t = threading.Thread(target=work, daemon=True)
    t.start()
    box["thread"] = t
    return box


def _joined(box: Dict[str, Any]) -> Any:
    box["thread"].join()
    if "error" in box:
        raise box["error"]
    return box["cols"]


def main(
    path: str,
    screenshot: Optional[str] = None,
    study_name: Optional[str] = None,
    view: Optional[str] = None,
) -> int:
    if screenshot:
        box = _load_in_background(path, study_name, view)
        from PySide6.QtWidgets import QApplication

        app = QApplication.instance() or QApplication(sys.argv[:1])
        out = render_screenshot(lambda: _joined(box), screenshot, view=view)
        print(out)
        # the image is written: leave without tearing down Qt and 100,000 points object by
        # object (slow, and PySide6 has crashed in that teardown after a rendered view)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
    from ...analysis.loader import find_result_file

    path = os.path.abspath(find_result_file(path))
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    from .window import AnalysisWindow

    window = AnalysisWindow(path, study_name=study_name)
    window.show()
    return int(app.exec())


def render_screenshot(cols: Any, out: str, path: str = "", view: Optional[str] = None) -> str:
    """Render the overview (or one view of the panel) of ``cols`` to ``out`` (PNG).

    ``cols`` may be a function returning the columns (a load under way): the widgets are built
    first, then it is called. The widget is never shown: ``grab`` lays it out and paints each
    view once, into the image (shown, it was painted on screen as well, several times while
    the layout settled: twice the work).
    """
    from PySide6.QtWidgets import QApplication

    out = os.path.abspath(out)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    if view:
        from .panel import AnalysisPanel

        widget = AnalysisPanel(None)
        widget.resize(1400, 900)
    else:
        widget = Overview(None)
        widget.resize(*OVERVIEW_SIZE)
    if callable(cols):
        cols = cols()
    path = path or cols.study.source
    if view:
        widget.tabs.setCurrentWidget(widget.views[view])  # no other tab is drawn
        widget.set_columns(cols, path)
    else:
        widget.set_columns(cols, path)
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

        def __init__(self, cols: Any = None, path: str = "") -> None:
            super().__init__()
            self.model = AnalysisModel(self)
            grid = QGridLayout(self)
            self.header = QLabel("")
            grid.addWidget(self.header, 0, 0, 1, 3)
            # the third view (distribution or Pareto front) is chosen once the study is known
            self.views = [
                HistoryView(self.model),
                ImportanceView(self.model),
                DistributionView(self.model),
                ParallelView(self.model),
                TimelineView(self.model),
            ]
            self._grid = grid
            for i, v in enumerate(self.views[:3]):
                grid.addWidget(v, 1, i)
            grid.addWidget(self.views[3], 2, 0, 1, 2)
            grid.addWidget(self.views[4], 2, 2)
            grid.setRowStretch(1, 1)
            grid.setRowStretch(2, 1)
            if cols is not None:
                self.set_columns(cols, path)

        def set_columns(self, cols: Any, path: str = "") -> None:
            if cols.study.is_multi_objective and not isinstance(self.views[2], ParetoView):
                old, self.views[2] = self.views[2], ParetoView(self.model)
                self._grid.replaceWidget(old, self.views[2])
                old.deleteLater()
            self.model.set_columns(cols, path)
            counts = derived.counts_by_state(cols)
            text = ", ".join(f"{v} {k.lower()}" for k, v in counts.items() if v)
            self.header.setText(f"<b>{cols.study.name}</b> — {len(cols)} trials ({text}) — {path}")

        def refresh(self) -> None:
            for v in self.views:
                v.refresh()

    return _Overview


def Overview(cols: Any = None, path: str = "") -> Any:  # noqa: N802 - a factory that reads like a class
    return _overview_class()(cols, path)
