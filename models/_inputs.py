"""What every model family takes in: uint8 EMNIST images, scaled inside the model (so `fit`
reads uint8 arrays: a quarter of float32's memory at byclass size)."""

from __future__ import annotations

import keras


def image_input() -> tuple:
    """The input every family takes: uint8 (28, 28) EMNIST images; returns (input, float tensor in [0, 1])."""
    images = keras.Input(shape=(28, 28), dtype="uint8", name="images")
    scaled = keras.layers.Rescaling(1.0 / 255, name="scale")(images)
    return images, scaled
