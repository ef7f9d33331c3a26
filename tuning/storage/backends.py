"""The storage backends, Optuna's scale-out ladder as one table: how each URL reads, how it opens,
how a command that only reads checks it (never creating or changing a byte), and what the
dashboard needs.

`--storage`, else $TUNE_STORAGE, else sqlite:///studies/optuna.db. Every backend keeps the heartbeat
promise: a killed worker's trial is failed after the grace period and retried (RDBStorage's own
heartbeats on SQLite and PostgreSQL; tuning.storage.heartbeat on a journal file and the gRPC proxy).
"""

from __future__ import annotations

import os
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from tuning.errors import UserError, env_int
from tuning.storage.credentials import mask
from tuning.storage.sqlite import SCHEMA_ATTEMPTS, begin_immediate, check_optuna_file, prepare_sqlite, sqlite_path

DEFAULT_STORAGE = "sqlite:///studies/optuna.db"
MAX_RETRIES = 2
GRPC_WAIT_SECONDS = 10


def heartbeat_settings() -> tuple[int, int]:
    """(heartbeat interval, grace period) in seconds; every worker of a study should use the same."""
    return env_int("TUNE_HEARTBEAT_SECONDS", 10), env_int("TUNE_GRACE_SECONDS", 60)


@dataclass(frozen=True)
class Backend:
    name: str
    example: str  # how its URL reads
    when: str  # the step of the ladder it is
    parse: Callable[[str], Path | None]  # the URL's form checked: the file it names, None for a server
    open: Callable[[str, bool, bool], object]  # (url, create, writes) -> an Optuna storage
    check: Callable[[str], None]  # for commands that only read: one line unless a study storage is there
    dashboard: str  # what `tune dashboard` needs
    server: bool = False  # a database workers fill: `tune dashboard` may set up an empty one beside them


def open_rdb(url: str, create: bool, writes: bool):
    """SQLite or PostgreSQL through Optuna's RDBStorage, with its heartbeats."""
    from optuna.storages import RDBStorage

    from tuning.storage.heartbeat import RetryStaleTrial
    from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError, SQLAlchemyError

    path = sqlite_path(url)
    if path is not None and create:
        prepare_sqlite(path)
    if path is not None:
        engine_kwargs = {"connect_args": {"timeout": 60}}
    else:
        engine_kwargs = {"pool_pre_ping": True, "connect_args": {"connect_timeout": 10}}
    heartbeat, grace = heartbeat_settings()
    for attempt in range(SCHEMA_ATTEMPTS):
        try:
            rdb = RDBStorage(
                url,
                engine_kwargs=engine_kwargs,
                heartbeat_interval=heartbeat,
                grace_period=grace,
                heartbeat_stale_trial_callback=RetryStaleTrial(max_retry=MAX_RETRIES),
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


def with_heartbeats(storage):
    from tuning.storage.heartbeat import WithHeartbeats

    heartbeat, grace = heartbeat_settings()
    return WithHeartbeats(storage, heartbeat, grace, MAX_RETRIES)


def open_journal_url(url: str, create: bool, writes: bool):
    from tuning.storage.journal import journal_path, open_journal, prepare_journal

    path = journal_path(url)
    if create:
        prepare_journal(path)
    try:
        return with_heartbeats(open_journal(path))
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot open journal storage {path}: {exc}; check the path and its permissions") from None


def journal_file(url: str) -> Path:
    from tuning.storage.journal import journal_path

    return journal_path(url)


def check_journal_url(url: str) -> None:
    from tuning.storage.journal import check_journal, journal_path

    check_journal(journal_path(url))


def grpc_address(url: str) -> tuple[str, int]:
    host, _, port = url.removeprefix("grpc://").rstrip("/").rpartition(":")
    if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise UserError(f"storage {url!r} names no server; use grpc://host:port, e.g. grpc://127.0.0.1:13000 "
                        "(`tune storage serve` prints it)")
    return host.strip("[]"), int(port)


def open_grpc(url: str, create: bool, writes: bool):
    """A client of `tune storage serve`; the server must answer within GRPC_WAIT_SECONDS."""
    import grpc
    from optuna.storages import GrpcStorageProxy

    host, port = grpc_address(url)
    proxy = GrpcStorageProxy(host=host, port=port)
    try:
        proxy.wait_server_ready(timeout=GRPC_WAIT_SECONDS)
    except (grpc.FutureTimeoutError, ConnectionError):
        proxy.close()
        raise UserError(f"no storage server answers at {host}:{port} (waited {GRPC_WAIT_SECONDS} s); start one "
                        "with `tune storage serve --storage URL --port PORT` or check the address") from None
    return with_heartbeats(proxy)


def parse_grpc(url: str) -> None:
    grpc_address(url)


def check_postgres(url: str) -> None:
    """The PostgreSQL database must already hold Optuna's tables (RDBStorage would make them)."""
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


BACKENDS = {
    "sqlite": Backend("sqlite", "sqlite:///studies/optuna.db",
                      "one machine: the default, nothing to run (WAL: readers never block the workers)",
                      sqlite_path, open_rdb, lambda url: check_optuna_file(sqlite_path(url)), "the same file, read-only"),
    "journal": Backend("journal", "journal:///shared/studies/journal.log",
                       "several processes or hosts on one shared disk, no database server",
                       journal_file, open_journal_url, check_journal_url,
                       "the same file on the shared disk"),
    "postgresql+psycopg": Backend("postgresql", "postgresql+psycopg://user:password@host/db",
                                  "many machines, tens of workers",
                                  lambda url: None, open_rdb, check_postgres, "the same database URL", server=True),
    "grpc": Backend("grpc", "grpc://host:13000",
                    "hundreds of workers: one `tune storage serve` holds the database connections",
                    # a read only parses the URL: opening waits for the server, which checked its storage
                    parse_grpc, open_grpc, parse_grpc, "the proxy's URL, or the database it serves"),
}
ALIASES = {"postgresql": "postgresql+psycopg"}  # SQLAlchemy would pick psycopg2, which we do not ship


def resolve_url(storage: str | None) -> str:
    url = storage or os.environ.get("TUNE_STORAGE") or DEFAULT_STORAGE
    scheme = url.split("://", 1)[0] if "://" in url else ""
    if scheme in ALIASES:
        url = ALIASES[scheme] + "://" + url.split("://", 1)[1]
        scheme = ALIASES[scheme]
    if scheme not in BACKENDS:
        examples = ", ".join(backend.example for backend in BACKENDS.values())
        raise UserError(f"storage URL {mask(url)!r} has scheme {scheme or 'none'!r}; use one of {examples}")
    return url


def backend_of(url: str) -> Backend:
    return BACKENDS[resolve_url(url).split("://", 1)[0]]


def storage_file(url: str) -> Path | None:
    """The file a storage URL names (SQLite, journal), None for a server; one line for a malformed URL."""
    url = resolve_url(url)
    return backend_of(url).parse(url)


def open_storage(storage: str | None, create: bool = True, writes: bool = True):
    """An Optuna storage for the resolved URL; a one-line UserError when it cannot be reached.

    `create`: make the file and folder, or Optuna's tables in an empty database, if missing (else
    the storage must already be an Optuna store, and is left as it was).
    `writes`: this process runs trials (SQLite: transactions take the write lock, see
    begin_immediate); commands that only read pass False, so they can read a read-only file.
    """
    import warnings

    import optuna

    # heartbeats are "experimental" since Optuna 2.9, the gRPC proxy since 4.2: we depend on them knowingly
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    optuna.logging.set_verbosity(optuna.logging.ERROR)  # our trial lines carry every failure reason
    url = resolve_url(storage)
    backend = backend_of(url)
    backend.parse(url)
    if not create:
        backend.check(url)
    return backend.open(url, create, writes)


def close_storage(storage) -> None:
    """Let go of a storage's connections (a database pool, a gRPC channel)."""
    inner = getattr(storage, "wrapped", storage)
    if hasattr(inner, "engine"):
        inner.engine.dispose()
    elif hasattr(inner, "close"):
        inner.close()
