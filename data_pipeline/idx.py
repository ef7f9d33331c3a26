"""Read one EMNIST idx file (gzip or plain) into a validated uint8 array.

The header is checked here, before idx2numpy parses the body, so that any malformed input ends
in a DataError naming the file and the fault, never in an exception from deep inside a parser.
"""

from __future__ import annotations

import gzip
import struct
import zlib
from pathlib import Path

import idx2numpy
import numpy as np

from data_pipeline.errors import DataError

IMAGES_MAGIC = 2051  # unsigned byte, 3 dimensions
LABELS_MAGIC = 2049  # unsigned byte, 1 dimension
GZIP_MAGIC = b"\x1f\x8b"


def read_bytes(path: Path) -> bytes:
    """The idx bytes of `path`, gunzipped when it is a gzip file (by content, not by name)."""
    raw = path.read_bytes()
    if not raw.startswith(GZIP_MAGIC):
        return raw
    try:
        return gzip.decompress(raw)
    except EOFError:
        raise DataError(f"{path}: truncated gzip file; delete it and run `tune data download` again") from None
    except (gzip.BadGzipFile, zlib.error, OSError) as exc:
        raise DataError(f"{path}: corrupt gzip file ({exc}); delete it and run `tune data download` again") from None


def parse_header(data: bytes, name: str) -> tuple[int, tuple[int, ...]]:
    """(magic, shape) of an idx byte string, with the checks every EMNIST file must pass."""
    if len(data) < 8:
        raise DataError(f"{name}: {len(data)} bytes is too short for an idx header; the file is truncated")
    magic, count = struct.unpack(">II", data[:8])
    if magic == LABELS_MAGIC:
        shape: tuple[int, ...] = (count,)
    elif magic == IMAGES_MAGIC:
        if len(data) < 16:
            raise DataError(f"{name}: image header is truncated ({len(data)} bytes)")
        rows, cols = struct.unpack(">II", data[8:16])
        if (rows, cols) != (28, 28):
            raise DataError(f"{name}: images are {rows}x{cols}, EMNIST images are 28x28")
        shape = (count, rows, cols)
    else:
        raise DataError(
            f"{name}: wrong idx magic {magic:#010x}; want {IMAGES_MAGIC:#010x} (images) "
            f"or {LABELS_MAGIC:#010x} (labels): not an EMNIST uint8 idx file"
        )
    header = 8 + 4 * (len(shape) - 1)
    expected = header + int(np.prod(shape))
    if len(data) != expected:
        raise DataError(
            f"{name}: {len(data)} bytes, the header promises {expected}; the file is truncated or padded"
        )
    return magic, shape


def parse_idx(data: bytes, name: str, want_magic: int | None = None) -> np.ndarray:
    """Validated uint8 array of an idx byte string; `want_magic` pins images or labels."""
    magic, shape = parse_header(data, name)
    if want_magic is not None and magic != want_magic:
        kind = "images" if want_magic == IMAGES_MAGIC else "labels"
        raise DataError(f"{name}: holds {'labels' if kind == 'images' else 'images'}, expected {kind}")
    array = idx2numpy.convert_from_string(data)
    if array.dtype != np.uint8 or array.shape != shape:  # guards against idx2numpy surprises
        raise DataError(f"{name}: parsed as {array.dtype}{array.shape}, expected uint8{shape}")
    return array


def read_idx(path: str | Path, want_magic: int | None = None) -> np.ndarray:
    path = Path(path)
    return parse_idx(read_bytes(path), str(path), want_magic)
