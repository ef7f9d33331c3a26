"""Search spaces as define-by-run functions over a three-method sampler interface.

A space function asks its sampler for values and returns the `models.build` config they make.
The same function therefore drives an Optuna trial (`OptunaSampler`), KerasTuner hyperparameters,
and, replayed over a trial's stored params (`FixedSampler`), turns params back into the config:
`config_from_params` is that replay. Each family names its space (tuning.families); `space_of` finds it.
"""

from __future__ import annotations

from typing import Any, Callable, Protocol, Sequence

from models import baseline_config, normalize
from tuning.families import registered

#: Adam and AdamW only: SGD needs its own learning-rate range and momentum, and in a short trial
#: with few steps per epoch it barely moves (its draws end near chance).
OPTIMIZERS = ["adam", "adamw"]
#: Peak learning rates where Adam and AdamW train these models, warmed up then decayed
#: (`models` lr_schedule); the original study's 1e-3 lies inside.
LEARNING_RATES = (3e-4, 4e-3)
SCHEDULES = ["warmup_cosine", "constant"]  # constant: the original study's, kept for its trial
BATCH_SIZES = [64, 128, 256]  # 32 halves CPU throughput; 512 leaves the dev splits too few steps
UNITS = [64, 100, 128, 256, 512, 1024]  # 100: the original byclass CNN's second dense layer
#: The costliest CNN the search draws: 1.25x the multiply-adds of the original study's big CNN
#: (a third of the old space cost more than it, up to 9.5x, which one trial could spend a budget on).
#: A study on a large split bounds it lower (tuning.settings.max_macs).
CNN_MAX_MACS = 50_000_000


class Sampler(Protocol):
    def int(self, name: str, low: int, high: int, log: bool = False, step: int = 1) -> int: ...
    def float(self, name: str, low: float, high: float, log: bool = False) -> float: ...
    def categorical(self, name: str, choices: Sequence[Any]) -> Any: ...


class OptunaSampler:
    def __init__(self, trial):
        self.trial = trial

    def int(self, name, low, high, log=False, step=1):
        return self.trial.suggest_int(name, low, high, log=log, step=step)

    def float(self, name, low, high, log=False):
        return self.trial.suggest_float(name, low, high, log=log)

    def categorical(self, name, choices):
        return self.trial.suggest_categorical(name, list(choices))


class FixedSampler:
    """Answers every question from stored params: replays a trial's choices."""

    def __init__(self, params: dict):
        self.params = params

    def _get(self, name):
        if name not in self.params:
            raise KeyError(f"params lack {name!r}, which this search space asks for")
        return self.params[name]

    int = float = lambda self, name, *args, **kwargs: self._get(name)  # noqa: E731
    categorical = lambda self, name, choices: self._get(name)  # noqa: E731


def training_keys(s: Sampler, epochs: int) -> dict:
    """Optimizer, learning rate and its schedule, and fit keys: every family samples these. The
    epochs are not drawn: they are the fidelity a trial runs at (its rung, tuning.study.rungs), so
    every trial of a rung is at the same point of the same schedule when the pruner compares them."""
    optimizer = s.categorical("optimizer", OPTIMIZERS)
    keys = {
        "optimizer": optimizer,
        "learning_rate": s.float("learning_rate", *LEARNING_RATES, log=True),
        "lr_schedule": s.categorical("lr_schedule", SCHEDULES),
        "batch_size": s.categorical("batch_size", BATCH_SIZES),
        "epochs": epochs,
    }
    if optimizer == "adamw":
        keys["weight_decay"] = s.float("weight_decay", 1e-5, 5e-2, log=True)
    return keys


def dense_head(s: Sampler, max_layers: int = 2) -> list[int]:
    return [s.categorical(f"dense{i}_units", UNITS) for i in range(1, s.int("dense_layers", 0, max_layers) + 1)]


def cnn_macs(filters: Sequence[int], convs: Sequence[int], kernel: int, padding: str) -> int:
    """Multiply-adds of one forward pass through the conv blocks (2x2 pooling after each)."""
    size, channels, total = 28, 1, 0
    for width, count in zip(filters, convs):
        for _ in range(count):
            size -= kernel - 1 if padding == "valid" else 0
            total += size * size * kernel * kernel * channels * width
            channels = width
        size = (size + 1) // 2 if padding == "same" else size // 2
    return total


def conv_macs(config: dict) -> int:
    """Multiply-adds of a CNN config's conv stack (0 for another family): what the cost bound bounds."""
    if config["family"] != "cnn":
        return 0
    return cnn_macs(config["filters"], config["convs_per_block"], config["kernel_size"], config["padding"])


def widest_base(growth: float, blocks: int, convs: Sequence[int], kernel: int, padding: str,
                max_macs: int = CNN_MAX_MACS) -> int:
    """The most filters (a multiple of 8, 16..96) the first block may have within `max_macs`
    (16 where even that is over: the structure is drawn first, and stays)."""
    fits = [base for base in range(16, 97, 8)
            if cnn_macs(block_filters(base, growth, blocks), convs, kernel, padding) <= max_macs]
    return max(fits, default=16)


def block_filters(base: int, growth: float, blocks: int) -> list[int]:
    return [min(256, int(round(base * growth**b))) for b in range(blocks)]


def cnn_space(s: Sampler, num_classes: int, epochs: int, max_macs: int = CNN_MAX_MACS) -> dict:
    # 'valid' padding is the seed study's; it shrinks the map, so it gets fewer, smaller blocks.
    padding = s.categorical("padding", ["same", "valid"])
    valid = padding == "valid"
    kernel = 3 if valid else s.categorical("kernel_size", [3, 5])
    blocks = s.int("conv_blocks", 2, 3 if valid else 4)
    growth = s.categorical("filters_growth", [1.0, 1.5, 2.0])
    convs = [s.int(f"block{b}_convs", 1, 1 if valid and b == 3 else 2) for b in range(1, blocks + 1)]
    # the width comes last, bounded by what the drawn structure costs: no trial is a budget's worth
    base = s.int("filters_base", 16, widest_base(growth, blocks, convs, kernel, padding, min(max_macs, CNN_MAX_MACS)), step=8)
    batch_norm = s.categorical("batch_norm", [False, True])
    return normalize(
        {
            "family": "cnn",
            "num_classes": num_classes,
            "padding": padding,
            "kernel_size": kernel,
            "filters": block_filters(base, growth, blocks),
            "convs_per_block": convs,
            # momentum 0.9 settles within an epoch; the original's 0.99 lags for hundreds of steps
            # (models/cnn.py), so the search never draws it: only the original's own trial has it
            "batch_norm": batch_norm,
            "block_dropout": s.float("block_dropout", 0.0, 0.3),
            # global pooling only on a map already pooled to 4x4 or less: on 7x7 or 14x14 it throws
            # away where the strokes are
            "head": s.categorical("head", ["flatten", "gap"]) if blocks >= 3 else "flatten",
            "dense_units": dense_head(s),
            "dense_dropout": s.float("dense_dropout", 0.0, 0.5),
            "label_smoothing": s.float("label_smoothing", 0.0, 0.1),
            "augment": s.categorical("augment", [False, True]),
            **training_keys(s, epochs),
        }
    )


def mlp_space(s: Sampler, num_classes: int, epochs: int) -> dict:
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


def vgg16_space(s: Sampler, num_classes: int, epochs: int, weights: str | None = "imagenet",
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


def space_of(family: str) -> Callable[..., dict]:
    """The define-by-run space the registered `family` names: fn(sampler, num_classes, epochs,
    **space_kwargs) -> models.build config."""
    return globals()[registered(family).space_name]


def config_from_params(family: str, params: dict, num_classes: int, epochs: int, **space_kwargs) -> dict:
    """The `models.build` config a trial's params stand for, trained `epochs` epochs: the family's
    space replayed over them (an `epochs` among older params is not asked, so it is left out)."""
    return space_of(family)(FixedSampler(params), num_classes, epochs, **space_kwargs)


def baseline_params(family: str, split: str, num_classes: int) -> dict:
    """The original study's model for `split` as a point of the space. The space never draws its
    batch-norm momentum (0.99), so its trial trains `baseline_config` itself (engine.initialize)."""
    config = baseline_config(family, split, num_classes)
    dense = config.get("dense_units", [])
    common = {
        "optimizer": config["optimizer"],
        "learning_rate": config["learning_rate"],
        "lr_schedule": config.get("lr_schedule", "constant"),
        "batch_size": config["batch_size"],
        "dense_layers": len(dense),
        **{f"dense{i}_units": units for i, units in enumerate(dense, start=1)},
    }
    return globals()[registered(family).baseline_params_name](config, common)


def cnn_baseline_params(config: dict, common: dict) -> dict:
    filters = config["filters"]
    return common | {
        "padding": config["padding"],
        "conv_blocks": len(filters),
        "filters_base": filters[0],
        "filters_growth": filters[1] / filters[0] if len(filters) > 1 else 1.0,
        **{f"block{b}_convs": convs for b, convs in enumerate(config["convs_per_block"], start=1)},
        "batch_norm": config["batch_norm"],  # its momentum (0.99) is the original trial's own
        "block_dropout": 0.0,
        **({"head": config["head"]} if len(filters) >= 3 else {}),
        "dense_dropout": config["dense_dropout"],
        "label_smoothing": 0.0,
        "augment": False,
    }


def mlp_baseline_params(config: dict, common: dict) -> dict:
    return {k: v for k, v in common.items() if not k.startswith("dense")} | {
        "layers": len(config["units"]),
        **{f"layer{i}_units": units for i, units in enumerate(config["units"], start=1)},
        "dropout": config["dropout"],
        "activation": config["activation"],
        "label_smoothing": 0.0,
    }


def vgg16_baseline_params(config: dict, common: dict) -> dict:
    return common | {"trainable_blocks": config["trainable_blocks"], "head": config["head"], "dropout": 0.0,
                     "l2": config["l2"]}
