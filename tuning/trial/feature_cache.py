"""VGG16 features computed once: the frozen base's output, cached on disk for every trial.

A VGG16-head trial with a frozen base pushes every image through the same frozen network every
epoch. Here the frozen prefix runs once per (weights, input size, frozen depth, preprocessing,
images) and its float16 output is kept as a checksummed .npy under the cache folder, shared by all
trials, all workers on the machine and later runs; trials then train only the trainable rest.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass

import numpy as np

import models
from data_pipeline import TrainVal, cache_dir, cached_npy, sha256_file

#: Bump when GrayToVGGInput, the padding/resizing or the base's layer order changes.
PREPROCESSING_VERSION = "gray->pad32|resize, bgr-mean, v1"


def cache_off_reason(config) -> str | None:
    """Why the features of this vgg16 config cannot be cached, or None when they can."""
    if config.augment:
        return "augmentation runs before the frozen base, so its output differs every epoch"
    if config.weights is None:
        return "random init gives every build another frozen base; cache needs fixed weights (imagenet, random or weights_path)"
    return None


@dataclass
class CachedModel:
    """A VGG16 cut at its frozen base: the base, its cache key, the trainable rest, and a holdout as
    the base's features, on which the rest trains and is evaluated as the whole model would be."""

    prefix: object
    rest: object
    key: dict
    holdout: TrainVal
    seconds: float  # spent computing those features (0 when they were cached)

    def count_params(self) -> int:
        return int(self.prefix.count_params() + self.rest.count_params())


class FeatureCache:
    """Per worker process: remembers image checksums, hands out cached feature holdouts."""

    def __init__(self):
        self.image_sha: dict[int, str] = {}
        self.weights_sha: dict[tuple, str] = {}

    def images_sha256(self, images: np.ndarray) -> str:
        key = id(images)  # the worker's holdout arrays live as long as the worker
        if key not in self.image_sha:
            self.image_sha[key] = hashlib.sha256(np.ascontiguousarray(images).tobytes()).hexdigest()
        return self.image_sha[key]

    def features(self, prefix, prefix_key: dict, images: np.ndarray) -> tuple[np.ndarray, float]:
        """(float16 features of `images`, seconds spent computing them; 0 on a cache hit)."""
        key = hashlib.sha256(json.dumps({**prefix_key, "images": self.images_sha256(images)}, sort_keys=True).encode())
        spent = [0.0]

        def compute() -> np.ndarray:
            start = time.perf_counter()
            out = np.concatenate([prefix.predict_on_batch(images[i : i + 512]).astype(np.float16)
                                  for i in range(0, len(images), 512)])
            spent[0] = time.perf_counter() - start
            return out

        array = cached_npy(cache_dir() / "features" / f"{key.hexdigest()}.npy", compute,
                           sound=lambda a: a.dtype == np.float16 and len(a) == len(images))
        return array, spent[0]

    def prefix_key(self, config, weights_file: str) -> dict:
        """What makes a frozen prefix's output: the key of its cached features (with the images).
        The weights file (58 MB) is hashed once per process while it stays the same file."""
        stat = os.stat(weights_file)
        file_key = (os.path.realpath(weights_file), stat.st_size, stat.st_mtime_ns)
        if file_key not in self.weights_sha:
            self.weights_sha[file_key] = sha256_file(weights_file)
        return {
            "weights_sha256": self.weights_sha[file_key],
            "input_size": config.input_size,
            "frozen_blocks": 5 - config.trainable_blocks,
            "preprocessing": PREPROCESSING_VERSION,
        }

    def cached_model(self, config: dict, holdout: TrainVal) -> CachedModel | str:
        """`config`'s VGG16 cut at its frozen base, with `holdout` as the base's features; or why the
        cache cannot serve this config."""
        parsed = models.parse_config(config)
        reason = cache_off_reason(parsed)
        if reason is not None:
            return reason
        prefix, rest = models.build_parts(parsed)
        key = self.prefix_key(parsed, models.vgg16_weights_file(parsed))
        train, train_seconds = self.features(prefix, key, holdout.train_images)
        val, val_seconds = self.features(prefix, key, holdout.val_images)
        return CachedModel(prefix, rest, key, TrainVal(train, holdout.train_labels, val, holdout.val_labels),
                           train_seconds + val_seconds)
