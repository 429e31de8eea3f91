"""The PySide6 + pyqtgraph desktop application (the only Qt user)."""
