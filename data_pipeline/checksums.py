"""sha256 of files, remembered by (path, size, mtime) so a warm load does not re-hash."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
from pathlib import Path
from typing import Callable

import numpy as np

from data_pipeline.cache_dir import cache_dir


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while block := stream.read(chunk):
            digest.update(block)
    return digest.hexdigest()


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


@contextlib.contextmanager
def atomic_writer(path: Path):
    """A binary stream whose bytes appear at `path` only when the block ends without error:
    a reader sees the old file or the whole new one, never half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_atomic(path: Path, data: bytes) -> None:
    with atomic_writer(path) as stream:
        stream.write(data)


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
