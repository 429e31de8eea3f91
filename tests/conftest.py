"""Test-wide settings: Qt offscreen, the app's config/data folders in a temporary place."""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
_TMP = tempfile.gettempdir()
_TMP_MODE = os.stat(_TMP).st_mode & 0o7777
_home = tempfile.mkdtemp(prefix="oo-test-xdg-")
os.environ["XDG_CONFIG_HOME"] = os.path.join(_home, "config")
os.environ["XDG_DATA_HOME"] = os.path.join(_home, "data")
os.environ["XDG_CACHE_HOME"] = os.path.join(_home, "cache")
os.environ["XDG_STATE_HOME"] = os.path.join(_home, "state")


def pytest_runtest_teardown(item):
    """/tmp must stay 1777 (apt, munge and the test accounts need it): name the test that broke it."""
    mode = os.stat(_TMP).st_mode & 0o7777
    if mode != _TMP_MODE:
        os.chmod(_TMP, _TMP_MODE)
        raise AssertionError(f"{item.nodeid} changed the mode of {_TMP} from {_TMP_MODE:o} to {mode:o}")


def pytest_sessionfinish(session, exitstatus):
    """In CI (OMNIOPT_NO_SKIPS=1) a skipped test means a service was not set up: fail."""
    if os.environ.get("OMNIOPT_NO_SKIPS") != "1" or exitstatus != 0:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if skipped:
        reporter.write_line(f"OMNIOPT_NO_SKIPS: {len(skipped)} test(s) skipped; CI must run them all", red=True)
        for rep in skipped[:10]:
            reporter.write_line(f"  {rep.nodeid}: {rep.longrepr[-1] if isinstance(rep.longrepr, tuple) else rep.longrepr}")
        session.exitstatus = 1
