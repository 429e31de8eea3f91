"""Fixtures of the cluster tests: the real single-node SLURM (tests/support/slurm.py)."""

from support.slurm import slurm_cluster  # noqa: F401
