"""`tune start` and `tune worker`: argparse values checked and turned into `StudySettings`, then the workers run."""

from __future__ import annotations

import os
import signal

from tuning.backend import default_threads, describe, parse_gpus, set_threads
from tuning.engines import run_engine
from tuning.families import registered
from tuning.study.progress import best_trial, counts
from tuning.errors import UserError
from tuning.settings import WEIGHTS_OPTIONS, StudySettings, study_name
from tuning.study.rungs import gain_line, rung_of, search_gain
from tuning.commands.preflight import asked_settings, join
from tuning.study.lifecycle import check_resume, create_or_resume
from tuning.study.starting_points import is_export_path, warm_start
from tuning.storage import mask, open_storage, resolve_url
from tuning.trial.spaces import CNN_MAX_MACS
from tuning.workers.loop import raise_terminated, work
from tuning.workers.parallel import WorkerPool, run_parallel


def check_vgg_weights(settings: StudySettings) -> None:
    """Fail before the study exists, not in every trial, when ImageNet weights are missing."""
    family = registered(settings.model)
    if family.pretrained and settings.vgg_weights:
        import models

        try:
            models.check_vgg16_weights({"family": family.name, "num_classes": settings.num_classes,
                                        **family.weights_keys(settings.vgg_weights)})
        except models.WeightsUnavailable as exc:
            raise UserError(f"{exc} ({WEIGHTS_OPTIONS})") from None


def cmd_start(args, plan) -> int:
    settings, name, data = plan.settings, plan.name, plan.data  # preflight.check_start: checked before anything is written
    threads = args.threads or default_threads(1)
    if args.workers == 1:
        set_threads(threads)  # first: the weights check below builds a VGG16, and TF's pools are fixed after its first op
    check_vgg_weights(settings)
    from_file = bool(args.warm_start) and is_export_path(args.warm_start)
    # an export file is read before the storage is made (a bad one is one line that leaves nothing behind);
    # a study is read from the storage, which must then exist already
    chosen = warm_start(None, args.warm_start, settings, settings.num_classes, args.warm_start_top) if from_file else None
    storage = open_storage(args.storage, create=not args.warm_start or from_file)
    if args.warm_start and not from_file:
        chosen = warm_start(storage, args.warm_start, settings, settings.num_classes, args.warm_start_top)
    warm = (args.warm_start, chosen) if args.warm_start else None
    check_resume(storage, name, asked_settings(args, settings))
    study = create_or_resume(storage, name, settings, data.checksums, args.trials, warm_start=warm)
    stored = StudySettings.from_attrs(study.user_attrs, name)
    joined = join(study, stored, args.storage, args.data_dir, plan)
    signal.signal(signal.SIGTERM, raise_terminated)
    if "TUNE_RECYCLED" not in os.environ:
        print(f"study {name} on {mask(resolve_url(args.storage))}: {stored.model} on {stored.split}, "
              f"{args.trials} trials, up to {stored.max_epochs} epochs each"
              + (f" (reported {stored.reports_per_epoch} times an epoch)" if stored.reports_per_epoch > 1 else "")
              + (f", conv stacks up to {stored.max_macs / 1e6:.0f}M multiply-adds" if (stored.max_macs or CNN_MAX_MACS) < CNN_MAX_MACS else "")
              + (f", KerasTuner {stored.sampler}" if stored.engine == "kerastuner" else ""))
        print(describe())
    if args.workers > 1:  # an engine that takes no extra workers was refused by preflight
        pool = WorkerPool(args.workers, args.threads, tuple(parse_gpus(args.gpus) or ()), args.precision)
        run_parallel(joined, args.trials, pool, args.timeout)
    else:
        run_engine(stored.engine, joined, args.trials, args.timeout, threads)
    summarize(joined, args.storage)
    return 0


def summarize(joined, storage_url: str | None) -> None:
    """The end of `tune start`: counts, the best trial beside the original model, and what to run next."""
    study, settings, name = joined.study, joined.settings, joined.study.study_name
    tally = counts(study)
    best = best_trial(study)
    baseline = next((t for t in study.get_trials(deepcopy=False) if t.user_attrs.get("baseline")), None)
    print(f"\n{name}: {tally['complete']} complete, {tally['pruned']} pruned, {tally['fail']} failed")
    if best is None:
        print("no trial completed yet")
        return
    print(f"best trial #{best.number}: val accuracy {best.value:.4f} at the {rung_of(best)} rung"
          + (f" (original study's model, trial #{baseline.number}: {baseline.value:.4f})" if baseline and baseline.value is not None else ""))
    print("  " + ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in best.params.items()))
    print(gain_line(search_gain(study.get_trials(deepcopy=False))))
    storage_flag = f" --storage {mask(storage_url)}" if storage_url else ""
    print(f"watch it:  tune dashboard{storage_flag}")
    which = (f"--split {settings.split} --model {settings.model}" if name == study_name(settings.split, settings.model)
             else f"--study {name}")
    print(f"export it: tune export {which}{storage_flag}")


def cmd_worker(args, joined) -> int:  # joined: the study and its data, from preflight.check_worker
    target = args.trials or joined.study.user_attrs.get("target_trials")
    signal.signal(signal.SIGTERM, raise_terminated)
    work(joined, target, args.timeout, args.threads, args.quiet, args.seed_offset)
    return 0
