"""``omniopt-desktop open DB [--screenshot PNG]``: the analysis window for a result database.

With ``screenshot`` the main views are rendered into one image (or one view with ``view``),
saved, and the program exits. The database is read on a thread started before Qt is imported,
so loading and start-up overlap.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import Any, Dict, Optional

from ...errors import OmniOptError

OVERVIEW_SIZE = (1800, 1100)
PNG_ZLIB_LEVEL = 2  # rows unfiltered: half the time of Qt's fastest PNG setting, same size


_T0 = time.perf_counter()


def _phase(what: str) -> None:
    """With OMNIOPT_PHASES=1 in the environment: the time since this module was imported
    (and the main thread's CPU time) on stderr, for bench/bench_analysis.py."""
    if os.environ.get("OMNIOPT_PHASES"):
        wall, cpu = time.perf_counter() - _T0, time.thread_time()
        print(
            f"phase {wall * 1000:6.0f} ms (main thread CPU {cpu * 1000:5.0f}): {what}",
            file=sys.stderr,
        )


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
            t = time.perf_counter()
            box["cols"] = load_trials(found, study_name=study_name, user_attrs=keys)
            _phase(f"loaded ({(time.perf_counter() - t) * 1000:.0f} ms in the loader thread)")
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
        _phase("Qt imported")
        out = render_screenshot(lambda: _joined(box), screenshot, view=view)
        _phase("saved")
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
    _phase("widgets built")
    if callable(cols):
        # modules the views import on first use, imported while the load runs
        import numpy.ma  # noqa: F401 - pyqtgraph's first paint
        import numpy.random  # noqa: F401 - the sampled views

        cols = cols()
        _phase("load joined")
    path = path or cols.study.source
    if view:
        widget.tabs.setCurrentWidget(widget.views[view])  # no other tab is drawn
        widget.set_columns(cols, path)
    else:
        widget.set_columns(cols, path)
        widget.refresh()
    QApplication.processEvents()
    _phase("views drawn")
    image = widget.grab().toImage()
    _phase("grabbed")
    try:
        save_png(image, out)
    except OSError as e:
        raise OmniOptError(
            f"{out}: cannot write the screenshot ({e.strerror or e}; use a writable folder)"
        ) from None
    widget.close()
    return out


def save_png(image: Any, path: str) -> None:
    """Write a QImage as an 8-bit RGB PNG: rows without a filter, one zlib stream at
    PNG_ZLIB_LEVEL (Qt's writer tries every row filter: twice the time for a plot)."""
    import struct
    import zlib

    import numpy as np
    from PySide6.QtGui import QImage

    rgb = image.convertToFormat(QImage.Format.Format_RGB888)
    w, h = rgb.width(), rgb.height()
    pixels = np.frombuffer(rgb.constBits(), np.uint8).reshape(h, rgb.bytesPerLine())
    rows = np.zeros((h, 3 * w + 1), np.uint8)  # a 0 before each row: no filter
    rows[:, 1:] = pixels[:, : 3 * w]
    del pixels

    def chunk(tag: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(tag + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)  # 8 bits, RGB, no interlace
    data = zlib.compress(rows.tobytes(), PNG_ZLIB_LEVEL)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b""))


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
                old.hide()  # deleteLater waits for the event loop: a screenshot came first
                old.deleteLater()
            self.model.set_columns(cols, path)
            counts = derived.counts_by_state(cols)
            text = ", ".join(f"{v} {k.lower()}" for k, v in counts.items() if v)
            shown = f"{len(cols)} trials ({text})" if text else "no trials yet"
            self.header.setText(f"<b>{cols.study.name}</b> — {shown} — {path}")

        def refresh(self) -> None:
            for v in self.views:
                v.refresh()

    return _Overview


def Overview(cols: Any = None, path: str = "") -> Any:  # noqa: N802 - a factory that reads like a class
    return _overview_class()(cols, path)
