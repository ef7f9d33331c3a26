import gzip
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from data_pipeline import DataError
from data_pipeline.idx import IMAGES_MAGIC, LABELS_MAGIC, parse_idx, read_idx
from data_pipeline.synthetic import idx_bytes


def test_reads_gzip_and_plain_idx_as_uint8(tmp_path):
    images = np.arange(3 * 28 * 28, dtype=np.uint32).reshape(3, 28, 28).astype(np.uint8)
    (tmp_path / "a.gz").write_bytes(gzip.compress(idx_bytes(images)))
    (tmp_path / "a").write_bytes(idx_bytes(images))
    for path in (tmp_path / "a.gz", tmp_path / "a"):
        parsed = read_idx(path, want_magic=IMAGES_MAGIC)
        assert parsed.dtype == np.uint8
        np.testing.assert_array_equal(parsed, images)


@pytest.mark.parametrize(
    "data, fragment",
    [
        (struct.pack(">II", 0x0D03, 1) + b"\0" * 8, "wrong idx magic"),
        (struct.pack(">IIII", IMAGES_MAGIC, 1, 32, 32) + b"\0" * 1024, "32x32"),
        (struct.pack(">IIII", IMAGES_MAGIC, 2, 28, 28) + b"\0" * 784, "truncated"),
        (struct.pack(">II", LABELS_MAGIC, 3) + b"\0\1", "truncated"),
        (b"\0\0", "too short"),
    ],
)
def test_bad_headers_name_the_fault(data, fragment):
    with pytest.raises(DataError, match=fragment):
        parse_idx(data, "some-file")


def test_wrong_kind_of_file_is_named():
    with pytest.raises(DataError, match="expected images"):
        parse_idx(idx_bytes(np.zeros(4, np.uint8)), "f", want_magic=IMAGES_MAGIC)


def test_truncated_gzip_says_truncated(tmp_path):
    whole = gzip.compress(idx_bytes(np.zeros((50, 28, 28), np.uint8)))
    path = tmp_path / "x-idx3-ubyte.gz"
    path.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(DataError, match="truncated gzip"):
        read_idx(path)


VALID = idx_bytes(np.arange(2 * 28 * 28).reshape(2, 28, 28).astype(np.uint8))


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=2000),
        st.tuples(st.integers(0, len(VALID) - 1), st.binary(min_size=1, max_size=8)).map(
            lambda cut: VALID[: cut[0]] + cut[1] + VALID[cut[0] + len(cut[1]) :]
        ),
        st.integers(0, len(VALID)).map(lambda n: VALID[:n]),
    )
)
def test_fuzzed_bytes_raise_only_data_error(data):
    try:
        array = parse_idx(data, "fuzz")
    except DataError:
        return
    assert array.dtype == np.uint8  # what does parse must be sound


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=400))
def test_fuzzed_gzip_files_raise_only_data_error(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("fz") / "f.gz"
    path.write_bytes(b"\x1f\x8b" + data)
    with pytest.raises(DataError):
        read_idx(path)
