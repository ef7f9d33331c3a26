"""Search spaces as define-by-run functions over a three-method sampler interface.

A space function asks its sampler for values and returns the `models.build` config they make.
The same function therefore drives an Optuna trial (`OptunaSampler`), KerasTuner hyperparameters,
and, replayed over a trial's stored params (`FixedSampler`), turns params back into the config:
`config_from_params` is that replay. Each family's space lives in a module of its own here (its
`space`, its `baseline_params` and its `KNOWN_GOOD` starting points), named by its registration
(tuning.families); `space_of` finds it.
"""

from __future__ import annotations

from typing import Callable

from models import baseline_config
from tuning.families import registered
from tuning.trial.spaces._sampling import FixedSampler, OptunaSampler, Sampler, dense_head, training_keys
from tuning.trial.spaces.cnn import CNN_MAX_MACS, cnn_macs, conv_macs


def space_of(family: str) -> Callable[..., dict]:
    """The define-by-run space of the registered `family`: fn(sampler, num_classes, epochs,
    **space_kwargs) -> models.build config."""
    return registered(family).space_module().space


def config_from_params(family: str, params: dict, num_classes: int, epochs: int, **space_kwargs) -> dict:
    """The `models.build` config a trial's params stand for, trained `epochs` epochs: the family's
    space replayed over them (an `epochs` among older params is not asked, so it is left out)."""
    return space_of(family)(FixedSampler(params), num_classes, epochs, **space_kwargs)


def baseline_params(family: str, split: str, num_classes: int) -> dict:
    """The original study's model for `split` as a point of the space. The space never draws its
    batch-norm momentum (0.99), so its trial trains `baseline_config` itself (engine.initialize)."""
    module = registered(family).space_module()
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
    return module.baseline_params(config, common)


__all__ = ["CNN_MAX_MACS", "FixedSampler", "OptunaSampler", "Sampler", "baseline_params", "cnn_macs", "config_from_params",
           "conv_macs", "dense_head", "space_of", "training_keys"]
