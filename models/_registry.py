"""Model families by name: `register` a config class and its builder; `build` looks them up."""

from __future__ import annotations

import warnings
from typing import Callable

from models._config import ConfigError, TrainingConfig, make_config

FAMILIES: dict[str, tuple[type[TrainingConfig], Callable]] = {}
#: family -> fn(split) -> the original study's model of that family for the split (its architecture
#: keys; models.baselines adds the training keys every baseline shares)
BASELINES: dict[str, Callable[[str], dict]] = {}


def register(name: str, config_class: type[TrainingConfig], baseline: Callable[[str], dict] | None = None):
    """Decorator for a builder `fn(config) -> uncompiled keras.Model` of family `name`, with the
    original study's model of that family per split where it had one."""

    def decorate(builder: Callable) -> Callable:
        if name in FAMILIES:  # as timm does: the later one wins, but say so
            warnings.warn(f"model family {name!r} registered twice; the later registration replaces the earlier")
        config_class.family = name
        FAMILIES[name] = (config_class, builder)
        if baseline is not None:
            BASELINES[name] = baseline
        return builder

    return decorate


def parse_config(config: dict | TrainingConfig) -> TrainingConfig:
    """A validated config object from a plain dict (as exported) or a config object."""
    if isinstance(config, TrainingConfig):
        return config
    if not isinstance(config, dict):
        raise ConfigError(f"a model config is a dict with a 'family' key, not {type(config).__name__}")
    family = config.get("family")
    if family not in FAMILIES:
        raise ConfigError(f"unknown model family {family!r}; choose one of {', '.join(FAMILIES)}")
    return make_config(FAMILIES[family][0], config)


def builder_of(config: TrainingConfig) -> Callable:
    return FAMILIES[type(config).family][1]
