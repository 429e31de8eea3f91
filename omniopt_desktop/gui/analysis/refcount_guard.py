"""Guard against a PySide6 refcount bug on Python < 3.12.

Some PySide6 6.12 bindings (e.g. ``QGraphicsItem.setVisible`` and pyqtgraph's paint paths)
return ``None``/``True``/``False`` without taking a reference. On Python 3.12+ these objects are
immortal and nothing happens; on 3.11 every call lowers their count until the interpreter aborts
with "deallocating None/True/False" (seen at exit after rendering pyqtgraph views). The three
singletons are never freed anyway, so we give them a reference count that cannot run out.
"""

from __future__ import annotations

import ctypes
import sys

_DONE = False
_EXTRA = 1 << 40


def make_singletons_immortal() -> None:
    global _DONE
    if _DONE or sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return
    for obj in (None, True, False):
        ctypes.c_ssize_t.from_address(id(obj)).value += _EXTRA
    _DONE = True
