"""What a study is: its settings, stored in the study's attributes so any worker can join it."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from tuning.errors import UserError

#: A trial reports its validation accuracy after about this many training images, and at every
#: epoch's end: on a large split (byclass-dev: 90k images an epoch) the pruner and the chance floor
#: then act within minutes, not after a whole epoch of a slow model.
IMAGES_PER_REPORT = 25_000
#: Without --max-epochs a trial trains at most about this many images (10 epochs of 25k): byclass-dev
#: (83k training images) gets 3 epochs, letters-dev and digits-dev 6, the full byclass release 2,
#: balanced-dev and mnist-dev the original study's 10. On 2 CPU cores that keeps a 100-trial
#: byclass-dev study near 2 hours, and byclass-dev's good CNNs reach their best within 3 epochs.
IMAGES_PER_TRIAL = 250_000
#: A CNN trial's conv stack costs at most this many multiply-adds over the images it may train on:
#: the original big CNN (40M a forward pass) over 100k images. On a small split the space's own cap
#: (1.25x that CNN) binds; on byclass-dev (3 x 83k images) a conv stack gets at most 16M, so no drawn
#: trial takes the better part of an hour there (a 34M stack trains about 600 img/s: 7 min an epoch).
TRIAL_MACS = 4_000_000_000_000


def reports_per_epoch(train_images: int) -> int:
    """How often a trial reports within one epoch over `train_images`: 1 on small splits."""
    return max(1, round(train_images / IMAGES_PER_REPORT))


def default_max_epochs(train_images: int) -> int:
    """`--max-epochs` when it is not given: 10, fewer where an epoch is large (at least 2)."""
    return max(2, min(10, round(IMAGES_PER_TRIAL / max(1, train_images))))


def max_macs(train_images: int, max_epochs: int) -> int:
    """The most multiply-adds a CNN trial's conv stack may cost per image, from TRIAL_MACS."""
    return TRIAL_MACS // max(1, train_images * max_epochs)


#: A final model trains at least the original study's 10 epochs: a trial's epoch cap (IMAGES_PER_TRIAL)
#: bounds what a search costs, not what the model a user ships may learn.
FINAL_MIN_EPOCHS = 10


#: how `tune benchmark` may retrain a tuned config: as its trial ran, under the final policy
#: (final_config), or that policy on training + validation images (tuning.benchmark.cells)
SCHEDULES = ("trial", "final", "refit")
#: what `tune benchmark` and `tune campaign` retrain a tuned config with when --schedule is not given: the
#: final policy (its validation figure held out) and its refit, the model worth shipping (measured in README)
DEFAULT_SCHEDULES = ("final", "refit")
#: the name suffix of a row trained under the refit schedule (on training + validation images)
REFIT = "-refit"


def final_config(config: dict) -> dict:
    """`config` under the final-training policy: the same model and schedule over at least
    FINAL_MIN_EPOCHS epochs (an ensemble's members each so); the trial's own epochs when it had more."""
    if config.get("family") == "ensemble":
        return {**config, "members": [final_config(member) for member in config["members"]]}
    return {**config, "epochs": max(config.get("epochs", FINAL_MIN_EPOCHS), FINAL_MIN_EPOCHS)}


def study_name(split: str, model: str, engine: str = "optuna") -> str:
    """The study a split and family get unless --study names another: emnist-<split>-<model>, and
    -kerastuner after it for KerasTuner's."""
    return f"emnist-{split}-{model}" + ("" if engine == "optuna" else f"-{engine}")


def vgg_weights(option: str | None) -> str | None:
    """`--weights` as studies and the benchmark keep it: imagenet when not given, None for `none`
    (random init per model), else random (one fixed seeded base) or a weights file."""
    return "imagenet" if option is None else None if option == "none" else option


#: what a command line gives instead of weights that cannot be had
WEIGHTS_OPTIONS = "on the command line: --weights FILE, or --weights random (one fixed seeded random base)"


def vgg16_weights_keys(weights: str | None) -> dict:
    """`--weights` (imagenet, random, None, or a no-top weights file) as VGG16 config keys."""
    if weights in (None, "imagenet", "random"):
        return {"weights": weights}
    return {"weights": "imagenet", "weights_path": weights}


@dataclass(frozen=True)
class StudySettings:
    split: str
    model: str
    seed: int = 0
    max_epochs: int = 10
    train_fraction: float = 1.0
    sampler: str = "tpe"
    pruner: str = "hyperband"
    vgg_weights: str | None = "imagenet"  # "imagenet", None (random init) or a weights file
    feature_cache: bool = True  # vgg16: cache the frozen base's output (tuning.trial.feature_cache)
    fine_tune_blocks: int = 0  # vgg16: the search may also train the last 0..K conv blocks
    reports_per_epoch: int = 1  # the pruner's resource is a report: epochs x this (reports_per_epoch())
    max_macs: int | None = None  # cnn: bound on a drawn conv stack's multiply-adds (max_macs()); None: the space's cap
    reference: bool = True  # trial 0 is the original study's model (--no-reference: left out)
    starting_points: bool = True  # the known-good configs follow it (--no-starting-points: the sampler alone)
    ladder: bool = True  # configs climb rungs of complete schedules (tuning.study.rungs); False: one schedule
    engine: str = "optuna"  # what runs the trials (tuning.engines.ENGINES); `sampler` is its strategy

    @property
    def num_classes(self) -> int:
        """The split's number of classes (data_pipeline's table of splits)."""
        from data_pipeline import get_split

        return get_split(self.split).num_classes

    def space_kwargs(self) -> dict:
        """Extra arguments of the study's search space."""
        if self.model == "cnn":
            return {"max_macs": self.max_macs} if self.max_macs else {}
        if self.model != "vgg16":
            return {}
        return {**vgg16_weights_keys(self.vgg_weights), "fine_tune_blocks": self.fine_tune_blocks}

    @classmethod
    def from_attrs(cls, attrs: dict, study_name: str = "this study") -> "StudySettings":
        missing = [key for key in ("split", "model", "seed", "max_epochs") if key not in attrs]
        if missing:
            raise UserError(
                f"study {study_name} was not made by `tune start` (it lacks {', '.join(missing)}); "
                "use `tune start --study NAME` for a new one"
            )
        stored = {key: attrs[key] for key in cls.__dataclass_fields__ if key in attrs}
        if str(stored.get("sampler", "")).startswith("kerastuner-"):  # stored before the engine was a field
            stored.update(engine="kerastuner", sampler=stored["sampler"].removeprefix("kerastuner-"), pruner="none")
        return cls(**{"ladder": False, **stored})  # a study from before the rungs ran every trial at one schedule


@dataclass(frozen=True)
class JoinedStudy:
    """A study joined to its data, built once per process (commands/preflight.join) and handed to
    the worker loop, the parallel runner, the KerasTuner worker and the objective."""

    study: Any  # the optuna.Study; study.lifecycle.configure sets its sampler and pruner
    settings: StudySettings
    data: Any  # data_pipeline.SplitArrays, the files the study was tuned on (checksums checked)
    characters: list[str]  # what each class stands for (the mapping file), for the trials' plots
    storage_url: str  # resolved; children get it in their environment, never in argv
    data_dir: str | None

    @cached_property
    def holdout(self):
        """Train and validation, carved from the training set by the study's rule (never the test set)."""
        from data_pipeline import train_val_split

        return train_val_split(self.data, train_fraction=self.settings.train_fraction, seed=self.settings.seed)
