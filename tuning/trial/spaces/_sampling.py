"""What every family's space shares: the three-method sampler interface, its Optuna and replay
implementations, and the training keys and dense head every family draws."""

from __future__ import annotations

from typing import Any, Protocol, Sequence

#: Adam and AdamW only: SGD needs its own learning-rate range and momentum, and in a short trial
#: with few steps per epoch it barely moves (its draws end near chance).
OPTIMIZERS = ["adam", "adamw"]
#: Peak learning rates where Adam and AdamW train these models, warmed up then decayed
#: (`models` lr_schedule); the original study's 1e-3 lies inside.
LEARNING_RATES = (3e-4, 4e-3)
SCHEDULES = ["warmup_cosine", "constant"]  # constant: the original study's, kept for its trial
BATCH_SIZES = [64, 128, 256]  # 32 halves CPU throughput; 512 leaves the dev splits too few steps
UNITS = [64, 100, 128, 256, 512, 1024]  # 100: the original byclass CNN's second dense layer


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


#: the training keys every known-good starting point starts from (a family's KNOWN_GOOD)
ADAM_START = {"optimizer": "adam", "learning_rate": 2e-3, "lr_schedule": "warmup_cosine", "batch_size": 128}
