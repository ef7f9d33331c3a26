"""Where studies live: one table of storage backends (tuning.storage.backends), SQLite's and the
journal file's rules of use, heartbeats where Optuna has none, and credentials kept out of output."""

from tuning.storage.backends import (
    BACKENDS,
    DEFAULT_STORAGE,
    backend_of,
    close_storage,
    grpc_address,
    heartbeat_settings,
    open_storage,
    resolve_url,
    storage_file,
)
from tuning.storage.credentials import mask, scrub, secrets_in
from tuning.storage.names import STUDY_NAME, check_study_exists, check_study_name
from tuning.storage.sqlite import sqlite_path

__all__ = ["BACKENDS", "DEFAULT_STORAGE", "STUDY_NAME", "backend_of", "check_study_exists", "check_study_name",
           "close_storage", "grpc_address", "heartbeat_settings", "mask", "open_storage", "resolve_url", "scrub",
           "secrets_in", "sqlite_path", "storage_file"]
