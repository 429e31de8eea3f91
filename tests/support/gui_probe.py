"""An event-loop probe for GUI tests: a fast timer that records the gaps between its ticks."""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, QTimer

_SCHEDSTAT = "/proc/thread-self/schedstat"  # ns on the CPU, ns waiting for a CPU, slices


def _runqueue_wait_ms() -> float | None:
    try:
        with open(_SCHEDSTAT) as f:
            return int(f.read().split()[1]) / 1e6
    except (OSError, ValueError, IndexError):
        return None


class StallProbe(QObject):
    """Ticks every ``interval_ms`` on the GUI thread and measures how long the thread did not
    get back to its event loop.

    ``max_gap_ms`` is the longest gap of all. ``max_own_gap_ms`` subtracts the time the GUI
    thread was runnable but waiting for a CPU (Linux schedstat): on a loaded machine the
    operating system may not schedule the process at all, which no design of the app can
    prevent. Everything else counts as the app's own stall: code on the GUI thread, blocking
    I/O there, waiting for the GIL or a garbage collection.
    """

    def __init__(self, interval_ms: int = 10) -> None:
        super().__init__()
        self.interval_ms = interval_ms
        self.max_gap_ms = 0.0
        self.max_own_gap_ms = 0.0
        self.ticks = 0
        self.stalls: list[tuple[float, float, float]] = []  # (s, gap ms, ms waiting for a CPU)
        self._start = 0.0
        self._last = 0.0
        self._last_wait: float | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._tick)

    def start(self) -> None:
        self._start = self._last = time.perf_counter()
        self._last_wait = _runqueue_wait_ms()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def _tick(self) -> None:
        now, wait = time.perf_counter(), _runqueue_wait_ms()
        gap = (now - self._last) * 1000.0 - self.interval_ms
        waited = 0.0
        if wait is not None and self._last_wait is not None:
            waited = max(0.0, wait - self._last_wait)
        self.max_gap_ms = max(self.max_gap_ms, gap)
        self.max_own_gap_ms = max(self.max_own_gap_ms, gap - waited)
        if gap > 30:
            self.stalls.append((round(now - self._start, 3), round(gap, 1), round(waited, 1)))
        self._last, self._last_wait = now, wait
        self.ticks += 1

    def report(self) -> str:
        return (
            f"{self.ticks} ticks, longest stall {self.max_gap_ms:.1f} ms, longest without the "
            f"time spent waiting for a CPU {self.max_own_gap_ms:.1f} ms; stalls over 30 ms "
            f"(s, ms, ms waiting for a CPU): {self.stalls}"
        )
