"""Fit and evaluate a config on uint8 arrays: what trials, the benchmark and scripts share."""

from __future__ import annotations

import time

import numpy as np


def set_seed(seed: int) -> None:
    import keras

    keras.utils.set_random_seed(seed)


def fit(model, config: dict, train, callbacks=(), epochs: int | None = None, verbose: int = 0):
    """model.fit on the uint8 arrays of a TrainVal, validating every epoch, with the config's
    learning-rate schedule over those epochs; returns the History."""
    import models

    epochs = epochs or config["epochs"]
    models.schedule(model, config, len(train.train_labels), epochs)
    return model.fit(
        train.train_images,
        train.train_labels,
        batch_size=config["batch_size"],
        epochs=epochs,
        validation_data=(train.val_images, train.val_labels),
        callbacks=list(callbacks),
        shuffle=True,
        verbose=verbose,
    )


def predict_classes(model, images: np.ndarray, batch_size: int = 512) -> np.ndarray:
    """Class ids from eager calls: a one-off pass costs less than tracing `model.predict`'s function."""
    return np.concatenate([np.argmax(np.asarray(model(images[i : i + batch_size], training=False)), axis=1)
                           for i in range(0, len(images), batch_size)])


def timed_evaluate(model, images: np.ndarray, labels: np.ndarray, batch_size: int = 512) -> tuple[float, float]:
    """(seconds, accuracy) of model.evaluate on one set: the original study's timing."""
    start = time.perf_counter()
    _, accuracy = model.evaluate(images, labels, batch_size=batch_size, verbose=0)
    return time.perf_counter() - start, float(accuracy)


def release_memory() -> None:
    """Between trials: drop Keras' global graph state and collect, so memory stays flat; the
    precision asked for (Keras' global dtype policy) holds for the next trial too."""
    import models

    models.clear_session(free_memory=True)  # runs gc.collect(): a second one costs 0.2 s a trial
