"""The original study's models (shared/BASELINES.md) as configs, without its faults: softmax
cross-entropy everywhere, letters with 26 outputs, VGG16 for real, 10 epochs for all. Each family's
architecture is registered with its builder (models.cnn, models.mlp, models.vgg16); the training keys
they all share are here."""

from __future__ import annotations

from models._registry import BASELINES

BASELINE_EPOCHS = 10
COMMON = {"optimizer": "adam", "learning_rate": 1e-3, "batch_size": 128, "epochs": BASELINE_EPOCHS}


def baseline_config(family: str, split: str, num_classes: int, **overrides) -> dict:
    """The original study's model of `family` (cnn, mlp, vgg16) for `split`, as a build() config."""
    if family not in BASELINES:
        raise ValueError(f"no baseline for family {family!r}; choose one of {', '.join(BASELINES)}")
    return {**BASELINES[family](split), **COMMON, "num_classes": num_classes, **overrides}
