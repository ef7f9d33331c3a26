"""Config (a plain JSON-able dict) -> compiled keras.Model. Knows nothing of Optuna or the data.

    model = models.build({"family": "cnn", "num_classes": 47, "filters": [32, 64]})
"""

from __future__ import annotations

import keras

from models import cnn, ensemble, mlp, vgg16  # noqa: F401  (each registers its family)
from models._compile import SparseSmoothedCrossentropy, clear_session, compile_model
from models._compile import schedule_learning_rate as _schedule_learning_rate
from models._config import ConfigError, TrainingConfig
from models._registry import FAMILIES, parse_config, builder_of
from models.baselines import BASELINE_EPOCHS, baseline_config
from models.ensemble import MAX_MEMBERS, ensemble_of
from models.vgg16 import WeightsUnavailable


def build(config: dict | TrainingConfig) -> keras.Model:
    """A compiled model for `config` (see each family's dataclass for its keys and defaults)."""
    parsed = parse_config(config)
    return compile_model(builder_of(parsed)(parsed), parsed)


def build_parts(config: dict | TrainingConfig):
    """vgg16 only: (frozen prefix, compiled trainable rest) whose composition is `build(config)`."""
    parsed = parse_config(config)
    prefix, rest = vgg16.build_parts(parsed)
    return prefix, compile_model(rest, parsed)


def schedule(model: keras.Model, config: dict | TrainingConfig, train_size: int, epochs: int | None = None) -> None:
    """Before `model.fit`: set the config's learning-rate schedule over `epochs` (default: the
    config's) of `train_size` images; a constant rate needs nothing."""
    parsed = parse_config(config)
    _schedule_learning_rate(model, parsed, train_size, epochs or parsed.epochs)


def check_vgg16_weights(config: dict | TrainingConfig) -> None:
    """A vgg16 config's weights, loaded once into the base: WeightsUnavailable (one line) when they are
    missing or are not VGG16's."""
    vgg16.check_weights(parse_config(config))


def vgg16_weights_file(config: dict | TrainingConfig) -> str | None:
    """The local weights file a vgg16 config's base loads (None: random init)."""
    return vgg16.resolve_weights(parse_config(config))


def build_members(config: dict | TrainingConfig) -> list[keras.Model]:
    """An ensemble config's members, each compiled with its own training keys, to train one by one
    and then join with `ensemble_of` (compile that with `compile_ensemble`)."""
    return [build(member) for member in parse_config(config).members]


def compile_ensemble(members: list[keras.Model], config: dict | TrainingConfig) -> keras.Model:
    """The trained `members` joined into one compiled model (evaluate and predict; it is not trained as one)."""
    parsed = parse_config(config)
    return compile_model(ensemble_of(members, weights=parsed.weights), parsed)


def normalize(config: dict | TrainingConfig) -> dict:
    """`config` with every default filled in: the dict that rebuilds exactly this model."""
    return parse_config(config).to_dict()


__all__ = [
    "BASELINE_EPOCHS",
    "ConfigError",
    "FAMILIES",
    "SparseSmoothedCrossentropy",
    "WeightsUnavailable",
    "baseline_config",
    "build",
    "build_members",
    "build_parts",
    "compile_ensemble",
    "check_vgg16_weights",
    "clear_session",
    "ensemble_of",
    "MAX_MEMBERS",
    "normalize",
    "parse_config",
    "schedule",
    "vgg16_weights_file",
]
