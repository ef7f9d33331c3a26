"""One fixture that runs a test on every storage backend (tuning.storage.backends), after
optuna/testing/storages.py: SQLite, a journal file, PostgreSQL, and the gRPC proxy (`tune storage
serve` in front of a SQLite file, started for the test). `opened(url)` is the storage as a
command that only reads opens it, for a test's own checks with Optuna.

PostgreSQL: each test gets a database of its own on 127.0.0.1:5432, dropped afterwards; skipped,
saying why, where no server answers.
"""

from __future__ import annotations

import socket
import subprocess
import uuid
from contextlib import contextmanager

import pytest

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
STORAGES = ["sqlite", "journal", "grpc", pytest.param("postgres", marks=pytest.mark.postgres)]


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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def storage_server(storage: str, cwd):
    """`tune storage serve` in front of `storage` on a free loopback port: its grpc:// URL."""
    from tests.conftest import tune_command

    port = free_port()
    server = subprocess.Popen([*tune_command(), "storage", "serve", "--storage", storage, "--port", str(port)], cwd=cwd,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline()  # printed once the storage is open, just before it listens
        assert f"grpc://127.0.0.1:{port}" in line, (line, server.stderr.read() if server.poll() is not None else "")
        yield f"grpc://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=30)


def opened(url: str):
    from tuning.storage import open_storage

    return open_storage(url, create=False, writes=False)


@pytest.fixture(params=STORAGES)
def storage_url(request, tmp_path):
    (tmp_path / "studies").mkdir(exist_ok=True)
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'studies' / 'optuna.db'}"
    elif request.param == "journal":
        yield f"journal:///{tmp_path / 'studies' / 'journal.log'}"
    elif request.param == "grpc":
        with storage_server(f"sqlite:///{tmp_path / 'studies' / 'served.db'}", tmp_path) as url:
            yield url
    else:
        yield request.getfixturevalue("postgres_url")
