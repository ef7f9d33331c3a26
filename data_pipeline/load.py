"""EMNIST files on disk -> validated uint8 arrays, through a checksum-keyed .npy cache.

A split's four idx files are parsed once; each parsed array is kept as ``<sha256 of source>.npy``
under the cache folder together with the sha256 of the .npy itself, so a second load is a memory
map after one hash check, and a corrupt or half-written cache file is rebuilt, never trusted.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from data_pipeline.cache import cache_dir
from data_pipeline.cache import cached_npy, cached_sha256
from data_pipeline.errors import DataError
from data_pipeline.idx import IMAGES_MAGIC, LABELS_MAGIC, read_idx
from data_pipeline.splits import PARTS, Split, get_split

DEFAULT_DATA_DIR = "data/emnist"


def resolve_data_dir(data_dir: str | Path | None = None) -> Path:
    """--data-dir, else $EMNIST_DATA_DIR, else ./data/emnist; checked to be a folder."""
    path = Path(data_dir or os.environ.get("EMNIST_DATA_DIR") or DEFAULT_DATA_DIR)
    if path.is_file():
        raise DataError(f"data dir {path} is a file, not a folder; pass the folder that holds the emnist-*.gz files")
    if not path.is_dir():
        raise DataError(
            f"data dir {path} does not exist; run `tune data download --data-dir {path}` "
            "or point --data-dir / EMNIST_DATA_DIR at a folder with the EMNIST files"
        )
    return path


def find_file(data_dir: Path, name: str, split: Split) -> Path:
    """The official .gz file, or the same file already gunzipped (name without .gz)."""
    for candidate in (data_dir / name, data_dir / name.removesuffix(".gz")):
        if candidate.is_file():
            return candidate
    raise DataError(
        f"{data_dir / name}: missing; run `tune data download --splits {split.name} --data-dir {data_dir}`"
    )


@dataclass(frozen=True)
class SplitArrays:
    """A split's official train and test sets, uint8, labels shifted to 0..C-1."""

    split: Split
    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    checksums: dict[str, str] = field(repr=False)  # file name -> sha256 of the source file


def load_split(name: str, data_dir: str | Path | None = None) -> SplitArrays:
    split = get_split(name)
    folder = resolve_data_dir(data_dir)
    arrays, checksums = {}, {}
    for part in PARTS:
        path = find_file(folder, split.file_name(part), split)
        magic = IMAGES_MAGIC if part.endswith("images") else LABELS_MAGIC
        try:
            checksums[path.name] = cached_sha256(path)
            arrays[part] = load_cached(path, checksums[path.name], magic)
        except PermissionError as exc:
            raise DataError(f"{exc.filename or path}: cannot be read ({exc.strerror}); fix its permissions") from None
    for kind in ("train", "test"):
        images, labels = arrays[f"{kind}-images"], arrays[f"{kind}-labels"]
        if len(images) != len(labels):
            raise DataError(
                f"{folder}: {kind} set has {len(images)} images but {len(labels)} labels; "
                f"the {split.name} {kind} files do not belong together, download them again"
            )
        arrays[f"{kind}-labels"] = shift_labels(labels, split, folder / split.file_name(f"{kind}-labels"))
    return SplitArrays(
        split,
        arrays["train-images"],
        arrays["train-labels"],
        arrays["test-images"],
        arrays["test-labels"],
        checksums,
    )


def shift_labels(labels: np.ndarray, split: Split, path: Path) -> np.ndarray:
    low, high = split.label_range
    if len(labels) and (labels.min() < low or labels.max() > high):
        bad = labels[(labels < low) | (labels > high)][0]
        raise DataError(
            f"{path}: label {bad} is outside {split.name}'s range {low}..{high}; "
            "the file belongs to another split or is corrupt"
        )
    return labels - np.uint8(low) if low else labels


def load_cached(path: Path, source_sha256: str, magic: int) -> np.ndarray:
    """Memory-mapped parsed array of `path`, parsed and cached under its sha256 when needed."""
    ndim = 3 if magic == IMAGES_MAGIC else 1
    return cached_npy(
        cache_dir() / "arrays" / f"{source_sha256}.npy",
        build=lambda: read_idx(path, want_magic=magic),
        sound=lambda array: array.dtype == np.uint8 and array.ndim == ndim,
    )
