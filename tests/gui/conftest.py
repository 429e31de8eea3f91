"""Fixtures for the GUI tests: a main window with its own settings file; modal dialogs that a
test did not expect fail the test instead of hanging it."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QDialog, QMessageBox

from omniopt_desktop.gui.settings import AppSettings

try:  # the real SLURM and sshd of the cluster and SSH layers (tests/support/)
    from support.slurm import slurm_cluster  # noqa: F401
    from support.sshd import sshd_account, sshd_env, sshd_root  # noqa: F401
except ImportError:  # pragma: no cover - before those layers land
    pass


def _unexpected_modal(self, *a, **k):
    raise AssertionError(f"unexpected modal dialog: {type(self).__name__} {self.windowTitle()!r}")


@pytest.fixture(autouse=True)
def no_unexpected_modal_dialogs(monkeypatch):
    monkeypatch.setattr(QDialog, "exec", _unexpected_modal)
    monkeypatch.setattr(QMessageBox, "exec", _unexpected_modal)


@pytest.fixture
def settings(tmp_path):
    return AppSettings(path=str(tmp_path / "settings.json"))


@pytest.fixture
def window(qtbot, settings):
    from omniopt_desktop.gui.main_window import MainWindow

    w = MainWindow(settings=settings)
    w.show()
    qtbot.waitExposed(w)
    w.activateWindow()
    qtbot.waitUntil(w.isActiveWindow)
    yield w
    w.tasks.cancel_all()
    if w.doc is not None:
        w.doc._dirty = False  # no "unsaved changes" question when the fixture closes it
    w.close()
    w.deleteLater()
