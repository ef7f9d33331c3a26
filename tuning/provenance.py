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


def machine() -> dict:
    return {"platform": platform.platform(), "processor": platform.machine(), "cpus": os.cpu_count()}
