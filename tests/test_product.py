"""What the product is for, checked where it can fail: the shipped configs, the samplers and pruners a
user picks on the command line, reproducible seeds, the storage settings that keep workers from
failing, and the rule that tuning never reads a test image."""

import json
import sqlite3
from pathlib import Path

import numpy as np
import optuna
import pytest

import models
from data_pipeline import SPLITS, load_split, train_val_split
from tests.conftest import REPO, run_tune

SHIPPED = sorted((REPO / "studies" / "best").glob("*.json"))


@pytest.mark.parametrize("path", SHIPPED, ids=[path.name for path in SHIPPED])
def test_every_shipped_config_reads_back_and_builds_for_its_split(path):
    from tuning.export import read_export

    document = read_export(path)
    split = SPLITS[document["split"]]
    config = document["trials"][0]["config"]
    parts = config["members"] if config["family"] == "ensemble" else [config]  # an ensemble: its members
    assert config["num_classes"] == split.num_classes and {part["family"] for part in parts} == {document["model"]}
    if config["family"] == "vgg16":  # building it would load weights that cannot be had here
        assert models.parse_config(config).num_classes == split.num_classes
    else:
        assert models.build(config).output_shape == (None, split.num_classes)


def sampled_study(folder: Path, data_dir, *extra: str) -> optuna.Study:
    # 6 trials: TPE's and CMA-ES's 4 start-up draws, one of their own, and the final rung's climb
    result = run_tune("start", "--split", "mnist", "--model", "mlp", "--trials", "6", "--max-epochs", "1",
                      "--no-reference", "--no-starting-points", "--data-dir", str(data_dir), *extra, cwd=folder)
    assert result.returncode == 0, result.stderr
    study = optuna.load_study(study_name="emnist-mnist-mlp", storage=f"sqlite:///{folder}/studies/optuna.db")
    return study


@pytest.mark.slow
def test_the_same_seed_draws_the_same_trials_and_another_seed_does_not(tmp_path, data_dir):
    runs = {}
    for name, seed in (("a", "3"), ("b", "3"), ("c", "4")):
        (tmp_path / name).mkdir()
        runs[name] = [t.params for t in sampled_study(tmp_path / name, data_dir, "--seed", seed).trials]
    assert runs["a"] == runs["b"] and len(runs["a"]) == 6
    assert runs["a"] != runs["c"]


@pytest.mark.slow
@pytest.mark.parametrize("sampler, pruner", [("cmaes", "median"), ("random", "none")])
def test_the_sampler_and_pruner_named_on_the_command_line_are_the_ones_that_run(tmp_path, data_dir, sampler, pruner):
    from tuning.settings import StudySettings
    from tuning.study.lifecycle import configure

    study = sampled_study(tmp_path, data_dir, "--sampler", sampler, "--pruner", pruner)
    assert (study.user_attrs["sampler"], study.user_attrs["pruner"]) == (sampler, pruner)
    attached = configure(study, StudySettings.from_attrs(study.user_attrs, study.study_name))
    expected = {"cmaes": optuna.samplers.CmaEsSampler, "random": optuna.samplers.RandomSampler}[sampler]
    assert type(attached.sampler) is expected
    inner = getattr(attached.pruner, "inner", attached.pruner)
    assert type(inner) is {"median": optuna.pruners.MedianPruner, "none": optuna.pruners.NopPruner}[pruner]
    if sampler == "cmaes":  # past its start-up trials CMA-ES itself proposed (it records its generation)
        assert any(key.startswith("cma:") for t in study.trials for key in t.system_attrs), \
            [t.system_attrs for t in study.trials]


@pytest.mark.slow
def test_warm_start_from_an_export_queues_its_best_configs_first(tmp_path, data_dir):
    common = ["--split", "mnist", "--model", "mlp", "--max-epochs", "1", "--pruner", "none", "--data-dir", str(data_dir)]
    for args in (["start", *common, "--trials", "2"], ["export", "--split", "mnist", "--model", "mlp", "--out", "best.json"]):
        result = run_tune(*args, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
    exported = [t["params"] for t in json.loads((tmp_path / "best.json").read_text())["trials"] if not t["baseline"]]
    result = run_tune("start", *common, "--study", "warm", "--trials", "2", "--warm-start", "best.json",
                      "--warm-start-top", "1", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    trials = optuna.load_study(study_name="warm", storage=f"sqlite:///{tmp_path}/studies/optuna.db").trials
    assert trials[0].user_attrs.get("baseline") and trials[1].user_attrs.get("starting_point") == "warm start"
    assert trials[1].params == exported[0]
    assert [t.user_attrs.get("starting_point") for t in trials[2:3]] != ["warm start"]  # --warm-start-top 1: one queued


def test_sqlite_storage_runs_in_wal_mode_with_a_long_busy_timeout(tmp_path):
    from tuning.storage import open_storage

    storage = open_storage(f"sqlite:///{tmp_path}/s.db")
    with storage.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 60_000
    storage.engine.dispose()
    with sqlite3.connect(tmp_path / "s.db") as connection:  # WAL is kept in the file, for every later client
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


class TestImages(np.ndarray):
    """A test set whose size may be read (the holdout rule) but whose images and labels may not."""

    def __getitem__(self, item):
        raise AssertionError("a test image or label was read while tuning")

    def __array_ufunc__(self, *args, **kwargs):
        raise AssertionError("a test image or label was read while tuning")

    def __array__(self, *args, **kwargs):
        raise AssertionError("a test image or label was read while tuning")


def test_a_trial_never_reads_a_test_image(data_dir):
    from dataclasses import replace

    from tuning.settings import StudySettings
    from tuning.study.starting_points import known_good
    from tuning.trial.objective import Objective

    data = load_split("mnist", data_dir)
    guarded = replace(data, test_images=np.empty((len(data.test_labels), 28, 28), np.uint8).view(TestImages),
                      test_labels=np.empty(len(data.test_labels), np.uint8).view(TestImages))
    holdout = train_val_split(guarded, train_fraction=0.5, seed=1)
    assert len(holdout.val_labels) == len(data.test_labels)  # the original rule: the last len(test) of train
    assert len(holdout.train_labels) == pytest.approx((len(data.train_labels) - len(data.test_labels)) / 2, abs=10)
    np.testing.assert_array_equal(holdout.val_images, data.train_images[-len(data.test_labels):])
    study = optuna.create_study(direction="maximize")
    study.enqueue_trial(known_good("mlp", max_epochs=1)[0])
    study.optimize(Objective(StudySettings("mnist", "mlp", max_epochs=1), holdout), n_trials=1)
    assert study.trials[0].state == optuna.trial.TrialState.COMPLETE, study.trials[0].user_attrs.get("fail_reason")
