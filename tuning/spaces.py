"""Search spaces as define-by-run functions over a three-method sampler interface.

A space function asks its sampler for values and returns the `models.build` config they make.
The same function therefore drives an Optuna trial (`OptunaSampler`), KerasTuner hyperparameters,
and, replayed over a trial's stored params (`FixedSampler`), turns params back into the config:
`config_from_params` is that one function.
"""

from __future__ import annotations

from typing import Any, Callable, Protocol, Sequence

from models import baseline_config, normalize
from models.baselines import COMMON

OPTIMIZERS = ["adam", "adamw", "sgd"]
BATCH_SIZES = [32, 64, 128, 256]
UNITS = [32, 64, 100, 128, 256, 512, 1024]
BASELINE_EPOCHS = COMMON["epochs"]  # the original study trained every model 10 epochs


class Sampler(Protocol):
    def int(self, name: str, low: int, high: int, log: bool = False) -> int: ...
    def float(self, name: str, low: float, high: float, log: bool = False) -> float: ...
    def categorical(self, name: str, choices: Sequence[Any]) -> Any: ...


class OptunaSampler:
    def __init__(self, trial):
        self.trial = trial

    def int(self, name, low, high, log=False):
        return self.trial.suggest_int(name, low, high, log=log)

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


def training_keys(s: Sampler, max_epochs: int) -> dict:
    """Optimizer, learning rate, regularisation and fit keys: every family samples these."""
    optimizer = s.categorical("optimizer", OPTIMIZERS)
    keys = {
        "optimizer": optimizer,
        "learning_rate": s.float("learning_rate", 1e-4, 3e-2, log=True),
        "batch_size": s.categorical("batch_size", BATCH_SIZES),
        # from half the budget, but never above the original study's 10, so its model stays in the space
        "epochs": s.int("epochs", max(1, min(max_epochs // 2, BASELINE_EPOCHS)), max_epochs),
    }
    if optimizer == "adamw":
        keys["weight_decay"] = s.float("weight_decay", 1e-6, 1e-2, log=True)
    return keys


def dense_head(s: Sampler, max_layers: int = 2) -> list[int]:
    return [s.categorical(f"dense{i}_units", UNITS) for i in range(1, s.int("dense_layers", 0, max_layers) + 1)]


def batch_norm(s: Sampler) -> dict:
    """Batch norm on/off and, when on, the momentum of its moving statistics (the original
    study's 0.99 lags for epochs on small splits; see models/cnn.py)."""
    if not s.categorical("batch_norm", [False, True]):
        return {"batch_norm": False}
    return {"batch_norm": True, "batch_norm_momentum": s.categorical("batch_norm_momentum", [0.9, 0.99])}


def cnn_space(s: Sampler, num_classes: int, max_epochs: int) -> dict:
    # 'valid' padding is the seed study's; it shrinks the map, so it gets fewer, smaller blocks.
    # Bounds (4 blocks, 2 convs, 256 filters) keep the slowest trial within ~4x the big baseline.
    padding = s.categorical("padding", ["same", "valid"])
    valid = padding == "valid"
    kernel = 3 if valid else s.categorical("kernel_size", [3, 5])
    blocks = s.int("conv_blocks", 1, 3 if valid else 4)
    base = s.categorical("filters_base", [16, 32, 48, 64])
    growth = s.categorical("filters_growth", [1.0, 1.5, 2.0])
    convs = [s.int(f"block{b}_convs", 1, 1 if valid and b == 3 else 2) for b in range(1, blocks + 1)]
    return normalize(
        {
            "family": "cnn",
            "num_classes": num_classes,
            "padding": padding,
            "kernel_size": kernel,
            "filters": [min(256, int(round(base * growth**b))) for b in range(blocks)],
            "convs_per_block": convs,
            **batch_norm(s),
            "block_dropout": s.float("block_dropout", 0.0, 0.5),
            "head": s.categorical("head", ["flatten", "gap"]),
            "dense_units": dense_head(s),
            "dense_dropout": s.float("dense_dropout", 0.0, 0.5),
            "label_smoothing": s.float("label_smoothing", 0.0, 0.2),
            "augment": s.categorical("augment", [False, True]),
            **training_keys(s, max_epochs),
        }
    )


def mlp_space(s: Sampler, num_classes: int, max_epochs: int) -> dict:
    return normalize(
        {
            "family": "mlp",
            "num_classes": num_classes,
            "units": [s.categorical(f"layer{i}_units", UNITS[1:]) for i in range(1, s.int("layers", 1, 4) + 1)],
            "dropout": s.float("dropout", 0.0, 0.5),
            "activation": s.categorical("activation", ["relu", "gelu", "elu", "swish"]),
            "label_smoothing": s.float("label_smoothing", 0.0, 0.2),
            **training_keys(s, max_epochs),
        }
    )


def vgg16_space(s: Sampler, num_classes: int, max_epochs: int, weights: str | None = "imagenet",
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
            "dropout": s.float("dropout", 0.0, 0.5),
            "l2": s.float("l2", 1e-6, 1e-2, log=True),
            **training_keys(s, max_epochs),
        }
    )


SPACES: dict[str, Callable[..., dict]] = {"cnn": cnn_space, "mlp": mlp_space, "vgg16": vgg16_space}


def config_from_params(family: str, params: dict, num_classes: int, max_epochs: int, **space_kwargs) -> dict:
    """The `models.build` config a trial's params stand for."""
    return SPACES[family](FixedSampler(params), num_classes, max_epochs, **space_kwargs)


def baseline_params(family: str, split: str, num_classes: int, max_epochs: int) -> dict:
    """The params under which the space yields the original study's model for `split`."""
    config = baseline_config(family, split, num_classes)
    dense = config.get("dense_units", [])
    params = {
        "optimizer": config["optimizer"],
        "learning_rate": config["learning_rate"],
        "batch_size": config["batch_size"],
        "epochs": min(config["epochs"], max_epochs),
        "dense_layers": len(dense),
        **{f"dense{i}_units": units for i, units in enumerate(dense, start=1)},
    }
    if family == "cnn":
        filters = config["filters"]
        params |= {
            "padding": config["padding"],
            "conv_blocks": len(filters),
            "filters_base": filters[0],
            "filters_growth": filters[1] / filters[0] if len(filters) > 1 else 1.0,
            **{f"block{b}_convs": convs for b, convs in enumerate(config["convs_per_block"], start=1)},
            "batch_norm": config["batch_norm"],
            **({"batch_norm_momentum": config["batch_norm_momentum"]} if config["batch_norm"] else {}),
            "block_dropout": 0.0,
            "head": config["head"],
            "dense_dropout": config["dense_dropout"],
            "label_smoothing": 0.0,
            "augment": False,
        }
    elif family == "mlp":
        params = {k: v for k, v in params.items() if not k.startswith("dense")}
        params |= {
            "layers": len(config["units"]),
            **{f"layer{i}_units": units for i, units in enumerate(config["units"], start=1)},
            "dropout": config["dropout"],
            "activation": config["activation"],
            "label_smoothing": 0.0,
        }
    else:
        params |= {"trainable_blocks": config["trainable_blocks"], "head": config["head"], "dropout": 0.0, "l2": config["l2"]}
    return params
