"""Import TensorFlow without its C++ start-up lines (printed before absl logging exists, so
TF_CPP_MIN_LOG_LEVEL cannot stop them); anything printed after the import reaches stderr."""

from __future__ import annotations

import contextlib
import os
import sys


@contextlib.contextmanager
def stderr_fd_silenced():
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def import_backend_quietly() -> None:
    """Import Keras and its backend ($KERAS_BACKEND, TensorFlow by default) with their start-up
    chatter silenced; TensorFlow is imported only when it is the backend."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with stderr_fd_silenced():
        import keras

        if keras.config.backend() != "tensorflow":
            return
        import tensorflow

        tensorflow.config.list_physical_devices()  # device probing prints its CUDA errors now, silenced
    tensorflow.get_logger().setLevel("ERROR")  # retracing notes: the benchmark probes two batch shapes on purpose
