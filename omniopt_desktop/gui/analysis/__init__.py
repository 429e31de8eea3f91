"""Offline analysis and live views of a study: :class:`AnalysisWindow`, :class:`AnalysisPanel`.

Both are imported on first use: ``open --screenshot`` imports :mod:`.open_app` through this
package and starts reading the database before Qt and pyqtgraph are imported.
"""

from __future__ import annotations

from typing import Any

from .refcount_guard import make_singletons_immortal

make_singletons_immortal()

__all__ = ["AnalysisPanel", "AnalysisWindow"]


def __getattr__(name: str) -> Any:
    if name == "AnalysisPanel":
        from .panel import AnalysisPanel

        return AnalysisPanel
    if name == "AnalysisWindow":
        from .window import AnalysisWindow

        return AnalysisWindow
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
