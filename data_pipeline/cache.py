"""The rebuildable cache: where parsed arrays and feature caches live ($EMNIST_CACHE_DIR, else
~/.cache/emnist-tune), arrays kept there as checksummed, memory-mapped .npy files, and the sha256 memo of the data files.

Not the data folder: it may be read-only (a shared mount), and the cache is rebuildable.
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path
from typing import Callable

import numpy as np

from data_pipeline.atomic import atomic_writer, write_atomic
from data_pipeline.hashing import sha256_file


def cache_dir() -> Path:
    from data_pipeline.errors import DataError

    root = Path(os.environ.get("EMNIST_CACHE_DIR") or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "emnist-tune")
    for folder in (root, *root.parents):
        if folder.exists() and not folder.is_dir():
            raise DataError(f"cache folder {root}: {folder} is a file, not a folder; set EMNIST_CACHE_DIR to a folder")
        if folder.exists():
            break
    return root


def cached_npy(npy: Path, build: Callable[[], np.ndarray], sound: Callable[[np.ndarray], bool] = lambda a: True) -> np.ndarray:
    """The array at `npy`, memory-mapped, if its content checksum holds; else `build()` it and keep it.

    The .npy is written atomically with a sidecar sha256 of its bytes, so a torn, truncated or
    bit-flipped cache file is rebuilt, never trusted. A lock file makes concurrent processes on
    this machine wait for one build instead of each doing it.
    """
    digest_file = npy.with_suffix(".npy.sha256")
    npy.parent.mkdir(parents=True, exist_ok=True)
    with open(npy.with_suffix(".npy.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if digest_file.read_text().strip() == sha256_file(npy):
                array = np.load(npy, mmap_mode="r", allow_pickle=False)
                if sound(array):
                    return array
        except (OSError, ValueError):
            pass  # missing, unreadable or corrupt: rebuild below
        array = build()
        try:
            with atomic_writer(npy) as stream:
                np.save(stream, array, allow_pickle=False)
            write_atomic(digest_file, sha256_file(npy).encode())
        except OSError:
            return array  # an unwritable cache costs speed, not correctness
    return np.load(npy, mmap_mode="r", allow_pickle=False)


def _memo_path() -> Path:
    return cache_dir() / "sha256-memo.json"


def cached_sha256(path: str | Path) -> str:
    """sha256 of `path`; reuses the last hash while the file's size and mtime are unchanged."""
    path = Path(path).resolve()
    stat = path.stat()
    key = f"{path}|{stat.st_size}|{stat.st_mtime_ns}"
    memo_path = _memo_path()
    try:
        memo = json.loads(memo_path.read_text())
    except (OSError, ValueError):
        memo = {}
    if isinstance(memo, dict) and isinstance(memo.get(key), str):
        return memo[key]
    digest = sha256_file(path)
    memo = {k: v for k, v in memo.items() if not k.startswith(f"{path}|")} if isinstance(memo, dict) else {}
    memo[key] = digest
    write_atomic(memo_path, json.dumps(memo, indent=0).encode())
    return digest
