"""The objective: per trial, build the config the sampler chose, fit it with a per-epoch report to
the pruner, record what it cost, and return the best validation accuracy. Never sees the test set."""

from __future__ import annotations

import math
import os
import time
import warnings

import keras
import numpy as np
import optuna

import models
from tuning.backend import device_record
from tuning.errors import NotRun
from tuning.provenance import worker_identity
from tuning.settings import StudySettings, reports_per_epoch
from tuning.study.rungs import duplicate_climb, ladder
from tuning.trial.artifacts import Outcome, publish
from tuning.trial.feature_cache import FeatureCache
from tuning.trial.spaces import OptunaSampler, space_of
from tuning.trial.training import fit, predict_classes, release_memory, set_seed


def rss_bytes() -> int:
    """This process's resident memory now (Linux); 0 where /proc is not there."""
    try:
        with open("/proc/self/statm") as stream:
            return int(stream.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0


#: validation images a report within an epoch is measured on (a fixed random sample); the report at
#: an epoch's end uses all of validation
VAL_SAMPLE = 5_000


class ReportToTrial(keras.callbacks.Callback):
    """Reports validation accuracy to the trial `per_epoch` times an epoch: within the epoch on a fixed
    sample of validation (`val_sample`), at its end on all of it. Step k is the k-th report, so epoch
    e ends at step e x per_epoch. Stops a NaN loss or a pruned trial."""

    def __init__(self, trial: optuna.Trial, per_epoch: int = 1, val_sample=None):
        super().__init__()
        self.trial, self.epoch_logs = trial, []
        self.per_epoch, self.val_sample, self.reports = per_epoch, val_sample, 0

    @property
    def epochs(self) -> int | float:
        """Epochs trained, to the last report: whole where the trial ended at an epoch's end."""
        whole, part = divmod(self.reports, self.per_epoch)
        return whole if not part else round(self.reports / self.per_epoch, 2)

    def on_train_batch_end(self, batch, logs=None):
        steps, epoch = self.params.get("steps"), len(self.epoch_logs)
        within = self.reports - epoch * self.per_epoch  # reports made in this epoch so far
        if self.per_epoch > 1 and steps and within < self.per_epoch - 1 and (batch + 1) * self.per_epoch >= (within + 1) * steps:
            images, labels = self.val_sample
            accuracy = float(np.mean(predict_classes(self.model, images) == labels))
            self.report(accuracy, self.reports + 1, f"{within + 1}/{self.per_epoch} of epoch {epoch + 1}")

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        self.epoch_logs.append({key: float(value) for key, value in logs.items()})
        if not math.isfinite(logs.get("loss", math.nan)):
            raise FloatingPointError(f"loss became {logs.get('loss')} in epoch {epoch + 1}; lower the learning rate")
        self.report(float(logs["val_accuracy"]), (epoch + 1) * self.per_epoch, f"epoch {epoch + 1}")

    def report(self, accuracy: float, step: int, where: str) -> None:
        self.reports = step
        self.trial.report(accuracy, step=step)
        if self.trial.should_prune():
            raise optuna.TrialPruned(f"pruned after {where} at val accuracy {accuracy:.4f}")


def val_sample(holdout, per_epoch: int, size: int = VAL_SAMPLE):
    """(images, labels) of a fixed random sample of validation for reports within an epoch; None at one
    report an epoch."""
    if per_epoch == 1:
        return None
    count = len(holdout.val_labels)
    chosen = np.sort(np.random.default_rng(0).choice(count, min(size, count), replace=False))
    return holdout.val_images[chosen], holdout.val_labels[chosen]


class Objective:
    """Holds the worker's data (loaded once per process) and trains one model per call."""

    def __init__(self, settings: StudySettings, holdout, characters=None, artifact_store=None):
        self.family, self.holdout, self.num_classes = settings.model, holdout, settings.num_classes
        self.seed, self.space_kwargs = settings.seed, settings.space_kwargs()
        rungs = ladder(settings)
        self.rungs, self.first_rung = {rung.name: rung for rung in rungs}, rungs[0]
        self.reports_per_epoch = settings.reports_per_epoch
        self.characters = characters or [str(label) for label in range(self.num_classes)]
        self.artifact_store = artifact_store
        self.feature_cache = FeatureCache() if settings.feature_cache else None

    def __call__(self, trial: optuna.Trial) -> float:
        for key, value in {**worker_identity(), **device_record()}.items():
            trial.set_user_attr(key, value)
        rung = self.rung(trial)
        trial.set_user_attr("rung", rung.name)
        if duplicate_climb(trial, trial.study.get_trials(deepcopy=False)):
            trial.set_user_attr("fail_reason", "not run: another worker already queued this climb")
            raise NotRun()
        with warnings.catch_warnings():
            # a queued starting point may lie past this study's cost bound (tuning.settings.max_macs):
            # it runs as queued, which is what Optuna's warning would say on every such trial
            warnings.filterwarnings("ignore", message="Fixed parameter .* is out of range")
            # and a killed worker's retry of one holds a range widened to its value (RetryStaleTrial)
            warnings.filterwarnings("ignore", message="Inconsistent parameter values for distribution")
            config = space_of(self.family)(OptunaSampler(trial), self.num_classes, rung.epochs, **self.space_kwargs)
        config = trial.user_attrs.get("fixed_config", config)  # the original study's model, as it was
        trial.set_user_attr("config", config)
        set_seed(self.seed + trial.number)
        try:
            model, holdout = self.prepare(trial, config, rung.train_fraction)
            per_epoch = self.reports_per_epoch if holdout is self.holdout else reports_per_epoch(len(holdout.train_labels))
            report = ReportToTrial(trial, per_epoch, val_sample(holdout, per_epoch))
            start = time.perf_counter()
            try:
                fit(model, config, holdout, callbacks=[report])
            finally:
                self.record_cost(trial, time.perf_counter() - start, report.epochs, len(holdout.train_labels))
            logs = report.epoch_logs
            trial.set_user_attr("val_loss", logs[-1]["val_loss"])
            trial.set_user_attr("history", {key: [log[key] for log in logs] for key in logs[0]})
            self.publish(trial, Outcome(model, config, logs, pruned=False), holdout)
            return float(np.max([log["val_accuracy"] for log in logs]))
        except optuna.TrialPruned:
            self.publish(trial, Outcome(model, config, report.epoch_logs, pruned=True), holdout)
            raise
        except Exception as exc:
            trial.set_user_attr("fail_reason", f"{type(exc).__name__}: {exc}"[:500])
            raise
        finally:
            release_memory()
            trial.set_user_attr("worker_rss_mb", round(rss_bytes() / 2**20, 1))

    def rung(self, trial: optuna.Trial):
        """The rung this trial runs at: a climb's own, the trial rung for the original model (the
        reference), else the study's first rung."""
        if trial.user_attrs.get("baseline"):
            return self.rungs.get("trial", self.first_rung)
        name = trial.user_attrs.get("rung")
        return self.rungs[name] if name in self.rungs else self.first_rung

    def prepare(self, trial: optuna.Trial, config: dict, train_fraction: float = 1.0):
        """(model to fit, arrays to fit it on): the whole model on images, or, for a VGG16 head
        with a frozen base, only its trainable rest on the base's cached features; on a rung that
        trains on a share of the training images, on that share (the same for every trial)."""
        holdout = self.holdout if train_fraction >= 1 else probe_share(self.holdout, train_fraction, self.seed)
        if config["family"] == "vgg16" and self.feature_cache is not None:
            cached = self.feature_cache.cached_model(config, holdout)
            if isinstance(cached, str):
                trial.set_user_attr("feature_cache", f"off: {cached}")
            else:
                trial.set_user_attr("feature_cache", "on")
                trial.set_user_attr("feature_seconds", round(cached.seconds, 3))
                trial.set_user_attr("params_count", cached.count_params())
                return cached.rest, cached.holdout
        model = models.build(config)
        trial.set_user_attr("params_count", int(model.count_params()))
        return model, holdout

    def publish(self, trial, outcome: Outcome, holdout) -> None:
        """Artifacts for the dashboard; a failure here is noted, never fatal to the trial."""
        if self.artifact_store is None:
            return
        try:
            publish(trial, self.artifact_store, outcome, holdout, self.characters)
        except Exception as exc:  # plotting or artifact storage trouble must not lose the trial's result
            trial.set_user_attr("artifact_error", f"{type(exc).__name__}: {exc}"[:300])

    def record_cost(self, trial: optuna.Trial, seconds: float, epochs: int, train_images: int) -> None:
        trial.set_user_attr("epochs_run", epochs)
        trial.set_user_attr("train_images", train_images)
        trial.set_user_attr("fit_seconds", round(seconds, 3))
        if epochs and seconds > 0:
            trial.set_user_attr("images_per_second", round(train_images * epochs / seconds, 1))


def probe_share(holdout, fraction: float, seed: int):
    """`holdout` with a fixed seeded share of its training images (validation whole): a probe's data."""
    from dataclasses import replace

    count = len(holdout.train_labels)
    chosen = np.sort(np.random.default_rng(seed).choice(count, max(1, round(count * fraction)), replace=False))
    return replace(holdout, train_images=holdout.train_images[chosen], train_labels=holdout.train_labels[chosen])
