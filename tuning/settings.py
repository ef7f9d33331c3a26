"""What a study is: its settings, stored in the study's attributes so any worker can join it."""

from __future__ import annotations

from dataclasses import dataclass

from tuning.errors import UserError

#: A trial reports its validation accuracy after about this many training images, and at every
#: epoch's end: on a large split (byclass-dev: 90k images an epoch) the pruner and the chance floor
#: then act within minutes, not after a whole epoch of a slow model.
IMAGES_PER_REPORT = 25_000
#: Without --max-epochs a trial trains at most about this many images (10 epochs of 35k): byclass-dev
#: (83k training images) gets 4 epochs, the full byclass release 2, balanced-dev, letters-dev and
#: mnist the original study's 10. On 2 CPU cores that keeps a 100-trial byclass-dev study in hours.
IMAGES_PER_TRIAL = 350_000


def reports_per_epoch(train_images: int) -> int:
    """How often a trial reports within one epoch over `train_images`: 1 on small splits."""
    return max(1, round(train_images / IMAGES_PER_REPORT))


def default_max_epochs(train_images: int) -> int:
    """`--max-epochs` when it is not given: 10, fewer where an epoch is large (at least 2)."""
    return max(2, min(10, round(IMAGES_PER_TRIAL / max(1, train_images))))


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

    def space_kwargs(self) -> dict:
        """Extra arguments of the study's search space (only vgg16 has any)."""
        if self.model != "vgg16":
            return {}
        return {**self.weights_kwargs(), "fine_tune_blocks": self.fine_tune_blocks}

    def weights_kwargs(self) -> dict:
        """The VGG16 config keys that say which weights the base loads."""
        if self.vgg_weights in (None, "imagenet"):
            return {"weights": self.vgg_weights}
        return {"weights": "imagenet", "weights_path": self.vgg_weights}

    @classmethod
    def from_attrs(cls, attrs: dict, study_name: str = "this study") -> "StudySettings":
        missing = [key for key in ("split", "model", "seed", "max_epochs") if key not in attrs]
        if missing:
            raise UserError(
                f"study {study_name} was not made by `tune start` (it lacks {', '.join(missing)}); "
                "use `tune start --study NAME` for a new one"
            )
        return cls(**{key: attrs[key] for key in cls.__dataclass_fields__ if key in attrs})
