"""What `tune start` and `tune worker` check before Keras loads (cli.dispatch runs these first).

Importing Keras and TensorFlow costs about 6 s of CPU here; bad input (a split, a study name, a data
folder, an environment variable) is answered in about a second instead. This module imports no
`models` and no Keras (tests/test_bad_input.py checks that), so only light rooms: data_pipeline,
settings, storage names and environment knobs. What a check finds (settings, data, storage) is
passed on to its command's handler.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import Any

from data_pipeline import get_split, load_split, resolve_data_dir
from tuning.engines import ENGINES
from tuning.errors import UserError
from tuning.settings import JoinedStudy, StudySettings, default_max_epochs, max_macs, reports_per_epoch, study_name, vgg_weights
from tuning.storage import check_study_exists, check_study_name, heartbeat_settings, open_storage, resolve_url, storage_file
from tuning.trial.artifacts import check_artifact_store
from tuning.workers.loop import trials_per_process

VGG16_OPTIONS = ("weights", "feature_cache", "fine_tune_blocks")
WORKER_GB = 1.0  # a worker's resident memory in a trial (benchmarks/README: 1.0-1.5 GB on dev splits)


#: options that apply only beside another: (option, whether it applies, what to do instead)
PAIRED_OPTIONS = (
    ("warm_start_top", lambda args: args.warm_start, "add --warm-start STUDY|FILE or drop it"),
    ("tuner", lambda args: args.engine == "kerastuner", "add --engine kerastuner or drop it"),
    ("sampler", lambda args: args.engine == "optuna", "KerasTuner's --tuner draws its trials; drop it"),
    ("pruner", lambda args: args.engine == "optuna", "KerasTuner's --tuner stops its trials; drop it"),
)
PAIRED_DEFAULTS = {"warm_start_top": 3, "tuner": "hyperband", "sampler": "tpe", "pruner": "hyperband"}


def check_paired_options(args) -> None:
    """An option given where it does nothing is a mistake to say, not to ignore; then the defaults."""
    for name, applies, fix in PAIRED_OPTIONS:
        if getattr(args, name) is not None and not applies(args):
            where = "without --warm-start" if name == "warm_start_top" else f"with --engine {args.engine}"
            raise UserError(f"--{name.replace('_', '-')} does nothing {where}; {fix}")
    for name, default in PAIRED_DEFAULTS.items():
        if getattr(args, name) is None:
            setattr(args, name, default)


#: StudySettings field -> (its switch, the value it has when the switch is not given)
SWITCHES = {"seed": ("--seed", 0), "sampler": ("--sampler", "tpe"), "pruner": ("--pruner", "hyperband"),
            "train_fraction": ("--train-fraction", 1.0), "reference": ("--no-reference", True),
            "starting_points": ("--no-starting-points", True), "vgg_weights": ("--weights", "imagenet"),
            "feature_cache": ("--feature-cache", True), "fine_tune_blocks": ("--fine-tune-blocks", 0)}


def asked_settings(args, settings: StudySettings) -> dict[str, tuple[str, object]]:
    """The settings this command line asks for by a switch: field -> (switch, value)."""
    asked = {key: (switch, getattr(settings, key)) for key, (switch, unset) in SWITCHES.items()
             if getattr(settings, key) != unset and (key not in ("sampler", "pruner") or args.engine == "optuna")}
    if args.engine != "optuna":  # typed: a study run by another engine is not this one
        asked["engine"] = ("--engine", args.engine)
        if settings.sampler != PAIRED_DEFAULTS["tuner"]:
            asked["sampler"] = ("--tuner", settings.sampler)
    if args.max_epochs:
        asked["max_epochs"] = ("--max-epochs", settings.max_epochs)
    if args.warm_start:
        asked["warm_start"] = ("--warm-start", args.warm_start)
    return asked


def settings_from_args(args) -> StudySettings:
    check_paired_options(args)
    split = get_split(args.split)
    given = [name for name in VGG16_OPTIONS if getattr(args, name) is not None]
    if given and args.model != "vgg16":
        flag = "--" + given[0].replace("_", "-")
        raise UserError(f"{flag} applies to --model vgg16 only, not {args.model}; drop it or add --model vgg16")
    memory_gb = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**30
    if args.workers > max(1, int(memory_gb / WORKER_GB)):
        raise UserError(f"--workers {args.workers}: each worker holds about {WORKER_GB:g} GB and this machine has "
                        f"{memory_gb:.0f} GB; use at most {max(1, int(memory_gb / WORKER_GB))} here (one per core is "
                        "fastest), and more machines with `tune worker`")
    return StudySettings(
        split=split.name,
        model=args.model,
        seed=args.seed,
        max_epochs=args.max_epochs or 10,  # sized to the data by sized_to_data once it is loaded
        train_fraction=args.train_fraction,
        engine=args.engine,
        sampler=args.tuner if args.engine == "kerastuner" else args.sampler,
        pruner="none" if args.engine == "kerastuner" else args.pruner,
        vgg_weights=vgg_weights(args.weights),
        feature_cache=args.feature_cache != "off",
        fine_tune_blocks=args.fine_tune_blocks or 0,
        reference=args.reference,
        starting_points=args.starting_points,
    )


def check_environment() -> None:
    """Every TUNE_* knob read later, read now: a bad value is one line before anything is written."""
    trials_per_process()
    heartbeat_settings()
    check_artifact_store()


@dataclass(frozen=True)
class StartPlan:
    """What `tune start` has checked before anything is written: the settings it asks for (sized to
    the data), the study's name, and the loaded split."""

    settings: StudySettings
    name: str
    data: Any  # data_pipeline.SplitArrays
    characters: list[str]  # the mapping file, which trials' plots read


def check_start(args) -> StartPlan:
    """`tune start`'s plan, or a UserError naming the first problem."""
    check_environment()
    settings = settings_from_args(args)
    kerastuner = args.engine == "kerastuner"
    if kerastuner and args.workers > 1:
        raise UserError("--workers runs Optuna workers; KerasTuner runs in one process here (drop --workers)")
    if kerastuner and not (args.reference and args.starting_points):
        raise UserError("--no-reference and --no-starting-points do nothing with --engine kerastuner, which queues "
                        "neither; drop them")
    if args.warm_start and kerastuner:
        raise UserError("--warm-start queues trials for Optuna; KerasTuner draws its own (drop --warm-start)")
    name = check_study_name(study_name(settings.split, settings.model, settings.engine) if args.study is None else args.study)
    storage_file(args.storage)  # a URL that names no file, or no server
    data = load_split(settings.split, args.data_dir)
    characters = data.split.characters(resolve_data_dir(args.data_dir))
    return StartPlan(sized_to_data(settings, args, data), name, data, characters)


def sized_to_data(settings: StudySettings, args, data) -> StudySettings:
    """The settings that follow the training set's size: the epoch budget (unless --max-epochs gave
    it), the costliest conv stack a CNN trial may draw for that many images, and how often an Optuna
    trial reports within an epoch (KerasTuner reports once an epoch)."""
    images = round((len(data.train_labels) - len(data.test_labels)) * settings.train_fraction)  # train_val_split's rule
    epochs = args.max_epochs or default_max_epochs(images)
    return dataclasses.replace(
        settings,
        max_epochs=epochs,
        max_macs=max_macs(images, epochs) if settings.model == "cnn" else None,
        reports_per_epoch=reports_per_epoch(images) if settings.engine == "optuna" else 1,
    )


def join(study, settings: StudySettings, storage: str | None, data_dir, plan: StartPlan | None = None) -> JoinedStudy:
    """`study` joined to its data (what `plan` loaded already, else loaded now), once the files are
    shown to be the ones the study was tuned on."""
    data = plan.data if plan else load_split(settings.split, data_dir)
    if study.user_attrs.get("data_checksums") != data.checksums:
        raise UserError(f"the data in {data_dir or 'the data dir'} differs from the files study {study.study_name} "
                        "was tuned on; pass the same --data-dir")
    characters = plan.characters if plan else data.split.characters(resolve_data_dir(data_dir))
    return JoinedStudy(study, settings, data, characters, resolve_url(storage), str(data_dir) if data_dir else None)


def check_worker(args) -> JoinedStudy:
    """`tune worker`'s study joined to its data, or a UserError naming the first problem."""
    import optuna

    check_environment()
    storage = open_storage(args.storage, create=False)
    check_study_exists(storage, check_study_name(args.study))
    study = optuna.load_study(study_name=args.study, storage=storage)
    settings = StudySettings.from_attrs(study.user_attrs, args.study)  # made by `tune start`, or one line saying not
    if not ENGINES[settings.engine].workers_join:  # e.g. KerasTuner draws its own; more workers would overshoot --trials
        raise UserError(f"study {args.study} is run by {settings.engine}, which takes no extra workers; resume it with "
                        f"`tune start --engine {settings.engine} --split {settings.split} --model {settings.model} "
                        f"--study {args.study}`")
    return join(study, settings, args.storage, args.data_dir)
