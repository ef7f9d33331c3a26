"""The original study's architectures (shared/BASELINES.md) as configs, without its faults:
softmax cross-entropy everywhere, letters with 26 outputs, VGG16 for real, 10 epochs for all."""

from __future__ import annotations

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
#: The study's report does not show its MLP; a plain 512-512 MLP stands in for it.
MLP = {"family": "mlp", "units": [512, 512], "dropout": 0.2, "activation": "relu"}
VGG16_HEAD = {"family": "vgg16", "input_size": 32, "weights": "imagenet", "trainable_blocks": 0, "head": "flatten", "dense_units": [], "l2": 1e-3}

#: Which CNN the study trained on which split; byclass had 100 units in its second dense layer.
CNN_BY_SPLIT = {
    "digits": SMALL_CNN,
    "byclass": {**SMALL_CNN, "dense_units": [128, 100]},
}
BASELINE_EPOCHS = 10
COMMON = {"optimizer": "adam", "learning_rate": 1e-3, "batch_size": 128, "epochs": BASELINE_EPOCHS}


def baseline_config(family: str, split: str, num_classes: int, **overrides) -> dict:
    """The original study's model of `family` (cnn, mlp, vgg16) for `split`, as a build() config."""
    by_family = {"cnn": CNN_BY_SPLIT.get(split, BIG_CNN), "mlp": MLP, "vgg16": VGG16_HEAD}
    if family not in by_family:
        raise ValueError(f"no baseline for family {family!r}; choose one of {', '.join(by_family)}")
    return {**by_family[family], **COMMON, "num_classes": num_classes, **overrides}
