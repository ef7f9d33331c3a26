"""KerasTuner as a second engine over the very same search spaces, mirrored into Optuna.

The space functions of `tuning.trial.spaces` run over KerasTuner's HyperParameters through a sampler
adapter; each finished KerasTuner trial is copied into the Optuna study
`emnist-<split>-<model>-kerastuner` (same param names and distributions, value, per-epoch
validation accuracy, user attributes), so one dashboard, `tune status` and `tune export` serve
both engines. KerasTuner keeps its own state under studies/kerastuner/<study>/ and resumes from it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import keras
import optuna
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState

import models
from tuning.backend import device_record
from tuning.engines import TUNERS
from tuning.provenance import worker_identity
from tuning.trial.objective import rss_bytes
from tuning.study.progress import Reporter, counts
from tuning.trial.spaces import space_of
from tuning.trial.training import release_memory

STATE_DIR = Path("studies/kerastuner")


class KerasTunerSampler:
    """The sampler interface over KerasTuner HyperParameters. KerasTuner keeps the first range a
    name was registered with, so a value is clamped into the range asked now; the asked ranges
    are kept as Optuna distributions for the mirror."""

    def __init__(self, hp):
        self.hp, self.distributions, self.params = hp, {}, {}

    def _keep(self, name, value, distribution):
        self.params[name], self.distributions[name] = value, distribution
        return value

    def int(self, name, low, high, log=False, step=1):
        value = self.hp.Int(name, low, high, step=step, sampling="log" if log else "linear")
        value = low + (min(max(int(value), low), high) - low) // step * step
        return self._keep(name, value, IntDistribution(low, high, log=log, step=step))

    def float(self, name, low, high, log=False):
        value = self.hp.Float(name, low, high, sampling="log" if log else "linear")
        return self._keep(name, min(max(float(value), low), high), FloatDistribution(low, high, log=log))

    def categorical(self, name, choices):
        value = self.hp.Choice(name, list(choices))
        # the space's own object: KerasTuner hands back a boolean choice as 0/1 when it replays a trial
        value = next((choice for choice in choices if choice == value), choices[0])
        return self._keep(name, value, CategoricalDistribution(list(choices)))


class EpochLog(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.logs: list[dict] = []

    def on_epoch_end(self, epoch, logs=None):
        self.logs.append({"epoch": epoch + 1, **{k: float(v) for k, v in (logs or {}).items()}})


class SpaceHyperModel:
    """Builds and fits the config a trial's hyperparameters stand for; remembers the last one."""

    def __init__(self, family, num_classes, max_epochs, space_kwargs, hyperband: bool):
        import keras_tuner

        class HyperModel(keras_tuner.HyperModel):
            def build(inner, hp):
                self.sampler = KerasTunerSampler(hp)
                self.config = space_of(family)(self.sampler, num_classes, max_epochs, **space_kwargs)
                return models.build(self.config)

            def fit(inner, hp, model, *args, **kwargs):
                self.epoch_log = EpochLog()
                kwargs["batch_size"] = self.config["batch_size"]
                if hyperband:  # Hyperband sets epochs itself, per bracket and round: that is the model found
                    self.config = {**self.config, "epochs": kwargs["epochs"]}
                    self.sampler.params["epochs"] = kwargs["epochs"]
                    self.sampler.distributions["epochs"] = IntDistribution(1, max(max_epochs, kwargs["epochs"]))
                else:
                    kwargs["epochs"] = self.config["epochs"]
                models.schedule(model, self.config, len(args[0] if args else kwargs["x"]), kwargs["epochs"] - kwargs.get("initial_epoch", 0))
                kwargs["callbacks"] = [*kwargs.get("callbacks", []), self.epoch_log]
                self.params_count = int(model.count_params())
                start = time.perf_counter()
                try:
                    return model.fit(*args, **kwargs)
                finally:
                    self.fit_seconds = time.perf_counter() - start

        self.hypermodel = HyperModel()
        self.sampler = self.config = self.epoch_log = None
        self.params_count, self.fit_seconds = 0, 0.0


def mirror_trial(study: optuna.Study, kt_trial, space: SpaceHyperModel, train_size: int) -> None:
    """Copy one finished KerasTuner trial into the Optuna study (once)."""
    trial_id = str(kt_trial.trial_id)
    if any(t.user_attrs.get("kerastuner_trial_id") == trial_id for t in study.get_trials(deepcopy=False)):
        return
    logs = space.epoch_log.logs if space.epoch_log else []
    epochs = len(logs)
    attrs = {
        "kerastuner_trial_id": trial_id, "engine": "kerastuner", "config": space.config,
        "params_count": space.params_count, "epochs_run": epochs, "fit_seconds": round(space.fit_seconds, 3),
        "images_per_second": round(train_size * epochs / space.fit_seconds, 1) if space.fit_seconds else 0.0,
        **worker_identity(), **device_record(), "worker_rss_mb": round(rss_bytes() / 2**20, 1),
    }
    if logs:
        attrs["val_loss"] = logs[-1].get("val_loss")
        attrs["history"] = {key: [log[key] for log in logs] for key in logs[0] if key != "epoch"}
    status = getattr(kt_trial, "status", "COMPLETED")
    ok = status == "COMPLETED" and logs and "val_accuracy" in logs[0]
    if not ok:
        attrs["fail_reason"] = f"KerasTuner trial {status}: {getattr(kt_trial, 'message', '') or 'no epochs'}"[:500]
    study.add_trial(optuna.trial.create_trial(
        state=TrialState.COMPLETE if ok else TrialState.FAIL,
        value=max(log["val_accuracy"] for log in logs) if ok else None,
        params=space.sampler.params if space.sampler else {},
        distributions=space.sampler.distributions if space.sampler else {},
        intermediate_values={log["epoch"]: log["val_accuracy"] for log in logs if "val_accuracy" in log},
        user_attrs=attrs,
    ))


@dataclass(frozen=True)
class SearchRun:
    """One process's share of a KerasTuner search: the mirrored study, the trial count it should
    hold, and when this process stops starting trials."""

    study: optuna.Study
    target: int
    on_mirror: Callable[[], None] | None = None  # called after each mirrored trial (progress lines)
    deadline: float | None = None  # time.time() after which no trial starts
    limit: int | None = None  # trials this process runs before a fresh process takes over

    def out_of_time(self) -> bool:
        return bool(self.deadline) and time.time() >= self.deadline

    def study_is_full(self) -> bool:
        return counts(self.study)["complete"] + counts(self.study)["fail"] >= self.target


def make_tuner(space: SpaceHyperModel, settings, train_size: int, run: SearchRun):
    """A KerasTuner tuner (the settings' `sampler` names it) that mirrors each trial into
    `run.study`; it stops starting trials at `run.deadline` or after `run.limit` trials in this
    process (then `stopped_at_limit` is set)."""
    import keras_tuner

    base = getattr(keras_tuner, TUNERS[settings.sampler])

    class MirroringTuner(base):
        ended_here = 0
        stopped_at_limit = False

        def on_trial_end(self, trial):
            super().on_trial_end(trial)
            mirror_trial(run.study, trial, space, train_size)
            release_memory()  # KerasTuner keeps models alive between trials otherwise
            if run.on_mirror:
                run.on_mirror()
            self.ended_here += 1
            out_of_time = run.out_of_time()
            self.stopped_at_limit = not out_of_time and bool(run.limit) and self.ended_here >= run.limit
            if out_of_time or self.stopped_at_limit:
                self.oracle.max_trials = len(self.oracle.trials)  # start no further trial

    options = {"hypermodel": space.hypermodel, "objective": keras_tuner.Objective("val_accuracy", "max"),
               "seed": settings.seed, "directory": str(STATE_DIR), "project_name": run.study.study_name,
               "overwrite": False, "max_consecutive_failed_trials": 10}
    if settings.sampler == "hyperband":
        tuner = MirroringTuner(max_epochs=settings.max_epochs, factor=3, hyperband_iterations=1000, **options)
    else:
        tuner = MirroringTuner(max_trials=run.target, **options)
    tuner.oracle.max_trials = run.target  # stop at the study's trial count, whatever the schedule
    return tuner


def run_kerastuner(settings, holdout, run: SearchRun) -> bool:
    """Search until the mirrored study holds `run.target` KerasTuner trials (resumes from state),
    with the tuner the settings' `sampler` names (tuning.engines.TUNERS).

    Returns False when it stopped after `run.limit` trials with the study unfinished: the caller then
    continues in a fresh process (KerasTuner saved its state at the end of every trial).
    """
    import warnings

    # Hyperband resumes a trial from its predecessor's weights; the optimizer state is new on purpose
    warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
    space = SpaceHyperModel(settings.model, settings.num_classes, settings.max_epochs,
                            settings.space_kwargs(), hyperband=settings.sampler == "hyperband")
    tuner = make_tuner(space, settings, len(holdout.train_labels), run)
    if run.study_is_full() or run.out_of_time():
        return True
    tuner.search(holdout.train_images, holdout.train_labels, validation_data=(holdout.val_images, holdout.val_labels),
                 epochs=settings.max_epochs, verbose=0)
    return run.study_is_full() or not tuner.stopped_at_limit


def work_kerastuner(joined, target: int, timeout: int | None = None, threads: int | None = None) -> None:
    """Run KerasTuner on `joined`'s study (settings.JoinedStudy) in this process until it mirrors
    `target` trials; like an Optuna worker, the process is replaced by a fresh one every few trials
    (KerasTuner leaks like any Keras loop)."""
    from tuning.backend import set_threads
    from tuning.workers.loop import deadline_from, recycle_process, trials_per_process

    set_threads(threads)
    study = joined.study
    reporter = Reporter(study, target)
    try:
        done = run_kerastuner(joined.settings, joined.holdout, SearchRun(
            study, target, on_mirror=reporter.poll, deadline=deadline_from(timeout), limit=trials_per_process()))
    finally:
        reporter.close()
    if not done:
        recycle_process()
