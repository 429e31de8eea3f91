# PyInstaller run-time hook of the bundle (packaging/omniopt_desktop.spec). First, the part of
# PyInstaller's pyi_rth_pyside6 a Linux bundle needs, without its `import PySide6.QtCore`. That
# hook loads Qt and shiboken6 at the start of every command (`--version`, `status`, each `run`
# worker: about 0.1 s of CPU) only to register a qt.conf that PySide6's QtCore module registers
# itself when the GUI imports it. Qt finds the bundle's plugins through these variables, as
# with the original.
import os
import sys

_qt = os.path.join(sys._MEIPASS, "PySide6", "Qt")
os.environ["QT_PLUGIN_PATH"] = os.path.join(_qt, "plugins")
os.environ["QML2_IMPORT_PATH"] = os.path.join(_qt, "qml")
del _qt

# Under the C locale (a clean environment, some ssh sessions) `python main.py` runs with
# LC_CTYPE=C.UTF-8 (CPython's PEP 538 locale coercion, inherited by child processes); the
# bundle's interpreter skips that step and Qt then warns on every start. Do what CPython does.
if not os.environ.get("LC_ALL") and (
    os.environ.get("LC_CTYPE") or os.environ.get("LANG") or "C"
) in ("C", "POSIX"):
    os.environ["LC_CTYPE"] = "C.UTF-8"
