"""The VGG16 transfer head's search space: the head on the frozen base, and optionally its last blocks."""

from __future__ import annotations

from models import normalize
from tuning.trial.spaces._sampling import ADAM_START, Sampler, dense_head, training_keys

#: generic starting points: the same for every split and not tuned on the dev data, so a study's
#: best-so-far is a sound model within its first minutes whatever the split
KNOWN_GOOD = (
    # A pooled head on the frozen base: global average pooling and one hidden layer is the standard
    # transfer-learning head (Keras' transfer-learning guide); small l2, scheduled Adam.
    {"trainable_blocks": 0, "head": "gap", "dense_layers": 1, "dense1_units": 256, "dropout": 0.3,
     "l2": 1e-4, **ADAM_START, "learning_rate": 1e-3},
)


def space(s: Sampler, num_classes: int, epochs: int, weights: str | None = "imagenet",
          weights_path: str | None = None, fine_tune_blocks: int = 0) -> dict:
    """The head on a frozen base; with `fine_tune_blocks` K > 0 the last 0..K conv blocks may train too
    (each trainable block costs its forward and backward pass every epoch, which no cache saves)."""
    return normalize(
        {
            "family": "vgg16",
            "num_classes": num_classes,
            "weights": weights,
            "weights_path": weights_path,
            "trainable_blocks": s.int("trainable_blocks", 0, fine_tune_blocks) if fine_tune_blocks else 0,
            "head": s.categorical("head", ["flatten", "gap", "gmp"]),
            "dense_units": dense_head(s),
            "dropout": s.float("dropout", 0.0, 0.4),
            "l2": s.float("l2", 1e-6, 1e-2, log=True),
            **training_keys(s, epochs),
        }
    )


def baseline_params(config: dict, common: dict) -> dict:
    return common | {"trainable_blocks": config["trainable_blocks"], "head": config["head"], "dropout": 0.0,
                     "l2": config["l2"]}
