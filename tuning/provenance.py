"""What makes a result reproducible: package versions, data checksums, seed, machine."""

from __future__ import annotations

import os
import platform
from importlib import metadata

PACKAGES = ("tensorflow", "keras", "optuna", "optuna-dashboard", "keras-tuner", "numpy", "emnist-tune")


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def worker_identity() -> dict:
    """Who ran a trial: host and pid, and which run of a recycled worker process it was (0 = the
    first; a recycled process keeps its pid, so the pid alone cannot tell)."""
    import socket

    return {"worker": f"{socket.gethostname()}:{os.getpid()}", "process_run": int(os.environ.get("TUNE_RECYCLED") or 0)}


def machine() -> dict:
    return {"platform": platform.platform(), "processor": platform.machine(), "cpus": os.cpu_count()}
