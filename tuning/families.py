"""The model families a study tunes, each registered once, the way timm's registry carries a model's
pretrained configs: its name, the label reports give its baseline row, and the module of
tuning.trial.spaces that holds what a study needs of it (its search space, its baseline as a point of
that space, the known-good configs a study starts from). Its Keras side (config, builder, the
original study's model) is its module under models/, registered there.

Adding a family: models/<name>.py (and its import in models/__init__.py), tuning/trial/spaces/<name>.py,
and one line below. Free of heavy imports, so the CLI reads the names at once; the space module (which
loads Keras) is imported when a study or a benchmark asks.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType


@dataclass(frozen=True)
class Family:
    name: str
    label: str  # how a report names its baseline row: "the original study's CNN"
    pretrained: bool = False  # its base loads pretrained weights (`--weights`), checked before a run starts

    def weights_keys(self, weights: str | None) -> dict:
        """`--weights` as this family's config keys: {} for a family with no pretrained base."""
        from tuning.settings import vgg16_weights_keys

        return vgg16_weights_keys(weights) if self.pretrained else {}

    def space_module(self) -> ModuleType:
        """tuning.trial.spaces.<name>: `space`, `baseline_params` and `KNOWN_GOOD`."""
        return importlib.import_module(f"tuning.trial.spaces.{self.name}")

    @property
    def known_good(self) -> tuple[dict, ...]:
        """Generic starting points: the same for every split and not tuned on the dev data, so a
        study's best-so-far is a sound model within its first minutes whatever the split."""
        return self.space_module().KNOWN_GOOD

    def baseline(self, split: str, num_classes: int, **overrides) -> dict:
        """The original study's model of this family for `split` (models.baselines)."""
        from models import baseline_config

        return baseline_config(self.name, split, num_classes, **overrides)


FAMILIES: dict[str, Family] = {family.name: family for family in (
    Family("cnn", "the original study's CNN"),
    Family("mlp", "the MLP baseline"),
    Family("vgg16", "the VGG16 head", pretrained=True),
)}

MODELS = tuple(FAMILIES)  # the names `--model` / `--models` offer


def registered(name: str) -> Family:
    """The family registered as `name`; an unknown one is a UserError naming those there are."""
    from tuning.errors import UserError

    if name not in FAMILIES:
        raise UserError(f"unknown model family {name!r}; choose one of {', '.join(FAMILIES)}")
    return FAMILIES[name]
