"""An event-loop probe for GUI tests: a fast timer that records the longest gap between ticks."""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, QTimer


class StallProbe(QObject):
    """Ticks every ``interval_ms``; ``max_gap_ms`` is the longest time the GUI thread did not
    get back to its event loop (the stall a user would feel) while the probe ran."""

    def __init__(self, interval_ms: int = 10) -> None:
        super().__init__()
        self.interval_ms = interval_ms
        self.max_gap_ms = 0.0
        self.ticks = 0
        self.stalls: list[tuple[float, float]] = []  # (seconds since start, gap ms) over 30 ms
        self._start = 0.0
        self._last = 0.0
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._tick)

    def start(self) -> None:
        self._start = self._last = time.perf_counter()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def _tick(self) -> None:
        now = time.perf_counter()
        gap = (now - self._last) * 1000.0 - self.interval_ms
        self.max_gap_ms = max(self.max_gap_ms, gap)
        if gap > 30:
            self.stalls.append((round(now - self._start, 3), round(gap, 1)))
        self._last = now
        self.ticks += 1
