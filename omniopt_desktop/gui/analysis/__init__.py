"""Offline analysis and live views of a study: :class:`AnalysisWindow`, :class:`AnalysisPanel`."""

from __future__ import annotations

from .refcount_guard import make_singletons_immortal

make_singletons_immortal()

from .panel import AnalysisPanel  # noqa: E402
from .window import AnalysisWindow  # noqa: E402

__all__ = ["AnalysisPanel", "AnalysisWindow"]
