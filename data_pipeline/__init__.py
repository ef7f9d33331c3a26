"""EMNIST on disk -> validated uint8 arrays -> train/val/test -> tf.data. Imports nothing of ours.

Other packages import from here only; the modules behind it are this package's own business."""

from data_pipeline.atomic import atomic_writer, write_atomic
from data_pipeline.cache import cache_dir, cached_npy
from data_pipeline.download import download, verify
from data_pipeline.errors import DataError
from data_pipeline.hashing import sha256_file
from data_pipeline.holdout import TrainVal, train_val_split
from data_pipeline.load import DEFAULT_DATA_DIR, SplitArrays, load_split, resolve_data_dir
from data_pipeline.splits import RELEASE_URL, SPLITS, Split, get_split, parse_split_list
from data_pipeline.tfdata import make_dataset, upright

__all__ = [
    "DEFAULT_DATA_DIR",
    "DataError",
    "RELEASE_URL",
    "SPLITS",
    "Split",
    "SplitArrays",
    "TrainVal",
    "atomic_writer",
    "cache_dir",
    "cached_npy",
    "download",
    "get_split",
    "load_split",
    "make_dataset",
    "parse_split_list",
    "resolve_data_dir",
    "sha256_file",
    "train_val_split",
    "upright",
    "verify",
    "write_atomic",
]
