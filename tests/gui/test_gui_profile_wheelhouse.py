"""The profile's wheelhouse (a local folder of wheels for a cluster without internet) is edited
in the profiles dialog and kept in the settings; the submission passes it on (gui/cluster_launch.py)."""

from __future__ import annotations

import os

from omniopt_desktop.gui.profiles.profiles_dialog import ProfilesDialog


def test_the_wheelhouse_field_edits_the_profile(qtbot, window, tmp_path):
    dlg = ProfilesDialog(window.settings, window.tasks, window, ssh_config=os.devnull)
    qtbot.addWidget(dlg)
    dlg.add_profile()
    qtbot.keyClicks(dlg.host.lineEdit(), "alice@login.example.org")
    qtbot.keyClicks(dlg.wheelhouse, str(tmp_path / "wheels"))
    [profile] = window.settings.profiles
    assert profile.wheelhouse == str(tmp_path / "wheels")
    dlg.add_profile()  # another profile: the field shows its (empty) wheelhouse
    assert dlg.wheelhouse.text() == ""
    dlg.list.setCurrentRow(0)  # back: the field shows the first one's again
    assert dlg.wheelhouse.text() == str(tmp_path / "wheels")
