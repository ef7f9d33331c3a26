"""Issue 15's classes beyond `tune start`'s table (tests/test_crash.py): credentials in every form,
read commands that must not write, the schema race on a fresh SQLite file, dashboard addresses."""

import hashlib
import multiprocessing
import socket
import sqlite3

import pytest

from tests.conftest import assert_one_line_error, run_tune
from tuning.storage import mask, scrub

SECRET_URLS = [
    ("postgresql+psycopg://tune:hunter2@db:5432/x", "hunter2"),
    ("postgresql+psycopg://tune:hun@ter2@db:5432/x", "hun@ter2"),  # a raw '@' inside the password
    ("postgresql+psycopg://tune:hu:nt/er2@db/x", "hu:nt/er2"),
    ("postgresql+psycopg://tune@db/x?password=hunter2", "hunter2"),
    ("postgresql+psycopg://db/x?sslmode=require&password=hunter2&connect_timeout=3", "hunter2"),
    ("postgresql+psycopg://db/x?sslpassword=hunter2", "hunter2"),
    ("postgresql://:hunter2@db/x", "hunter2"),
]


@pytest.mark.parametrize("url, secret", SECRET_URLS)
def test_every_credential_form_is_masked(url, secret):
    assert secret not in mask(url) and "***" in mask(url)
    assert secret not in scrub(f"could not connect with {url}: password {secret} refused", [url])


@pytest.mark.parametrize("url, secret", [
    ("postgresql+psycopg://tune:hunter2@127.0.0.1:1/x", "hunter2"),
    ("postgresql+psycopg://tune:hun@ter2@127.0.0.1:1/x", "hun@ter2"),
    ("postgresql+psycopg://tune@127.0.0.1:1/x?password=hunter2", "hunter2"),
    ("postgresql+psycopg://tune:hunter2@127.0.0.1:1:5432/x", "hunter2"),  # unparsable: still no password
])
def test_no_command_prints_a_password(tmp_path, url, secret):
    for args in (["status"], ["start", "--split", "mnist", "--trials", "1"]):
        result = run_tune(*args, "--storage", url, cwd=tmp_path)
        assert result.returncode == 2, result.stderr
        assert secret not in result.stdout + result.stderr


def file_bytes(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("command", [["status"], ["export", "--all"], ["worker", "--study", "x"]])
def test_read_commands_refuse_a_foreign_sqlite_file_and_leave_it_as_it_was(tmp_path, command):
    foreign = tmp_path / "notes.db"
    with sqlite3.connect(foreign) as connection:
        connection.execute("CREATE TABLE notes (text TEXT)")
    before = file_bytes(foreign)
    result = run_tune(*command, "--storage", f"sqlite:///{foreign}", cwd=tmp_path)
    assert_one_line_error(result, "not an Optuna study storage")
    assert file_bytes(foreign) == before


def test_status_reads_a_study_file_without_changing_a_byte(tmp_path, data_dir):
    storage = f"sqlite:///{tmp_path}/o.db"
    created = run_tune("start", "--split", "mnist", "--model", "mlp", "--trials", "1", "--max-epochs", "1",
                       "--storage", storage, "--data-dir", str(data_dir), cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    with sqlite3.connect(tmp_path / "o.db") as connection:  # as a user might leave it: rollback journal
        connection.execute("PRAGMA journal_mode=DELETE")
    before = file_bytes(tmp_path / "o.db")
    assert run_tune("status", "--storage", storage, cwd=tmp_path).returncode == 0
    assert file_bytes(tmp_path / "o.db") == before


def _open_at(url, barrier, create):
    from tuning.storage import open_storage

    barrier.wait()
    try:
        open_storage(url, create=create)
    except Exception as exc:  # noqa: BLE001  (the test wants to see any)
        if create or "not an Optuna study storage" not in str(exc) and "no study storage" not in str(exc):
            raise


@pytest.mark.parametrize("round_", range(6))
def test_starters_racing_on_one_fresh_sqlite_file_all_get_the_storage(tmp_path, round_):
    """Three `tune start`s (and a `tune status`) opening one new SQLite file at the same instant:
    before, one in three failed with 'table ... already exists'."""
    url = f"sqlite:///{tmp_path}/fresh.db"
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(4)
    processes = [context.Process(target=_open_at, args=(url, barrier, create)) for create in (True, True, True, False)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
    assert [process.exitcode for process in processes] == [0] * 4


def test_dashboard_addresses_are_checked_before_it_starts(tmp_path, data_dir):
    storage = f"sqlite:///{tmp_path}/o.db"
    assert run_tune("start", "--split", "mnist", "--model", "mlp", "--trials", "1", "--max-epochs", "1",
                    "--storage", storage, "--data-dir", str(data_dir), cwd=tmp_path).returncode == 0
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    port = busy.getsockname()[1]
    try:
        for args, fragment in ((["--port", "70000"], "out of range"), (["--host", "no-such-host.invalid"], "does not resolve"),
                               (["--port", str(port)], "cannot listen on 127.0.0.1")):
            assert_one_line_error(run_tune("dashboard", "--storage", storage, *args, cwd=tmp_path, timeout=60), fragment)
    finally:
        busy.close()
