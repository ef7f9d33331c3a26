"""Studies: create or resume, enqueue the baseline, and run trials until the study holds N.

A study is one (split, model family); everything a worker needs to join it (split, family, seed,
epochs, sampler, pruner, data checksums) is stored in the study's attributes, so `tune worker`
on another machine needs only the study name and the storage URL.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import optuna
from optuna.trial import TrialState

from data_pipeline import get_split, load_split, train_val_split
from tuning.errors import UserError
from tuning.progress import counts
from tuning.provenance import versions
from models import baseline_config, normalize
from tuning.spaces import baseline_params
from tuning.starting_points import known_good


@dataclass(frozen=True)
class StudySettings:
    split: str
    model: str
    seed: int
    max_epochs: int
    train_fraction: float
    sampler: str
    pruner: str
    vgg_weights: str | None = "imagenet"  # "imagenet", None (random init) or a weights file
    feature_cache: bool = True  # vgg16: cache the frozen base's output (tuning.feature_cache)
    fine_tune_blocks: int = 0  # vgg16: the search may also train the last 0..K conv blocks

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


def startup_trials(target: int) -> int:
    """Trials TPE draws before it models the study: Optuna's 10 would be a 12-trial study's whole
    budget; a quarter of the budget, 4..10 (the enqueued starting points count among them)."""
    return max(4, min(10, target // 4))


def make_sampler(name: str, seed: int | None, target: int = 40) -> optuna.samplers.BaseSampler:
    return SAMPLERS[name](seed, startup_trials(target))


def _tpe(seed, startup):
    # group: the space is conditional (blocks, optimizer), so model each set of co-occurring params
    # jointly; constant_liar keeps parallel workers from proposing the same point
    return optuna.samplers.TPESampler(seed=seed, n_startup_trials=startup, multivariate=True, group=True,
                                      constant_liar=True)


def _cmaes(seed, startup):
    # CMA-ES models the numeric params; the categorical ones come from its independent (random) sampler
    return optuna.samplers.CmaEsSampler(seed=seed, n_startup_trials=startup, warn_independent_sampling=False,
                                        consider_pruned_trials=True)  # as its docs advise under a pruner


#: sampler name -> factory(seed, startup trials); `tune start --sampler` offers these keys
SAMPLERS = {"tpe": _tpe, "random": lambda seed, startup: optuna.samplers.RandomSampler(seed=seed), "cmaes": _cmaes}


class StopHopeless(optuna.pruners.BasePruner):
    """Prunes a trial whose validation accuracy is still below `floor` (twice chance) after an
    epoch, whatever its Hyperband bracket holds; otherwise asks `inner`. The original study's trial
    is the reference and is never pruned for being weak. Not a HyperbandPruner itself, so samplers
    learn from every trial, not only from those of the trial's own bracket."""

    def __init__(self, inner: optuna.pruners.BasePruner, floor: float):
        self.inner, self.floor = inner, floor

    def prune(self, study, trial) -> bool:
        step = trial.last_step
        if step is None or trial.user_attrs.get("baseline"):
            return False
        if trial.intermediate_values[step] < self.floor:
            return True
        return self.inner.prune(study, trial)


def make_pruner(name: str, max_epochs: int, num_classes: int = 10) -> optuna.pruners.BasePruner:
    """The named pruner behind the chance floor; `none` prunes nothing at all."""
    pruner = PRUNERS[name](max_epochs)
    return pruner if name == "none" else StopHopeless(pruner, floor=2.0 / num_classes)


#: pruner name -> factory(max_epochs); `tune start --pruner` offers these keys
PRUNERS = {
    "hyperband": lambda max_epochs: optuna.pruners.HyperbandPruner(min_resource=1, max_resource=max_epochs,
                                                                   reduction_factor=3),
    "median": lambda max_epochs: optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=1),
    "none": lambda max_epochs: optuna.pruners.NopPruner(),
}


def load_holdout(settings: StudySettings, data_dir):
    data = load_split(settings.split, data_dir)
    holdout = train_val_split(data, train_fraction=settings.train_fraction, seed=settings.seed)
    return data, holdout


INITIALIZED = "initialized"  # the study attribute `initialize` writes last
INITIALIZE_WAIT_S = 30.0  # how long a joining worker waits for another to finish initializing


def create_or_resume(storage, name: str, settings: StudySettings, checksums: dict, target: int,
                     engine: str = "optuna", warm_start: tuple[str, list[dict]] | None = None) -> optuna.Study:
    """The study `name`, created with its settings and the baseline trial, or resumed as it is.

    Workers started together race: one creates the study and writes its attributes one by one,
    the others find it half-written. They wait for `initialize`'s last attribute; if it never
    comes (the creator died), they initialize it themselves, with the same settings.
    """
    try:
        study = optuna.create_study(storage=storage, study_name=name, direction="maximize")
    except optuna.exceptions.DuplicatedStudyError:
        study = optuna.load_study(study_name=name, storage=storage)
        if wait_for_initialization(study):
            return resume(study, name, settings, checksums, target, engine)
    return initialize(study, settings, checksums, target, engine, warm_start)


def wait_for_initialization(study: optuna.Study) -> bool:
    """Wait (up to INITIALIZE_WAIT_S) until the study is initialized, or has trials (then it is not
    ours to rewrite: `StudySettings.from_attrs` names what it lacks). False: it is still
    half-written and has no trial, so its creator died."""
    deadline = time.monotonic() + INITIALIZE_WAIT_S
    finished_or_running = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING)
    while not (study.user_attrs.get(INITIALIZED) or study.get_trials(deepcopy=False, states=finished_or_running)):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.25)
    return True


def resume(study: optuna.Study, name: str, settings: StudySettings, checksums: dict, target: int,
           engine: str = "optuna") -> optuna.Study:
    """The existing study, once it is shown to tune the same split, model and data files with the same engine."""
    stored = StudySettings.from_attrs(study.user_attrs, name)
    stored_engine = study.user_attrs.get("engine", "optuna")
    if stored_engine != engine:
        raise UserError(f"study {name} is run by {stored_engine}, not {engine}; resume it with --engine {stored_engine} "
                        "or pick another --study name")
    if (stored.split, stored.model) != (settings.split, settings.model):
        raise UserError(
            f"study {name} tunes {stored.model} on {stored.split}, not {settings.model} on {settings.split}; "
            "pick another --study name"
        )
    if study.user_attrs.get("data_checksums") != checksums:
        raise UserError(f"study {name} was tuned on other data files than these; use the same --data-dir or a new --study")
    study.set_user_attr("target_trials", max(target, study.user_attrs.get("target_trials", 0)))
    return study


def initialize(study: optuna.Study, settings: StudySettings, checksums: dict, target: int,
               engine: str = "optuna", warm_start: tuple[str, list[dict]] | None = None) -> optuna.Study:
    """Record the study's settings and provenance, and (Optuna engine) queue its starting points:
    the original study's model first, then `warm_start`'s (source study, params), then the known-good configs. The
    marker INITIALIZED is written last, so joining workers know when it is complete."""
    for key, value in settings.__dict__.items():
        study.set_user_attr(key, value)
    study.set_user_attr("engine", engine)
    study.set_user_attr("data_checksums", checksums)
    study.set_user_attr("versions", versions())
    study.set_user_attr("target_trials", target)
    study.set_user_attr("holdout", "last len(test) images of train" + (
        f", train subset {settings.train_fraction:g} (stratified, seed {settings.seed})" if settings.train_fraction < 1 else ""
    ))
    if engine == "optuna":  # KerasTuner draws its own trials; an enqueued one would wait forever
        num_classes = get_split(settings.split).num_classes
        weights = settings.weights_kwargs() if settings.model == "vgg16" else {}
        original = baseline_config(settings.model, settings.split, num_classes, **weights)
        original["epochs"] = min(original["epochs"], settings.max_epochs)
        # skip_if_exists: a worker that finds the creator dead initializes again
        study.enqueue_trial(baseline_params(settings.model, settings.split, num_classes, settings.max_epochs),
                            user_attrs={"baseline": True, "fixed_config": normalize(original)}, skip_if_exists=True)
        source, warm_params = warm_start or (None, [])
        if source:
            study.set_user_attr("warm_start", source)
        for origin, points in (("warm start", warm_params), ("known good", known_good(settings.model, settings.max_epochs))):
            for params in points:
                study.enqueue_trial(params, user_attrs={"starting_point": origin}, skip_if_exists=True)
    study.set_user_attr(INITIALIZED, True)
    return study


def attach(storage, name: str, seed: int | None = None) -> tuple[optuna.Study, StudySettings]:
    """Load an existing study with the sampler and pruner its settings name."""
    if name not in optuna.get_all_study_names(storage):
        raise UserError(f"no study named {name!r} in this storage; start it with `tune start` or list studies with `tune status`")
    attrs = optuna.load_study(study_name=name, storage=storage).user_attrs
    settings = StudySettings.from_attrs(attrs, name)
    if settings.sampler not in SAMPLERS or settings.pruner not in PRUNERS:  # a KerasTuner study's mirror
        return optuna.load_study(study_name=name, storage=storage), settings
    study = optuna.load_study(
        study_name=name,
        storage=storage,
        sampler=make_sampler(settings.sampler, settings.seed if seed is None else seed, attrs.get("target_trials", 40)),
        pruner=make_pruner(settings.pruner, settings.max_epochs, get_split(settings.split).num_classes),
    )
    return study, settings


#: this many trials in a row of one process failing with the same reason stop it: the next would too
REPEATED_FAILURES = 3


def run_trials(study: optuna.Study, objective, target: int, deadline: float | None = None, on_trial_end=None,
               limit: int | None = None) -> bool:
    """Run trials until the study holds `target` finished (complete or pruned) trials, the wall
    clock passes `deadline` (time.time()), or this call has run `limit` trials. True when done.

    While the remaining trials are all running elsewhere, wait: one of them may fail (a killed
    worker's trial is failed after the heartbeat grace period and retried), and then it is ours.
    Failed trials do not count, so a failure that repeats (a bad weights file, a config the machine
    cannot build) would loop forever: REPEATED_FAILURES alike in a row stop the run instead.
    """
    failures: list[str] = []

    def note_failure(study, trial) -> None:
        reason = trial.user_attrs.get("fail_reason")
        if trial.state == TrialState.FAIL and reason and not reason.startswith("not run:"):
            failures.append(reason)
        elif trial.state != TrialState.FAIL:
            failures.clear()

    callbacks = [note_failure] + ([on_trial_end] if on_trial_end else [])
    ran = 0
    while True:
        tally = counts(study)
        if tally["finished"] >= target or (deadline and time.time() >= deadline):
            return True
        if limit is not None and ran >= limit:
            return False
        if tally["finished"] + tally["running"] >= target and tally["waiting"] == 0:
            optuna.storages.fail_stale_trials(study)
            time.sleep(1.0)
            continue
        study.optimize(objective, n_trials=1, catch=(Exception,), callbacks=callbacks, gc_after_trial=False)
        ran += 1
        if len(failures) >= REPEATED_FAILURES and len(set(failures[-REPEATED_FAILURES:])) == 1:
            raise UserError(f"stopped: the last {REPEATED_FAILURES} trials all failed with {failures[-1]!r}; "
                            "fix that, then run the same command again to resume")


def set_threads(threads: int | None) -> None:
    """Pin TensorFlow's thread pools (before any op runs); None leaves TF's default."""
    if not threads:
        return
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(min(2, threads))


def default_threads(workers: int) -> int:
    return max(1, (os.cpu_count() or 1) // workers)


def best_trial(study: optuna.Study):
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    return max(complete, key=lambda t: t.value) if complete else None
