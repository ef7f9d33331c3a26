"""The model families a study tunes, each registered once with what a study needs of it, the way
timm's registry carries a model's pretrained configs: its search space, its baseline (the original
study's model, the reference trial and the benchmark's baseline row) and the known-good configs a
study starts from.

Free of heavy imports, so the CLI reads the names at once: a family names its space, which
tuning.trial.spaces defines and looks up (`space_of`); its baseline (models.baselines) loads Keras
when a study or a benchmark asks.
"""

from __future__ import annotations

from dataclasses import dataclass

_ADAM = {"optimizer": "adam", "learning_rate": 2e-3, "lr_schedule": "warmup_cosine", "batch_size": 128}


@dataclass(frozen=True)
class Family:
    name: str
    space_name: str  # its define-by-run space, a function of tuning.trial.spaces
    baseline_params_name: str  # tuning.trial.spaces' function: its baseline's config as a point of its space
    #: generic starting points: the same for every split and not tuned on the dev data, so a study's
    #: best-so-far is a sound model within its first minutes whatever the split
    known_good: tuple[dict, ...]

    def baseline(self, split: str, num_classes: int, **overrides) -> dict:
        """The original study's model of this family for `split` (models.baselines)."""
        from models import baseline_config

        return baseline_config(self.name, split, num_classes, **overrides)


FAMILIES: dict[str, Family] = {family.name: family for family in (
    Family("cnn", "cnn_space", "cnn_baseline_params", (
        # Keras' "Simple MNIST convnet" example (conv 32, pool, conv 64, pool, dense: about 99% on
        # MNIST in a dozen epochs) with a third block, batch norm that settles within an epoch and a
        # warm-up-cosine schedule, which is what lets it converge in a 2-4 epoch trial.
        {"padding": "same", "kernel_size": 3, "conv_blocks": 3, "filters_growth": 2.0, "filters_base": 32,
         "block1_convs": 1, "block2_convs": 1, "block3_convs": 1, "batch_norm": True, "block_dropout": 0.1,
         "head": "flatten", "dense_layers": 1, "dense1_units": 128, "dense_dropout": 0.3,
         "label_smoothing": 0.0, "augment": False, **_ADAM},
        # The double-conv VGG pattern of the strongest simple MNIST CNNs (32C3-32C3-P-64C3-64C3-P-dense,
        # e.g. Deotte's Kaggle study "How to choose CNN architecture MNIST", 99.75%), with AdamW.
        {"padding": "same", "kernel_size": 3, "conv_blocks": 2, "filters_growth": 2.0, "filters_base": 32,
         "block1_convs": 2, "block2_convs": 2, "batch_norm": True, "block_dropout": 0.2,
         "dense_layers": 1, "dense1_units": 256, "dense_dropout": 0.4, "label_smoothing": 0.0, "augment": False,
         **_ADAM, "optimizer": "adamw", "learning_rate": 1e-3, "weight_decay": 4e-3},
    )),
    # The classic two-hidden-layer MLP (Keras' mnist_mlp example, about 98.4% on MNIST), scheduled.
    Family("mlp", "mlp_space", "mlp_baseline_params", (
        {"layers": 2, "layer1_units": 1024, "layer2_units": 512, "dropout": 0.2, "activation": "relu",
         "label_smoothing": 0.0, **_ADAM, "learning_rate": 1e-3},
    )),
    # A pooled head on the frozen base: global average pooling and one hidden layer is the standard
    # transfer-learning head (Keras' transfer-learning guide); small l2, scheduled Adam.
    Family("vgg16", "vgg16_space", "vgg16_baseline_params", (
        {"trainable_blocks": 0, "head": "gap", "dense_layers": 1, "dense1_units": 256, "dropout": 0.3,
         "l2": 1e-4, **_ADAM, "learning_rate": 1e-3},
    )),
)}

MODELS = tuple(FAMILIES)  # the names `--model` / `--models` offer


def registered(name: str) -> Family:
    """The family registered as `name`; an unknown one is a UserError naming those there are."""
    from tuning.errors import UserError

    if name not in FAMILIES:
        raise UserError(f"unknown model family {name!r}; choose one of {', '.join(FAMILIES)}")
    return FAMILIES[name]
