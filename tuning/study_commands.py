"""`tune start`, `tune worker`, `tune status`: run and inspect studies."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from data_pipeline import get_split, load_split, resolve_data_dir, train_val_split
from tuning.artifacts import artifact_dir, artifact_store
from tuning.engine import (
    StudySettings,
    attach,
    best_trial,
    create_or_resume,
    default_threads,
    run_trials,
    set_threads,
)
from tuning.errors import UserError, check_writable_folder, env_int
from tuning.progress import Reporter, counts
from tuning.starting_points import warm_start
from tuning.storage import check_study_name, heartbeat_settings, mask, open_storage, resolve_url


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so Optuna records the running trial before we exit (143)."""


def raise_terminated(signum, frame):
    raise Terminated()


VGG16_OPTIONS = ("weights", "feature_cache", "fine_tune_blocks")


def settings_from_args(args) -> StudySettings:
    split = get_split(args.split)
    if not 0.0 < args.train_fraction <= 1.0:
        raise UserError(f"--train-fraction {args.train_fraction} must lie in (0, 1], e.g. 0.25 for a quick study")
    given = [name for name in VGG16_OPTIONS if getattr(args, name) is not None]
    if given and args.model != "vgg16":
        flag = "--" + given[0].replace("_", "-")
        raise UserError(f"{flag} applies to --model vgg16 only, not {args.model}; drop it or add --model vgg16")
    cores = os.cpu_count() or 1
    if args.workers > cores:
        raise UserError(f"--workers {args.workers}: this machine has {cores} CPU cores and each worker needs one "
                        f"(and about 1.5 GB of memory); use --workers {cores} or fewer, and more machines with `tune worker`")
    return StudySettings(
        split=split.name,
        model=args.model,
        seed=args.seed,
        max_epochs=args.max_epochs,
        train_fraction=args.train_fraction,
        sampler=f"kerastuner-{args.tuner}" if args.engine == "kerastuner" else args.sampler,
        pruner="kerastuner" if args.engine == "kerastuner" else args.pruner,
        vgg_weights=None if args.weights == "none" else args.weights or "imagenet",
        feature_cache=args.feature_cache != "off",
        fine_tune_blocks=args.fine_tune_blocks or 0,
    )


def check_vgg_weights(settings: StudySettings) -> None:
    """Fail before the study exists, not in every trial, when ImageNet weights are missing."""
    if settings.model == "vgg16" and settings.vgg_weights:
        import keras

        from models.vgg16 import WEIGHTS_FILE, VGG16Config, base_network, resolve_weights

        config = VGG16Config(num_classes=get_split(settings.split).num_classes, **settings.weights_kwargs())
        path = resolve_weights(config)
        try:  # a file that is not VGG16's would fail every trial the same way
            base_network(config, path)
        except Exception as exc:  # noqa: BLE001  (h5py, Keras and OS errors all mean: not these weights)
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
            raise UserError(f"--weights {path} cannot be loaded into VGG16 without its top ({reason}); "
                            f"pass a VGG16 no-top weights file such as {WEIGHTS_FILE}, or --weights none") from None
        finally:
            keras.backend.clear_session()


#: TensorFlow keeps ~10 MB per trained model that clear_session() does not free (tensorflow#61791),
#: so a worker process runs at most TUNE_TRIALS_PER_PROCESS trials, then execs itself afresh (same pid, same
#: command, which resumes). Bounds memory like gunicorn's max_requests.
def trials_per_process() -> int:
    return env_int("TUNE_TRIALS_PER_PROCESS", 8)


def deadline_from(timeout) -> float | None:
    """A --timeout as an absolute time, kept in the environment so a recycled process keeps it."""
    if "TUNE_DEADLINE" not in os.environ and timeout:
        os.environ["TUNE_DEADLINE"] = str(time.time() + timeout)
    return float(os.environ["TUNE_DEADLINE"]) if "TUNE_DEADLINE" in os.environ else None


def recycle_process() -> None:
    """Replace this process by a fresh run of the same `tune` command (it resumes the study)."""
    sys.stdout.flush()
    sys.stderr.flush()
    os.environ["TUNE_RECYCLED"] = "1"
    os.execv(sys.executable, [sys.executable, "-m", "tuning.cli", *sys.argv[1:]])


def work(storage, name: str, target: int, data_dir, timeout=None, threads=None, quiet=False, seed_offset=0) -> None:
    """Join study `name` in this process and run trials until it holds `target` finished."""
    from tuning.objective import Objective

    study, settings = attach(storage, name)
    study, _ = attach(storage, name, seed=settings.seed + seed_offset + len(study.get_trials(deepcopy=False)))
    data = load_split(settings.split, data_dir)
    if study.user_attrs.get("data_checksums") != data.checksums:
        raise UserError(f"the data in {data_dir or 'the data dir'} differs from the files study {name} was tuned on; pass the same --data-dir")
    holdout = train_val_split(data, train_fraction=settings.train_fraction, seed=settings.seed)
    set_threads(threads)
    objective = Objective(
        settings.model, holdout, data.split.num_classes, settings.max_epochs, settings.seed,
        space_kwargs=settings.space_kwargs(),
        characters=data.split.characters(resolve_data_dir(data_dir)),
        artifact_store=artifact_store(),
        target=target,
        use_feature_cache=settings.feature_cache,
    )
    reporter = None if quiet else Reporter(study, target)
    try:
        done = run_trials(study, objective, target, deadline_from(timeout),
                          on_trial_end=reporter.poll if reporter else None, limit=trials_per_process())
    finally:
        if reporter:
            reporter.close()
    if not done:
        recycle_process()


def check_environment() -> None:
    """Every TUNE_* knob read later, read now: a bad value is one line before anything is written."""
    trials_per_process()
    heartbeat_settings()
    check_writable_folder(artifact_dir(), "TUNE_ARTIFACTS")


def cmd_start(args) -> int:
    check_environment()
    settings = settings_from_args(args)
    kerastuner = args.engine == "kerastuner"
    if kerastuner and args.workers > 1:
        raise UserError("--workers runs Optuna workers; KerasTuner runs in one process here (drop --workers)")
    suffix = "-kerastuner" if kerastuner else ""
    name = check_study_name(f"emnist-{settings.split}-{settings.model}{suffix}" if args.study is None else args.study)
    # everything that can be checked is checked before the study is written
    data = load_split(settings.split, args.data_dir)
    data.split.characters(resolve_data_dir(args.data_dir))  # the mapping file, which trials' plots read
    check_vgg_weights(settings)
    if args.warm_start and kerastuner:
        raise UserError("--warm-start queues trials for Optuna; KerasTuner draws its own (drop --warm-start)")
    storage = open_storage(args.storage, create=not args.warm_start)
    warm = (args.warm_start, warm_start(storage, check_study_name(args.warm_start), settings, data.split.num_classes,
                                        args.warm_start_top)) if args.warm_start else None
    study = create_or_resume(storage, name, settings, data.checksums, args.trials, engine=args.engine, warm_start=warm)
    stored = StudySettings.from_attrs(study.user_attrs, name)
    signal.signal(signal.SIGTERM, raise_terminated)
    if "TUNE_RECYCLED" not in os.environ:
        print(f"study {name} on {mask(resolve_url(args.storage))}: {stored.model} on {stored.split}, "
              f"{args.trials} trials, up to {stored.max_epochs} epochs each"
              + (f", KerasTuner {args.tuner}" if kerastuner else ""))
        ignored = [f"{key} {getattr(stored, key)} (asked {getattr(settings, key)})"
                   for key in ("max_epochs", "seed", "sampler", "pruner", "train_fraction")
                   if getattr(stored, key) != getattr(settings, key)]
        if ignored:
            print("resuming with the study's own settings: " + ", ".join(ignored) + "; use --study NAME for a new study")
        if warm and study.user_attrs.get("warm_start") != args.warm_start:
            print(f"--warm-start {args.warm_start} ignored: study {name} already existed; warm start a new --study")
    if kerastuner:
        run_kerastuner_study(storage, name, settings, data, args)
    elif args.workers > 1:
        run_parallel(args, name)
    else:
        work(storage, name, args.trials, args.data_dir, args.timeout, args.threads or default_threads(1))
    summarize(storage, name, args)
    return 0


def run_kerastuner_study(storage, name: str, settings, data, args) -> None:
    import optuna

    from tuning.kerastuner_engine import run_kerastuner

    set_threads(args.threads)
    study = optuna.load_study(study_name=name, storage=storage)
    holdout = train_val_split(data, train_fraction=settings.train_fraction, seed=settings.seed)
    reporter = Reporter(study, args.trials)
    try:
        done = run_kerastuner(study, settings, holdout, args.trials, args.tuner, on_mirror=reporter.poll,
                              deadline=deadline_from(args.timeout), limit=trials_per_process())
    finally:
        reporter.close()
    if not done:
        recycle_process()  # KerasTuner leaks like any Keras loop (issue 8): same bound as Optuna workers


def run_parallel(args, name: str) -> None:
    """W worker processes on one study, each with its share of the cores; this process reports."""
    from tuning.cli import tune_argv

    threads = args.threads or default_threads(args.workers)
    command = [*tune_argv(), "worker", "--study", name, "--trials", str(args.trials), "--threads", str(threads), "--quiet"]
    if args.data_dir:
        command += ["--data-dir", str(args.data_dir)]
    if args.timeout:
        command += ["--timeout", str(args.timeout)]
    env = {**os.environ, "TUNE_STORAGE": resolve_url(args.storage)}  # not argv: keeps passwords out of `ps`
    workers = [
        subprocess.Popen([*command, "--seed-offset", str(1000 * index)], env=env, stdout=subprocess.DEVNULL)
        for index in range(args.workers)
    ]
    study, _ = attach(open_storage(args.storage), name)
    reporter = Reporter(study, args.trials)
    try:
        while any(worker.poll() is None for worker in workers):
            reporter.poll()
            time.sleep(2.0)
        reporter.poll()
    except KeyboardInterrupt:
        for worker in workers:
            worker.send_signal(signal.SIGINT)
        for worker in workers:
            worker.wait()
        raise
    finally:
        reporter.close()
    failed = [w.returncode for w in workers if w.returncode]
    if failed:
        raise RuntimeError(f"{len(failed)} of {len(workers)} workers exited with an error (codes {failed})")


def summarize(storage, name: str, args) -> None:
    study, settings = attach(storage, name)
    tally = counts(study)
    best = best_trial(study)
    baseline = next((t for t in study.get_trials(deepcopy=False) if t.user_attrs.get("baseline")), None)
    print(f"\n{name}: {tally['complete']} complete, {tally['pruned']} pruned, {tally['fail']} failed")
    if best is None:
        print("no trial completed yet")
        return
    print(f"best trial #{best.number}: val accuracy {best.value:.4f}"
          + (f" (original study's model, trial #{baseline.number}: {baseline.value:.4f})" if baseline and baseline.value is not None else ""))
    print("  " + ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in best.params.items()))
    storage_flag = f" --storage {mask(args.storage)}" if args.storage else ""
    print(f"watch it:  tune dashboard{storage_flag}")
    which = (f"--split {settings.split} --model {settings.model}" if name == f"emnist-{settings.split}-{settings.model}"
             else f"--study {name}")
    print(f"export it: tune export {which}{storage_flag}")


def cmd_worker(args) -> int:
    check_environment()
    storage = open_storage(args.storage, create=False)
    check_study_name(args.study)
    study, _ = attach(storage, args.study)
    target = args.trials or study.user_attrs.get("target_trials")
    signal.signal(signal.SIGTERM, raise_terminated)
    work(storage, args.study, target, args.data_dir, args.timeout, args.threads, args.quiet, args.seed_offset)
    return 0


def study_status(study) -> dict:
    trials = study.get_trials(deepcopy=False)
    best = best_trial(study)
    starts = [t.datetime_start for t in trials if t.datetime_start]
    ends = [t.datetime_complete for t in trials if t.datetime_complete]
    tally = counts(study)
    return {
        "study": study.study_name,
        "split": study.user_attrs.get("split"),
        "model": study.user_attrs.get("model"),
        **{state: tally[state] for state in ("complete", "pruned", "fail", "running", "waiting")},
        "best_value": best.value if best else None,
        "best_trial": best.number if best else None,
        "best_params": best.params if best else None,
        "wall_seconds": round((max(ends) - min(starts)).total_seconds(), 1) if starts and ends else 0.0,
    }


def cmd_status(args) -> int:
    import optuna

    storage = open_storage(args.storage, create=False)
    rows = [study_status(optuna.load_study(study_name=name, storage=storage)) for name in optuna.get_all_study_names(storage)]
    if args.json:
        print(json.dumps(rows, indent=2, default=str))
        return 0
    if not rows:
        print("no studies yet; start one with `tune start --split mnist`")
    for row in rows:
        best = f"best {row['best_value']:.4f} (#{row['best_trial']})" if row["best_value"] is not None else "no complete trial"
        print(f"{row['study']}: {row['complete']} complete, {row['pruned']} pruned, {row['fail']} failed, "
              f"{row['running']} running; {best}; {row['wall_seconds'] / 60:.1f} min")
        if row["best_params"]:
            print("  " + ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in row["best_params"].items()))
    return 0
