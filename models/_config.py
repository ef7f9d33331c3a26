"""Config dataclasses: JSON-able, validated field by field, shared training keys.

A family's config is a frozen dataclass whose fields carry their allowed values in metadata, so
one validator checks every family and the error names the key, the value and what is allowed.
"""

from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass, field
from typing import Any


class ConfigError(ValueError):
    """A model config that cannot be built; the message names the key and what is allowed."""


#: The most weights a config may have: 100M float32 weights are 0.4 GB, and training holds about
#: four times that (gradients, Adam's two moments); far past it a build exhausts memory or segfaults.
MAX_PARAMS = 100_000_000


def dense_params(inputs: int, units, num_classes: int) -> int:
    """Weights of a stack of dense layers on `inputs` features, then the softmax layer."""
    total = 0
    for width in (*units, num_classes):
        total += inputs * width + width
        inputs = width
    return total


def check_size(family: str, params: int) -> None:
    if params > MAX_PARAMS:
        raise ConfigError(f"{family} config: about {params:,} weights, over the limit of {MAX_PARAMS:,} "
                          "(models._config.MAX_PARAMS); use fewer or narrower layers")


def number(default, low, high):
    """An int or float field in [low, high]; ints stay ints."""
    return field(default=default, metadata={"range": (low, high)})


def numbers(default, low, high, min_len, max_len):
    """A list of ints in [low, high], of min_len..max_len items (stored as a tuple)."""
    return field(default=tuple(default), metadata={"range": (low, high), "length": (min_len, max_len)})


def choice(default, *choices):
    return field(default=default, metadata={"choices": choices})


def flag(default: bool):
    return field(default=default, metadata={"flag": True})


def check_field(family: str, spec: dataclasses.Field, value: Any) -> Any:
    """The validated (normalised) value of one field, or a ConfigError."""
    where = f"{family} config: {spec.name}={value!r}"
    meta = spec.metadata
    if "choices" in meta:
        if value not in meta["choices"]:
            raise ConfigError(f"{where} is not allowed; choose one of {', '.join(map(repr, meta['choices']))}")
        return value
    if "flag" in meta:
        if not isinstance(value, bool):
            raise ConfigError(f"{where} must be true or false")
        return value
    if "length" in meta:
        low_len, high_len = meta["length"]
        if isinstance(value, int) and not isinstance(value, bool):
            value = [value]
        if not isinstance(value, (list, tuple)) or not low_len <= len(value) <= high_len:
            raise ConfigError(f"{where} must be a list of {low_len}..{high_len} numbers")
        return tuple(check_number(where, spec.default[0] if spec.default else 0, meta["range"], item) for item in value)
    if "range" in meta:
        return check_number(where, spec.default, meta["range"], value)
    return value


def check_number(where: str, default, bounds, value):
    low, high = bounds
    want_int = isinstance(default, int)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (want_int and not float(value).is_integer()):
        raise ConfigError(f"{where} must be {'a whole number' if want_int else 'a number'} in {low}..{high}")
    if not low <= value <= high:
        raise ConfigError(f"{where} is out of range; allowed {low}..{high}")
    return int(value) if want_int else float(value)


@dataclass(frozen=True, kw_only=True)
class TrainingConfig:
    """Keys every family has: outputs, optimizer, loss, and how `fit` runs."""

    family = "base"  # set by models._registry.register

    num_classes: int = number(10, 2, 1000)
    optimizer: str = choice("adam", "adam", "adamw", "sgd")
    learning_rate: float = number(1e-3, 1e-6, 1.0)  # the peak rate under warmup_cosine
    # constant (the original study's), or a linear warm-up over the first 10% of steps (at most one
    # epoch) then cosine decay to zero at the last step: short trials then end converged, not mid-step
    lr_schedule: str = choice("constant", "constant", "warmup_cosine")
    weight_decay: float = number(0.0, 0.0, 0.1)
    momentum: float = number(0.9, 0.0, 0.999)  # sgd only
    label_smoothing: float = number(0.0, 0.0, 0.5)
    batch_size: int = number(128, 1, 8192)
    epochs: int = number(10, 1, 500)

    def __post_init__(self):
        family = type(self).family
        for spec in dataclasses.fields(self):
            object.__setattr__(self, spec.name, check_field(family, spec, getattr(self, spec.name)))

    def to_dict(self) -> dict:
        values = {"family": type(self).family}
        for spec in dataclasses.fields(self):
            value = getattr(self, spec.name)
            values[spec.name] = list(value) if isinstance(value, tuple) else value
        return values


def make_config(config_class: type, raw: dict) -> TrainingConfig:
    """Instantiate `config_class` from a dict, naming unknown or missing keys clearly."""
    family = config_class.family
    known = {spec.name for spec in dataclasses.fields(config_class)}
    unknown = sorted(set(raw) - known - {"family"})
    if unknown:
        hint = difflib.get_close_matches(unknown[0], known, n=1)
        suggestion = f" (did you mean {hint[0]!r}?)" if hint else f"; known keys: {', '.join(sorted(known))}"
        raise ConfigError(f"{family} config: unknown key {unknown[0]!r}{suggestion}")
    if "num_classes" not in raw:
        raise ConfigError(f"{family} config: num_classes is required (the split's number of classes)")
    return config_class(**{key: value for key, value in raw.items() if key != "family"})
