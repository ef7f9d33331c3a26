"""Optimizer, loss and metric: the compile step all families share; and clearing Keras' session between models."""

from __future__ import annotations

import keras
from keras import ops

from models._config import TrainingConfig


@keras.saving.register_keras_serializable(package="emnist_tune")
class SparseSmoothedCrossentropy(keras.losses.Loss):
    """Sparse categorical cross-entropy with label smoothing (Keras' sparse loss has none)."""

    def __init__(self, num_classes: int, label_smoothing: float = 0.0, name="sparse_smoothed_crossentropy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.num_classes, self.label_smoothing = num_classes, label_smoothing

    def call(self, y_true, y_pred):
        one_hot = ops.one_hot(ops.cast(ops.reshape(y_true, (-1,)), "int32"), self.num_classes)
        return keras.losses.categorical_crossentropy(one_hot, y_pred, label_smoothing=self.label_smoothing)

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes, "label_smoothing": self.label_smoothing}


def make_optimizer(config: TrainingConfig) -> keras.optimizers.Optimizer:
    decay = config.weight_decay or None
    if config.optimizer == "sgd":
        return keras.optimizers.SGD(config.learning_rate, momentum=config.momentum, weight_decay=decay)
    if config.optimizer == "adamw":
        return keras.optimizers.AdamW(config.learning_rate, weight_decay=config.weight_decay)
    return keras.optimizers.Adam(config.learning_rate, weight_decay=decay)


def warmup_cosine(config: TrainingConfig, total_steps: int, steps_per_epoch: int):
    """The schedule of a fit of `total_steps`: warm-up to the config's rate, then cosine to zero."""
    warmup = max(1, min(steps_per_epoch, total_steps // 10))
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=0.0, warmup_target=config.learning_rate, warmup_steps=warmup,
        decay_steps=max(1, total_steps - warmup), alpha=0.0,
    )


def schedule_learning_rate(model: keras.Model, config: TrainingConfig, train_size: int, epochs: int) -> None:
    """Give a compiled, not yet trained model the config's schedule over `epochs` of `train_size` images."""
    if config.lr_schedule == "warmup_cosine":
        steps_per_epoch = -(-train_size // config.batch_size)
        model.optimizer.learning_rate = warmup_cosine(config, steps_per_epoch * epochs, steps_per_epoch)


def compile_model(model: keras.Model, config: TrainingConfig) -> keras.Model:
    loss = (
        SparseSmoothedCrossentropy(config.num_classes, config.label_smoothing)
        if config.label_smoothing
        else keras.losses.SparseCategoricalCrossentropy()
    )
    model.compile(
        optimizer=make_optimizer(config),
        loss=loss,
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
    )
    return model


def clear_session(free_memory: bool = True) -> None:
    """keras.backend.clear_session, keeping the global dtype policy: Keras resets it to float32,
    and a run asked for mixed precision must train every model in it, not only the first."""
    policy = keras.mixed_precision.global_policy().name
    keras.backend.clear_session(free_memory=free_memory)
    keras.mixed_precision.set_global_policy(policy)
