"""OmniOpt Desktop: hyper-parameter optimisation of any program, locally or on SLURM."""

__version__ = "0.1.0"
