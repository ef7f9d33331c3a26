"""A journal file (Optuna's JournalStorage on a JournalFileBackend): an append-only log many
processes, or hosts on a shared disk, write under a lock file; no database server.

The log is checked whole before use: every complete line one JSON record of Optuna's. A line cut
short by a writer killed mid-append (never acknowledged to anyone) is cut off under the lock before
this process appends, so the next record does not fuse with it into a line no reader can parse.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from tuning.errors import UserError

TAIL = 1 << 20  # bytes read back to find the last whole record (Optuna's records are far shorter)


def journal_path(url: str) -> Path:
    path = url.removeprefix("journal:///") if url.startswith("journal:///") else ""
    if not path:
        raise UserError(f"storage {url!r} names no file; use journal:///path/to/journal.log")
    return Path(path)


def check_journal(path: Path) -> None:
    """One line unless `path` is a journal file Optuna can replay (read only, nothing written)."""
    if not path.exists():
        raise UserError(f"no study storage at {path}; run `tune start` first or pass --storage")
    if not path.is_file():
        raise UserError(f"journal storage {path} is not a file; pass the study storage with --storage")
    try:
        with open(path, "rb") as log:
            for number, line in enumerate(log, start=1):
                if not line.endswith(b"\n"):
                    break  # an append cut short: never acknowledged, cut off before the next write
                try:
                    record = json.loads(line)
                except ValueError:  # json.JSONDecodeError, UnicodeDecodeError
                    record = None
                if not isinstance(record, dict) or "op_code" not in record:
                    raise UserError(f"{path} is not a sound Optuna journal file (line {number} is not one of its "
                                    "records); restore it from a backup, or pass another study storage with --storage")
    except OSError as exc:
        raise UserError(f"cannot read journal storage {path}: {exc.strerror}; check its permissions") from None


def prepare_journal(path: Path) -> None:
    """Make the folder, check a log already there, and cut off a record left half-written."""
    from optuna.storages.journal import JournalFileSymlinkLock
    from optuna.storages.journal._file import get_lock_file

    if path.is_dir():
        raise UserError(f"journal storage {path} is a folder; give a file path such as {path / 'journal.log'}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not os.access(path.parent, os.W_OK):
            raise PermissionError(13, "Permission denied")
    except OSError as exc:
        raise UserError(f"cannot write journal storage {path}: {exc.strerror} in {path.parent}; "
                        "choose a writable --storage path") from None
    if not path.exists() or not path.stat().st_size:
        return
    check_journal(path)
    with get_lock_file(JournalFileSymlinkLock(str(path))):
        with open(path, "rb+") as log:
            size = log.seek(0, os.SEEK_END)
            log.seek(max(0, size - TAIL))
            tail = log.read()
            if not tail.endswith(b"\n"):
                log.truncate(size - len(tail) + tail.rfind(b"\n") + 1)


def open_journal(path: Path):
    from optuna.storages.journal import JournalFileBackend, JournalStorage

    return JournalStorage(JournalFileBackend(str(path)))
