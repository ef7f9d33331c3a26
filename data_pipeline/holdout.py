"""Validation carved from the training set only, and seeded training subsets. Deterministic."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from data_pipeline.errors import DataError
from data_pipeline.load import SplitArrays


@dataclass(frozen=True)
class TrainVal:
    train_images: np.ndarray
    train_labels: np.ndarray
    val_images: np.ndarray
    val_labels: np.ndarray


def stratified_indices(labels: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """Sorted indices of a seeded subset holding `fraction` of every class (at least one each)."""
    rng = np.random.default_rng(seed)
    chosen = []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        take = max(1, int(round(len(members) * fraction)))
        chosen.append(rng.choice(members, size=take, replace=False))
    return np.sort(np.concatenate(chosen)) if chosen else np.array([], dtype=np.int64)


def train_val_split(
    data: SplitArrays,
    val_fraction: float | None = None,
    train_fraction: float = 1.0,
    seed: int = 0,
) -> TrainVal:
    """Split the official training set into train and validation; the test set is not touched.

    Default (val_fraction None): the original study's rule, the last len(test) training images.
    val_fraction: a stratified, seeded share of train instead. train_fraction: keep a stratified,
    seeded share of what remains for training (quick studies); validation stays whole.
    """
    images, labels = data.train_images, data.train_labels
    if val_fraction is None:
        n_val = len(data.test_labels)
        if n_val >= len(labels):
            raise DataError(f"{data.split.name}: {len(labels)} training images cannot spare {n_val} for validation")
        val_mask = np.zeros(len(labels), bool)
        val_mask[len(labels) - n_val :] = True
    else:
        if not 0.0 < val_fraction < 1.0:
            raise DataError(f"val fraction {val_fraction} must lie strictly between 0 and 1")
        val_mask = np.zeros(len(labels), bool)
        val_mask[stratified_indices(labels, val_fraction, seed)] = True
    if not 0.0 < train_fraction <= 1.0:
        raise DataError(f"train fraction {train_fraction} must lie in (0, 1]; e.g. --train-fraction 0.25")
    train_idx = np.flatnonzero(~val_mask)
    if train_fraction < 1.0:
        train_idx = train_idx[stratified_indices(labels[train_idx], train_fraction, seed + 1)]
    val_idx = np.flatnonzero(val_mask)
    return TrainVal(
        take(images, train_idx), labels[train_idx], take(images, val_idx), labels[val_idx]
    )


def take(images: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """images[indices], but a view (no copy of a memory map) when the indices are one slice."""
    if len(indices) and indices[-1] - indices[0] + 1 == len(indices):
        return images[indices[0] : indices[-1] + 1]
    return images[indices]
