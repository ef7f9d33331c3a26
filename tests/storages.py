"""One fixture that runs a test on every storage we support, after optuna/testing/storages.py.

PostgreSQL: each test gets a database of its own on 127.0.0.1:5432, dropped afterwards; skipped,
saying why, where no server answers. (Optuna's journal file storage is not offered by `tune`:
SQLite in WAL mode covers the one-machine case, PostgreSQL the many-machine one.)
"""

from __future__ import annotations

import uuid

import pytest

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
STORAGES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def postgres_admin():
    import psycopg

    try:
        return psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL is not reachable at 127.0.0.1:5432 ({str(exc).strip().splitlines()[0]}); "
                    "start it with `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`")


@pytest.fixture
def postgres_url():
    """A fresh, empty PostgreSQL database for this test; dropped afterwards."""
    admin = postgres_admin()
    name = f"tune_test_{uuid.uuid4().hex[:12]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture(params=STORAGES)
def storage_url(request, tmp_path):
    if request.param == "sqlite":
        (tmp_path / "studies").mkdir(exist_ok=True)
        yield f"sqlite:///{tmp_path / 'studies' / 'optuna.db'}"
    else:
        yield request.getfixturevalue("postgres_url")
