import numpy as np
import pytest

from data_pipeline import DataError, SPLITS, get_split, load_split, make_dataset, train_val_split, upright
from data_pipeline import cache_dir
from data_pipeline.splits import OFFICIAL_FILES, parse_split_list
from data_pipeline.synthetic import write_idx_gz, write_split


def test_table_covers_the_release():
    assert list(SPLITS) == ["byclass", "bymerge", "balanced", "letters", "digits", "mnist"]
    assert len(OFFICIAL_FILES) == 30  # 24 gz files + 6 mapping files
    for split in SPLITS.values():
        assert all(name in OFFICIAL_FILES for name in split.files)
    assert get_split("letters").label_range == (1, 26)
    assert [s.name for s in parse_split_list("mnist, balanced")] == ["mnist", "balanced"]
    with pytest.raises(DataError, match="unknown split 'nope'"):
        parse_split_list("mnist,nope")


def test_letters_labels_become_zero_based(data_dir):
    data = load_split("letters", data_dir)
    assert data.train_labels.min() == 0 and data.train_labels.max() == 25
    assert data.train_images.dtype == np.uint8 and data.train_images.shape[1:] == (28, 28)
    assert get_split("letters").characters(data_dir)[0] == "A"


def test_second_load_is_a_memory_map_and_corrupt_cache_is_rebuilt(data_dir):
    first = load_split("mnist", data_dir)
    train_images, test_labels = np.array(first.train_images), np.array(first.test_labels)
    second = load_split("mnist", data_dir)
    assert isinstance(second.train_images, np.memmap)
    np.testing.assert_array_equal(first.train_images, second.train_images)
    cached = sorted((cache_dir() / "arrays").glob("*.npy"))
    assert len(cached) == 4
    for path in cached:  # flip bytes in the middle of every cached array
        raw = bytearray(path.read_bytes())
        raw[len(raw) // 2] ^= 0xFF
        path.write_bytes(bytes(raw))
    third = load_split("mnist", data_dir)
    np.testing.assert_array_equal(third.train_images, train_images)
    np.testing.assert_array_equal(third.test_labels, test_labels)


def test_missing_file_names_it_and_the_fix(data_dir):
    (data_dir / get_split("mnist").file_name("test-labels")).unlink()
    with pytest.raises(DataError, match=r"emnist-mnist-test-labels-idx1-ubyte.gz: missing; run `tune data download"):
        load_split("mnist", data_dir)


def test_count_mismatch_and_label_range(data_dir):
    split = get_split("mnist")
    write_idx_gz(data_dir / split.file_name("test-labels"), np.zeros(3, np.uint8))
    with pytest.raises(DataError, match="test set has 40 images but 3 labels"):
        load_split("mnist", data_dir)
    write_idx_gz(data_dir / split.file_name("test-labels"), np.full(40, 10, np.uint8))
    with pytest.raises(DataError, match="label 10 is outside mnist's range 0..9"):
        load_split("mnist", data_dir)


def test_default_holdout_is_the_seed_studys_rule(data_dir):
    data = load_split("mnist", data_dir)
    holdout = train_val_split(data)
    n_test = len(data.test_labels)
    np.testing.assert_array_equal(holdout.val_images, data.train_images[-n_test:])
    np.testing.assert_array_equal(holdout.train_images, data.train_images[:-n_test])


def test_stratified_holdout_and_train_fraction_are_seeded(data_dir):
    data = load_split("balanced", data_dir)
    a = train_val_split(data, val_fraction=0.25, train_fraction=0.5, seed=3)
    b = train_val_split(data, val_fraction=0.25, train_fraction=0.5, seed=3)
    c = train_val_split(data, val_fraction=0.25, train_fraction=0.5, seed=4)
    np.testing.assert_array_equal(a.val_labels, b.val_labels)
    assert not np.array_equal(a.train_images, c.train_images)
    assert set(np.bincount(a.val_labels)) == {3}  # 12 per class * 0.25
    assert set(np.bincount(a.train_labels)) == {4}  # the other 9 per class * 0.5, rounded
    with pytest.raises(DataError, match="train fraction"):
        train_val_split(data, train_fraction=1.5)


def test_tf_dataset_keeps_uint8_or_scales(data_dir):
    data = load_split("mnist", data_dir)
    images, labels = next(iter(make_dataset(data.train_images, data.train_labels, 16, shuffle_seed=1)))
    assert images.shape == (16, 28, 28, 1) and images.dtype.name == "uint8"
    scaled, _ = next(iter(make_dataset(data.train_images, data.train_labels, 16, scale=True)))
    assert scaled.dtype.name == "float32" and float(scaled.numpy().max()) <= 1.0
    assert upright(data.train_images)[0, 3, 7] == data.train_images[0, 7, 3]


def test_synthetic_split_is_valid_for_every_split(tmp_path):
    for name in SPLITS:
        write_split(tmp_path, name, train_per_class=2, test_per_class=1)
        data = load_split(name, tmp_path)
        assert data.train_labels.max() == SPLITS[name].num_classes - 1
