"""Defaults shared by the CLI and the GUI's cluster profiles (nothing to import with them)."""

DEFAULT_REMOTE_BASE = "~/omniopt-desktop"  # runs, environments and wheels on the cluster
