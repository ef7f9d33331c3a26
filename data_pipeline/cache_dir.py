"""Where parsed arrays and feature caches live: $EMNIST_CACHE_DIR, else ~/.cache/emnist-tune.

Not the data folder: it may be read-only (a shared mount), and the cache is rebuildable.
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    from data_pipeline.errors import DataError

    root = Path(os.environ.get("EMNIST_CACHE_DIR") or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "emnist-tune")
    for folder in (root, *root.parents):
        if folder.exists() and not folder.is_dir():
            raise DataError(f"cache folder {root}: {folder} is a file, not a folder; set EMNIST_CACHE_DIR to a folder")
        if folder.exists():
            break
    return root
