"""An ensemble of K configs of any family: one model whose output is the mean of its members' softmax
(weighted by `weights` where a selection gave them: members of weight 0 are left out of the model).

Each member is trained on its own (its own optimizer, schedule, batch size and epochs), then the
trained members are joined with `ensemble_of`; `models.build` of an ensemble config gives the same
joined model untrained, so an exported ensemble rebuilds without Optuna like any other config.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
from keras import layers

from models._config import ConfigError, TrainingConfig, choice, numbers
from models._registry import builder_of, parse_config, register

MAX_MEMBERS = 10


@dataclass(frozen=True, kw_only=True)
class EnsembleConfig(TrainingConfig):
    members: tuple = ()  # member configs (dicts as exported, parsed here), each of another family
    # how the members are weighted once trained: "mean" all alike, "greedy" by forward selection with
    # replacement over their validation predictions (tuning.benchmark.ensembles); `weights` holds the result
    selection: str = choice("mean", "mean", "greedy")
    weights: tuple = numbers((), 0, 1000, 0, MAX_MEMBERS)  # one count per member; () = all alike

    def __post_init__(self):
        super().__post_init__()
        if not isinstance(self.members, (list, tuple)) or not 2 <= len(self.members) <= MAX_MEMBERS:
            raise ConfigError(f"ensemble config: members must be a list of 2..{MAX_MEMBERS} model configs")
        parsed = []
        for index, member in enumerate(self.members):
            if isinstance(member, dict) and member.get("family") == "ensemble" or isinstance(member, EnsembleConfig):
                raise ConfigError(f"ensemble config: member {index} is an ensemble itself; list its members instead")
            try:
                member = parse_config(member)
            except ConfigError as exc:
                raise ConfigError(f"ensemble config: member {index}: {exc}") from None
            if member.num_classes != self.num_classes:
                raise ConfigError(f"ensemble config: member {index} has num_classes {member.num_classes}, "
                                  f"the ensemble {self.num_classes}")
            parsed.append(member)
        object.__setattr__(self, "members", tuple(parsed))
        if self.weights and (len(self.weights) != len(parsed) or not any(self.weights)):
            raise ConfigError(f"ensemble config: weights must be {len(parsed)} counts, one per member, not all 0")

    def to_dict(self) -> dict:
        return {**super().to_dict(), "members": [member.to_dict() for member in self.members]}


def ensemble_of(members: list[keras.Model], name: str = "ensemble", weights=()) -> keras.Model:
    """One model over the uint8 images whose output is the mean of `members`' outputs (their softmax),
    weighted by `weights` (counts; () = all alike) with members of weight 0 left out."""
    weights = tuple(weights) or (1,) * len(members)
    images = keras.Input(shape=(28, 28), dtype="uint8", name="images")
    kept = [(index, member, weight) for index, (member, weight) in enumerate(zip(members, weights)) if weight]
    outputs = [keras.Model(member.input, member.output, name=f"member{index}")(images) for index, member, _ in kept]
    if len(kept) == 1:
        return keras.Model(images, layers.Identity(name="classes", dtype="float32")(outputs[0]), name=name)
    if len({weight for _, _, weight in kept}) == 1:
        return keras.Model(images, layers.Average(name="classes", dtype="float32")(outputs), name=name)
    total = sum(weight for _, _, weight in kept)
    scaled = [layers.Rescaling(weight / total, name=f"weight{index}", dtype="float32")(output)
              for (index, _, weight), output in zip(kept, outputs)]
    return keras.Model(images, layers.Add(name="classes", dtype="float32")(scaled), name=name)


@register("ensemble", EnsembleConfig)
def build_ensemble(config: EnsembleConfig) -> keras.Model:
    return ensemble_of([builder_of(member)(member) for member in config.members], weights=config.weights)
