"""uint8 arrays -> a batched, shuffled, prefetched tf.data pipeline; and image orientation."""

from __future__ import annotations

import numpy as np


def upright(images: np.ndarray) -> np.ndarray:
    """EMNIST stores images transposed; this view shows them the way they were written."""
    return np.swapaxes(images, -1, -2)


def make_dataset(
    images: np.ndarray,
    labels: np.ndarray,
    batch_size: int,
    shuffle_seed: int | None = None,
    scale: bool = False,
):
    """A tf.data.Dataset of (images[..., None], labels) batches.

    Images stay uint8 unless `scale` is set, in which case the map turns each batch to float32 in
    [0, 1] (our models scale in-graph, so they take uint8). Shuffling reshuffles every epoch.
    """
    import tensorflow as tf  # deferred: importing TF costs seconds and most callers never need it

    dataset = tf.data.Dataset.from_tensor_slices((images, labels))
    if shuffle_seed is not None:
        dataset = dataset.shuffle(len(labels), seed=shuffle_seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size)

    def add_channel(batch_images, batch_labels):
        batch_images = batch_images[..., None]
        if scale:
            batch_images = tf.cast(batch_images, tf.float32) / 255.0
        return batch_images, batch_labels

    return dataset.map(add_channel, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
