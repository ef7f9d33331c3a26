"""EMNIST on disk -> validated uint8 arrays -> train/val/test -> tf.data. Imports nothing of ours."""

from data_pipeline.errors import DataError
from data_pipeline.holdout import TrainVal, train_val_split
from data_pipeline.load import SplitArrays, load_split, resolve_data_dir
from data_pipeline.splits import SPLITS, Split, get_split, parse_split_list
from data_pipeline.tfdata import make_dataset, upright

__all__ = [
    "DataError",
    "SPLITS",
    "Split",
    "SplitArrays",
    "TrainVal",
    "get_split",
    "load_split",
    "make_dataset",
    "parse_split_list",
    "resolve_data_dir",
    "train_val_split",
    "upright",
]
