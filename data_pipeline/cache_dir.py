"""Where parsed arrays and feature caches live: $EMNIST_CACHE_DIR, else ~/.cache/emnist-tune.

Not the data folder: it may be read-only (a shared mount), and the cache is rebuildable.
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    root = os.environ.get("EMNIST_CACHE_DIR") or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "emnist-tune"
    return Path(root)
