"""A study's life: create or resume it, queue its starting points, configure its sampler and pruner.

A study is one (split, model family); everything a worker needs to join it (split, family, seed,
epochs, sampler, pruner, data checksums) is stored in the study's attributes, so `tune worker`
on another machine needs only the study name and the storage URL.
"""

from __future__ import annotations

import dataclasses

import time
import warnings

import optuna
from optuna.trial import TrialState

from models import normalize
from tuning.families import registered
from tuning.engines import ENGINES
from tuning.errors import UserError
from tuning.provenance import versions
from tuning.study.pruners import make_pruner
from tuning.study.samplers import make_sampler
from tuning.settings import StudySettings
from tuning.study.starting_points import known_good
from tuning.trial.spaces import baseline_params


INITIALIZED = "initialized"  # the study attribute `initialize` writes last


INITIALIZE_WAIT_S = 30.0  # how long a joining worker waits for another to finish initializing


def check_resume(storage, name: str, asked: dict[str, tuple[str, object]]) -> None:
    """Refuse, before anything is written, switches that contradict the study `name` already holds
    (asked: field -> (switch, value), commands.preflight.asked_settings): resuming would ignore them."""
    if name not in optuna.get_all_study_names(storage):
        return
    attrs = optuna.load_study(study_name=name, storage=storage).user_attrs
    if not attrs.get(INITIALIZED):
        return  # half-written by a creator that died: create_or_resume initializes it
    if "warm_start" in asked and attrs.get("warm_start") != asked["warm_start"][1]:
        raise UserError(f"study {name} already exists, so --warm-start {asked['warm_start'][1]} would be ignored; "
                        f"drop --warm-start to resume it, or warm start a new study with --study NAME")
    stored = {**attrs, **dataclasses.asdict(StudySettings.from_attrs(attrs, name))}  # as settings read them
    contradicted = [f"{switch} {value} (it holds {stored[key]})" for key, (switch, value) in asked.items()
                    if key in stored and key != "warm_start" and stored[key] != value]
    if contradicted:
        raise UserError(f"study {name} already exists with other settings: {', '.join(contradicted)}; drop "
                        f"{'them' if len(contradicted) > 1 else 'it'} to resume it as it is, or start a new study with --study NAME")


def create_or_resume(storage, name: str, settings: StudySettings, checksums: dict, target: int,
                     warm_start: tuple[str, list[dict]] | None = None) -> optuna.Study:
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
            return resume(study, name, settings, checksums, target)
    return initialize(study, settings, checksums, target, warm_start)


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


def resume(study: optuna.Study, name: str, settings: StudySettings, checksums: dict, target: int) -> optuna.Study:
    """The existing study, once it is shown to tune the same split, model and data files with the same engine."""
    stored = StudySettings.from_attrs(study.user_attrs, name)
    if stored.engine != settings.engine:
        raise UserError(f"study {name} is run by {stored.engine}, not {settings.engine}; resume it with --engine "
                        f"{stored.engine} or pick another --study name")
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
               warm_start: tuple[str, list[dict]] | None = None) -> optuna.Study:
    """Record the study's settings and provenance, and (Optuna engine) queue its starting points:
    the original study's model first, then `warm_start`'s (source study, params), then the known-good configs. The
    marker INITIALIZED is written last, so joining workers know when it is complete."""
    for key, value in settings.__dict__.items():
        study.set_user_attr(key, value)
    with warnings.catch_warnings():  # experimental in Optuna 5, and what the dashboard reads
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study.set_metric_names(["val_accuracy"])  # the dashboard's plots name the objective
    study.set_user_attr("data_checksums", checksums)
    study.set_user_attr("versions", versions())
    study.set_user_attr("target_trials", target)
    study.set_user_attr("holdout", "last len(test) images of train" + (
        f", train subset {settings.train_fraction:g} (stratified, seed {settings.seed})" if settings.train_fraction < 1 else ""
    ))
    if ENGINES[settings.engine].queues_starting_points:  # KerasTuner draws its own: an enqueued trial would wait forever
        num_classes = settings.num_classes
        family = registered(settings.model)
        original = family.baseline(settings.split, num_classes, **family.weights_keys(settings.vgg_weights))
        original["epochs"] = min(original["epochs"], settings.max_epochs)
        # skip_if_exists: a worker that finds the creator dead initializes again
        if settings.reference:
            study.enqueue_trial(baseline_params(settings.model, settings.split, num_classes),
                                user_attrs={"baseline": True, "rung": "trial", "fixed_config": normalize(original)},
                                skip_if_exists=True)
        source, warm_params = warm_start or (None, [])
        if source:
            study.set_user_attr("warm_start", source)
        known = known_good(settings.model, settings.max_epochs, settings.max_macs) if settings.starting_points else []
        for origin, points in (("warm start", warm_params), ("known good", known)):
            for params in points:
                study.enqueue_trial(params, user_attrs={"starting_point": origin}, skip_if_exists=True)
    study.set_user_attr(INITIALIZED, True)
    return study


def configure(study: optuna.Study, settings: StudySettings, seed: int | None = None) -> optuna.Study:
    """`study` with the sampler (seeded with `seed`, default the study's) and pruner its settings name;
    a KerasTuner study's mirror keeps Optuna's defaults, which never run."""
    if settings.engine == "optuna":
        study.sampler = make_sampler(settings.sampler, settings.seed if seed is None else seed,
                                     study.user_attrs.get("target_trials", 40))
        study.pruner = make_pruner(settings.pruner, settings.max_epochs, settings.num_classes,
                                   settings.reports_per_epoch)
    return study
