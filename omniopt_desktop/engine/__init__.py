"""What runs on the compute side: worker loop, program runner, storages, leases (optuna + stdlib, Python 3.9+)."""
