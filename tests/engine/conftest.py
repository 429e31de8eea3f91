"""Engine test fixtures: the private PostgreSQL server and a storage URL per backend."""

from __future__ import annotations

import pytest
from support.postgres import postgres_server  # noqa: F401  (fixture)

BACKENDS = ["sqlite", "journal", "journal-openlock", "postgres"]


@pytest.fixture(params=BACKENDS)
def storage_url(request, tmp_path):
    """One fresh, empty storage URL per backend (the shared contract runs over all three)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/study.db"
    if request.param == "journal":
        return f"journal:///{tmp_path}/study.journal"
    if request.param == "journal-openlock":
        return f"journal:///{tmp_path}/study.journal?lock=open"
    server = request.getfixturevalue("postgres_server")
    return server.create_database()
