"""Small, valid EMNIST-format splits for tests: official names, idx.gz, mapping files.

Each class is a distinct, learnable pattern (a bar at a class-specific place) plus noise, so a
model trained for a few steps does measurably better than chance.
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np

from data_pipeline.splits import Split, get_split

#: Characters for the synthetic mapping files; byclass needs 62.
_CHARS = [str(d) for d in range(10)] + [chr(c) for c in range(ord("A"), ord("Z") + 1)] + [
    chr(c) for c in range(ord("a"), ord("z") + 1)
]


def idx_bytes(array: np.ndarray) -> bytes:
    array = np.ascontiguousarray(array, dtype=np.uint8)
    if array.ndim == 3:
        header = struct.pack(">IIII", 2051, *array.shape)
    else:
        header = struct.pack(">II", 2049, array.shape[0])
    return header + array.tobytes()


def write_idx_gz(path: Path, array: np.ndarray) -> None:
    path.write_bytes(gzip.compress(idx_bytes(array), mtime=0))


def synthetic_images(labels: np.ndarray, num_classes: int, rng: np.random.Generator) -> np.ndarray:
    images = rng.integers(0, 60, size=(len(labels), 28, 28), dtype=np.uint8)
    for row, label in enumerate(labels):
        # one 3-pixel bar per class, placed on a 62-slot grid of positions and orientations
        slot = int(label) * 62 // max(num_classes, 1)
        offset = 2 + (slot % 31) * 24 // 31
        if slot < 31:
            images[row, offset : offset + 3, 4:24] = 255
        else:
            images[row, 4:24, offset : offset + 3] = 255
    return images


def write_split(
    data_dir: str | Path, name: str, train_per_class: int = 20, test_per_class: int = 5, seed: int = 0
) -> Split:
    """Write the five files of split `name` into `data_dir`; returns the Split."""
    split = get_split(name)
    folder = Path(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    low, high = split.label_range
    for kind, per_class in (("train", train_per_class), ("test", test_per_class)):
        labels = rng.permutation(np.repeat(np.arange(low, high + 1, dtype=np.uint8), per_class))
        write_idx_gz(folder / split.file_name(f"{kind}-images"), synthetic_images(labels - low, split.num_classes, rng))
        write_idx_gz(folder / split.file_name(f"{kind}-labels"), labels)
    characters = _CHARS[10:] if low else _CHARS  # the 1-based split (letters) has no digits
    rows = [f"{label} {ord(characters[label - low])}" for label in range(low, high + 1)]
    (folder / split.mapping_file).write_bytes(("\r\n".join(rows) + "\r\n").encode())
    return split
