"""Where studies live: URL resolution, validation, and an Optuna storage that survives workers.

`--storage`, else $TUNE_STORAGE, else sqlite:///studies/optuna.db. SQLite gets WAL and a long busy
timeout so parallel workers wait instead of failing with "database is locked"; every RDB storage
gets heartbeats, so a killed worker's trial is failed after the grace period and retried.
"""

from __future__ import annotations

import os
import random
import re
import sqlite3
import time
from pathlib import Path

from tuning.errors import UserError, env_int

DEFAULT_STORAGE = "sqlite:///studies/optuna.db"
SCHEMES = ("sqlite", "postgresql", "postgresql+psycopg")
STUDY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,119}$")
MAX_RETRIES = 2
SCHEMA_ATTEMPTS = 5


def heartbeat_settings() -> tuple[int, int]:
    """(heartbeat interval, grace period) in seconds; every worker of a study should use the same."""
    return env_int("TUNE_HEARTBEAT_SECONDS", 10), env_int("TUNE_GRACE_SECONDS", 60)


def resolve_url(storage: str | None) -> str:
    url = storage or os.environ.get("TUNE_STORAGE") or DEFAULT_STORAGE
    scheme = url.split("://", 1)[0] if "://" in url else ""
    if scheme not in SCHEMES:
        raise UserError(
            f"storage URL {mask(url)!r} has scheme {scheme or 'none'!r}; use sqlite:///path/to.db "
            "or postgresql+psycopg://user:password@host/db"
        )
    if scheme == "postgresql":  # SQLAlchemy would pick psycopg2, which we do not ship
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


#: query keys that carry a secret in a SQLAlchemy or libpq URL (password, sslpassword, passfile's ...)
SECRET_KEY = re.compile(r"(?i)((?:^|[?&;])[^=&;]*(?:password|passwd|pwd|secret|token)[^=&;]*=)[^&;]*")


def mask(url: str) -> str:
    """`url` with every credential replaced by ***, for output, logs and files: the password of
    `user:password@host` (up to the last '@', so a raw '@' in it hides the rest too) and any
    password-like query value (`?password=...`, `&sslpassword=...`)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return SECRET_KEY.sub(r"\1***", url)
    location, question, query = rest.partition("?")
    if "@" in location:
        userinfo, _, host = location.rpartition("@")
        user, colon, _ = userinfo.partition(":")
        location = f"{user}{':***' if colon else ''}@{host}"
    return f"{scheme}://{location}{question}" + SECRET_KEY.sub(r"\1***", query)


def secrets_in(url: str) -> list[str]:
    """The credential strings in `url` (what `mask` hides), longest first, for scrubbing any text."""
    found = []
    _, sep, rest = url.partition("://")
    location, _, query = rest.partition("?")
    if sep and "@" in location:
        found.append(location.rpartition("@")[0].partition(":")[2])
    found += [match.group(0).split("=", 1)[1] for match in SECRET_KEY.finditer(query or url)]
    return sorted({secret for secret in found if len(secret) >= 2}, key=len, reverse=True)


def scrub(text: str, urls) -> str:
    """`text` with every credential of `urls` replaced by ***."""
    for url in urls:
        for secret in secrets_in(url or ""):
            text = text.replace(secret, "***")
    return text


def check_study_name(name: str) -> str:
    if not STUDY_NAME.match(name):
        raise UserError(
            f"study name {name!r} may hold only letters, digits, '.', '_' and '-' (up to 120), "
            "e.g. emnist-balanced-cnn"
        )
    return name


def check_study_exists(storage, name: str) -> None:
    import optuna

    if name not in optuna.get_all_study_names(storage):
        raise UserError(f"no study named {name!r} in this storage; start it with `tune start` or list studies with `tune status`")


def sqlite_path(url: str) -> Path | None:
    if not url.startswith("sqlite:"):
        return None
    path = url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else ""
    if not path or path == ":memory:" or path.startswith("file:"):
        raise UserError(f"storage {url!r} names no file; use sqlite:///path/to.db (a study must outlive the process)")
    return Path(path.split("?", 1)[0])


def prepare_sqlite(path: Path) -> None:
    """Create the folder, and switch the file to WAL (persistent), so readers never block writers."""
    if path.is_dir():
        raise UserError(f"SQLite storage {path} is a folder; give a file path such as {path / 'optuna.db'}")
    if path.is_file() and path.stat().st_size:
        sqlite_tables(path)  # a damaged file is one line, before anything writes to it
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot make the folder {path.parent} for SQLite storage {path}: "
                        f"{exc.strerror}; choose a writable --storage path") from None
    for attempt in range(SCHEMA_ATTEMPTS * 4):
        try:
            with sqlite3.connect(path, timeout=60) as connection:
                connection.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            # switching the journal needs the file to itself; SQLite answers "locked" at once, without
            # waiting, while another starter creates the schema: wait a moment and switch again
            if "locked" in str(exc) and attempt < SCHEMA_ATTEMPTS * 4 - 1:
                time.sleep(0.2 + random.random() * 0.5)
                continue
            raise UserError(f"cannot open SQLite storage {path}: {exc}; check the path and its permissions") from None
        except sqlite3.Error as exc:
            raise UserError(f"cannot open SQLite storage {path}: {exc}; check the path and its permissions") from None


def sqlite_tables(path: Path) -> set[str]:
    """The table names of SQLite file `path`, read without changing a byte beside it, after a quick
    check of its pages; a UserError when it is not a sound SQLite file. Where no `-wal` file is
    beside it (nobody is writing it), it is opened immutable: SQLite then makes no -wal or -shm file."""
    immutable = "&immutable=1" if not path.with_name(path.name + "-wal").exists() else ""
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro{immutable}", uri=True, timeout=60)
        try:
            problems = [row[0] for row in connection.execute("PRAGMA quick_check")]
            tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        finally:
            connection.close()
    except sqlite3.Error as exc:
        problems = [str(exc)]
    if problems != ["ok"]:
        raise UserError(f"{path} is not a sound SQLite file ({problems[0]}); restore it from a backup, "
                        "or pass another study storage with --storage")
    return tables


def check_optuna_file(path: Path) -> None:
    """For commands that only read: the file must already be an Optuna store, opened read-only
    here so that not one byte of a foreign (or any) file changes."""
    if not path.exists():
        raise UserError(f"no study storage at {path}; run `tune start` first or pass --storage")
    if not path.is_file():
        raise UserError(f"SQLite storage {path} is not a file; pass the study storage with --storage")
    if not {"studies", "trials", "version_info"} <= sqlite_tables(path):
        raise UserError(f"{path} is a SQLite file but not an Optuna study storage; pass the study storage with --storage")


def check_optuna_database(url: str) -> None:
    """For commands that must not create a storage: the PostgreSQL database must already hold
    Optuna's tables (RDBStorage would otherwise create its schema there)."""
    from sqlalchemy import create_engine, inspect
    from sqlalchemy.exc import SQLAlchemyError

    engine = None
    try:
        engine = create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 10})
        tables = set(inspect(engine).get_table_names())
    except (SQLAlchemyError, ValueError) as exc:  # ValueError: an unparsable URL
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise UserError(f"cannot reach storage {mask(url)}: {reason}") from None
    finally:
        if engine is not None:
            engine.dispose()
    if not {"studies", "trials", "version_info"} <= tables:
        raise UserError(f"no study storage in {mask(url)} (the database holds no Optuna tables); "
                        "run `tune start` first or pass another --storage")


def begin_immediate(engine) -> None:
    """Make every transaction on this SQLite engine take the write lock when it begins.

    SQLite ignores SELECT ... FOR UPDATE, and pysqlite opens a transaction only at the first write,
    so Optuna's "read a WAITING trial, mark it RUNNING" can succeed in two workers at once: both run
    the same enqueued trial and the second fails with "Cannot tell a COMPLETE trial" (seen 1 CI run
    in 5 with 4 workers). BEGIN IMMEDIATE makes that read-modify-write one step, as PostgreSQL's row
    lock does (SQLAlchemy's documented recipe for pysqlite transactions).
    """
    from sqlalchemy import event

    event.listen(engine, "connect", lambda dbapi_connection, _: setattr(dbapi_connection, "isolation_level", None))
    event.listen(engine, "begin", lambda connection: connection.exec_driver_sql("BEGIN IMMEDIATE"))
    engine.dispose()  # connections made while creating the schema lack the "connect" setting


def open_storage(storage: str | None, create: bool = True, writes: bool = True):
    """An Optuna RDBStorage for the resolved URL; a one-line UserError when it cannot be reached.

    `create`: make the SQLite file and folder, or Optuna's tables in an empty PostgreSQL database, if
    missing (else the storage must already be an Optuna store, and is left as it was).
    `writes`: this process runs trials (SQLite: transactions take the write lock, see begin_immediate);
    commands that only read pass False, so they can read a read-only file.
    """
    import warnings

    import optuna
    from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback
    from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError, SQLAlchemyError

    # heartbeats are "experimental" since Optuna 2.9; we depend on them knowingly
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)

    url = resolve_url(storage)
    path = sqlite_path(url)
    if path is not None:
        if create:
            prepare_sqlite(path)
        else:
            check_optuna_file(path)
        engine_kwargs = {"connect_args": {"timeout": 60}}
    else:
        if not create:
            check_optuna_database(url)
        engine_kwargs = {"pool_pre_ping": True, "connect_args": {"connect_timeout": 10}}
    optuna.logging.set_verbosity(optuna.logging.ERROR)  # our trial lines carry every failure reason
    heartbeat, grace = heartbeat_settings()
    for attempt in range(SCHEMA_ATTEMPTS):
        try:
            rdb = RDBStorage(
                url,
                engine_kwargs=engine_kwargs,
                heartbeat_interval=heartbeat,
                grace_period=grace,
                heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRIES),
            )
            if path is not None and writes:
                begin_immediate(rdb.engine)
            return rdb
        except (IntegrityError, ProgrammingError, OperationalError) as exc:
            # Workers (or a worker and a `tune status`) that start together on an empty database race
            # to create Optuna's tables (PostgreSQL: duplicate key in pg_type; SQLite: "table ...
            # already exists"); the loser finds them made on its next try.
            schema_race = not isinstance(exc, OperationalError) or "already exists" in str(exc)
            if schema_race and attempt < SCHEMA_ATTEMPTS - 1:
                time.sleep(0.5 + random.random())
                continue
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            raise UserError(f"cannot {'set up' if schema_race else 'reach'} storage {mask(url)}: {reason}") from None
        except (SQLAlchemyError, OSError, ValueError, RuntimeError) as exc:  # ValueError: an unparsable URL
            # SQLite: another process may be half-way through creating the schema (tables without
            # Optuna's version row yet); a moment later the file is whole
            if path is not None and attempt < SCHEMA_ATTEMPTS - 1:
                time.sleep(0.5 + random.random())
                continue
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            raise UserError(f"cannot reach storage {mask(url)}: {reason}") from None
