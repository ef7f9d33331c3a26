"""The configurable CNN: conv blocks, then an optional dense head, then softmax."""

from __future__ import annotations

from dataclasses import dataclass

import keras
from keras import layers

from models._inputs import image_input
from models._config import ConfigError, TrainingConfig, check_size, choice, dense_params, flag, number, numbers
from models._registry import register


@dataclass(frozen=True, kw_only=True)
class CNNConfig(TrainingConfig):
    filters: tuple[int, ...] = numbers((32, 64), 4, 1024, 1, 5)  # one entry per block: depth 1..5
    convs_per_block: tuple[int, ...] = numbers((1,), 1, 4, 1, 5)  # one entry, or one per block
    kernel_size: int = number(3, 1, 7)
    padding: str = choice("same", "same", "valid")
    batch_norm: bool = flag(False)  # after each block's pooling, as in the original big CNN
    # Keras' default 0.99 (the original study's) needs hundreds of steps before the moving
    # statistics fit the data: on small splits (dev mnist: 56 steps an epoch) validation stays at
    # chance for epochs and per-epoch pruning kills the trial; 0.9 settles within one epoch.
    batch_norm_momentum: float = number(0.9, 0.5, 0.999)
    pooling: bool = flag(True)  # 2x2 max pooling at the end of each block
    block_dropout: float = number(0.0, 0.0, 0.8)
    head: str = choice("flatten", "flatten", "gap")
    dense_units: tuple[int, ...] = numbers((128,), 8, 4096, 0, 2)
    dense_dropout: float = number(0.0, 0.0, 0.8)
    augment: bool = flag(False)  # random translation, rotation and zoom, in training only

    def __post_init__(self):
        super().__post_init__()
        if len(self.convs_per_block) == 1:
            object.__setattr__(self, "convs_per_block", self.convs_per_block * len(self.filters))
        if len(self.convs_per_block) != len(self.filters):
            raise ConfigError(
                f"cnn config: convs_per_block has {len(self.convs_per_block)} entries for "
                f"{len(self.filters)} blocks; give one entry, or one per block"
            )
        check_size("cnn", self.estimated_params())

    def estimated_params(self) -> int:
        """How many weights the model has (Keras' count_params), without building it."""
        size, channels, conv_params = 28, 1, 0
        for filters, convs in zip(self.filters, self.convs_per_block):
            for _ in range(convs):  # kernels and biases, then a block's batch norm: four vectors
                conv_params += (self.kernel_size**2 * channels + 1) * filters
                channels = filters
            conv_params += 4 * filters * self.batch_norm
            if self.padding == "valid":
                size -= convs * (self.kernel_size - 1)
            if self.pooling:
                size = (size + 1) // 2 if self.padding == "same" else size // 2
            if size < 1:
                raise ConfigError(
                    f"cnn config: {len(self.filters)} blocks of {self.kernel_size}x{self.kernel_size} "
                    f"'{self.padding}' convolutions shrink 28x28 to nothing; use padding 'same' or fewer blocks"
                )
        features = size * size * channels if self.head == "flatten" else channels
        return conv_params + dense_params(features, self.dense_units, self.num_classes)


def augmentation() -> keras.Sequential:
    return keras.Sequential(
        [
            layers.RandomTranslation(0.1, 0.1, fill_mode="constant"),
            layers.RandomRotation(0.04, fill_mode="constant"),  # about +-15 degrees
            layers.RandomZoom(0.1, fill_mode="constant"),
        ],
        name="augment",
    )


#: The original study's CNNs (shared/BASELINES.md): the small one on digits and byclass (byclass had 100
#: units in its second dense layer), the big one everywhere else.
SMALL_CNN = {
    "family": "cnn",
    "filters": [32, 64],
    "convs_per_block": [1, 1],
    "kernel_size": 3,
    "padding": "valid",
    "pooling": True,
    "batch_norm": False,
    "head": "flatten",
    "dense_units": [128, 64],
    "dense_dropout": 0.2,
}
BIG_CNN = {
    "family": "cnn",
    "filters": [64, 128, 256],
    "convs_per_block": [2, 2, 1],
    "kernel_size": 3,
    "padding": "valid",
    "pooling": True,
    "batch_norm": True,
    "batch_norm_momentum": 0.99,  # Keras' default, which the original study used
    "head": "flatten",
    "dense_units": [512],
    "dense_dropout": 0.0,
}
CNN_BY_SPLIT = {"digits": SMALL_CNN, "byclass": {**SMALL_CNN, "dense_units": [128, 100]}}


@register("cnn", CNNConfig, baseline=lambda split: CNN_BY_SPLIT.get(split, BIG_CNN))
def build_cnn(config: CNNConfig) -> keras.Model:
    images, x = image_input()
    x = layers.Reshape((28, 28, 1))(x)
    if config.augment:
        x = augmentation()(x)
    for block, (filters, convs) in enumerate(zip(config.filters, config.convs_per_block), start=1):
        for conv in range(1, convs + 1):
            x = layers.Conv2D(filters, config.kernel_size, padding=config.padding, activation="relu", name=f"block{block}_conv{conv}")(x)
        if config.pooling:
            x = layers.MaxPooling2D(2, padding=config.padding, name=f"block{block}_pool")(x)
        if config.batch_norm:
            x = layers.BatchNormalization(momentum=config.batch_norm_momentum, name=f"block{block}_bn")(x)
        if config.block_dropout:
            x = layers.Dropout(config.block_dropout)(x)
    x = layers.Flatten()(x) if config.head == "flatten" else layers.GlobalAveragePooling2D()(x)
    for units in config.dense_units:
        x = layers.Dense(units, activation="relu")(x)
        if config.dense_dropout:
            x = layers.Dropout(config.dense_dropout)(x)
    outputs = layers.Dense(config.num_classes, activation="softmax", name="classes", dtype="float32")(x)  # float32 outputs under mixed precision
    return keras.Model(images, outputs, name="cnn")
