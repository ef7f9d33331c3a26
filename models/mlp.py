"""The MLP: the 784 pixels through dense layers."""

from __future__ import annotations

from dataclasses import dataclass

import keras
from keras import layers

from models._inputs import image_input
from models._config import TrainingConfig, check_size, choice, dense_params, number, numbers
from models._registry import register


@dataclass(frozen=True, kw_only=True)
class MLPConfig(TrainingConfig):
    units: tuple[int, ...] = numbers((512, 512), 8, 8192, 1, 6)  # depth = len(units)
    dropout: float = number(0.2, 0.0, 0.8)
    activation: str = choice("relu", "relu", "gelu", "elu", "swish", "tanh")

    def __post_init__(self):
        super().__post_init__()
        check_size("mlp", self.estimated_params())

    def estimated_params(self) -> int:
        """How many weights the model has, without building it."""
        return dense_params(28 * 28, self.units, self.num_classes)


#: The original study's report does not show its MLP; a plain 512-512 MLP stands in for it.
ORIGINAL_MLP = {"family": "mlp", "units": [512, 512], "dropout": 0.2, "activation": "relu"}


@register("mlp", MLPConfig, baseline=lambda split: ORIGINAL_MLP)
def build_mlp(config: MLPConfig) -> keras.Model:
    images, x = image_input()
    x = layers.Flatten()(x)
    for units in config.units:
        x = layers.Dense(units, activation=config.activation)(x)
        if config.dropout:
            x = layers.Dropout(config.dropout)(x)
    outputs = layers.Dense(config.num_classes, activation="softmax", name="classes", dtype="float32")(x)  # float32 outputs under mixed precision
    return keras.Model(images, outputs, name="mlp")
