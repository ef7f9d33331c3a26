"""The MLP's search space: hidden layers, their widths, dropout and activation."""

from __future__ import annotations

from models import normalize
from tuning.trial.spaces._sampling import ADAM_START, UNITS, Sampler, training_keys

#: generic starting points: the same for every split and not tuned on the dev data, so a study's
#: best-so-far is a sound model within its first minutes whatever the split
KNOWN_GOOD = (
    # The classic two-hidden-layer MLP (Keras' mnist_mlp example, about 98.4% on MNIST), scheduled.
    {"layers": 2, "layer1_units": 1024, "layer2_units": 512, "dropout": 0.2, "activation": "relu",
     "label_smoothing": 0.0, **ADAM_START, "learning_rate": 1e-3},
)


def space(s: Sampler, num_classes: int, epochs: int) -> dict:
    return normalize(
        {
            "family": "mlp",
            "num_classes": num_classes,
            "units": [s.categorical(f"layer{i}_units", UNITS[2:]) for i in range(1, s.int("layers", 1, 3) + 1)],
            "dropout": s.float("dropout", 0.0, 0.4),
            "activation": s.categorical("activation", ["relu", "gelu", "swish"]),
            "label_smoothing": s.float("label_smoothing", 0.0, 0.1),
            **training_keys(s, epochs),
        }
    )


def baseline_params(config: dict, common: dict) -> dict:
    return {k: v for k, v in common.items() if not k.startswith("dense")} | {
        "layers": len(config["units"]),
        **{f"layer{i}_units": units for i, units in enumerate(config["units"], start=1)},
        "dropout": config["dropout"],
        "activation": config["activation"],
        "label_smoothing": 0.0,
    }
