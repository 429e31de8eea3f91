"""SLURM: sbatch rendering, job-state parsing, submission through a CommandRunner (no SSH code)."""
