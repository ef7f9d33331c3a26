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

from tuning.errors import UserError

DEFAULT_STORAGE = "sqlite:///studies/optuna.db"
SCHEMES = ("sqlite", "postgresql", "postgresql+psycopg")
STUDY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,119}$")
MAX_RETRIES = 2
SCHEMA_ATTEMPTS = 5


def heartbeat_settings() -> tuple[int, int]:
    """(heartbeat interval, grace period) in seconds; every worker of a study should use the same."""
    return int(os.environ.get("TUNE_HEARTBEAT_SECONDS", 10)), int(os.environ.get("TUNE_GRACE_SECONDS", 60))


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


def mask(url: str) -> str:
    """`url` with any password replaced by ***, for output, logs and files."""
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", url)


def check_study_name(name: str) -> str:
    if not STUDY_NAME.match(name):
        raise UserError(
            f"study name {name!r} may hold only letters, digits, '.', '_' and '-' (up to 120), "
            "e.g. emnist-balanced-cnn"
        )
    return name


def sqlite_path(url: str) -> Path | None:
    if not url.startswith("sqlite:///"):
        return None
    return Path(url.removeprefix("sqlite:///"))


def prepare_sqlite(path: Path) -> None:
    """Create the folder, and switch the file to WAL (persistent), so readers never block writers."""
    if path.parent and not path.parent.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with sqlite3.connect(path, timeout=60) as connection:
            connection.execute("PRAGMA journal_mode=WAL")
    except sqlite3.Error as exc:
        raise UserError(f"cannot open SQLite storage {path}: {exc}; check the path and its permissions") from None


def open_storage(storage: str | None, create: bool = True):
    """An Optuna RDBStorage for the resolved URL; a one-line UserError when it cannot be reached."""
    import warnings

    import optuna
    from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback
    from sqlalchemy.exc import IntegrityError, ProgrammingError, SQLAlchemyError

    # heartbeats are "experimental" since Optuna 2.9; we depend on them knowingly
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)

    url = resolve_url(storage)
    path = sqlite_path(url)
    if path is not None:
        if not create and not path.exists():
            raise UserError(f"no study storage at {path}; run `tune start` first or pass --storage")
        prepare_sqlite(path)
        engine_kwargs = {"connect_args": {"timeout": 60}}
    else:
        engine_kwargs = {"pool_pre_ping": True, "connect_args": {"connect_timeout": 10}}
    optuna.logging.set_verbosity(optuna.logging.ERROR)  # our trial lines carry every failure reason
    heartbeat, grace = heartbeat_settings()
    for attempt in range(SCHEMA_ATTEMPTS):
        try:
            return RDBStorage(
                url,
                engine_kwargs=engine_kwargs,
                heartbeat_interval=heartbeat,
                grace_period=grace,
                heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRIES),
            )
        except (IntegrityError, ProgrammingError) as exc:
            # Workers that start together on an empty database race to create Optuna's tables
            # (PostgreSQL: duplicate key in pg_type); the loser finds them made on its next try.
            if attempt < SCHEMA_ATTEMPTS - 1:
                time.sleep(0.5 + random.random())
                continue
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            raise UserError(f"cannot set up storage {mask(url)}: {reason}") from None
        except (SQLAlchemyError, OSError) as exc:
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            raise UserError(f"cannot reach storage {mask(url)}: {reason}") from None
