"""`tune start / worker / status` as a user runs them, in a temporary folder with synthetic data."""

import csv
import json
from pathlib import Path

import optuna
import pytest

from data_pipeline.synthetic import write_split
from tests.conftest import assert_one_line_error, run_tune, snapshot


SHIPPED_MLP = Path(__file__).resolve().parents[1] / "studies" / "best" / "mnist-mlp.json"


def start(cwd, data_dir, *extra, trials=3):
    return run_tune("start", "--split", "mnist", "--model", "mlp", "--trials", str(trials), "--max-epochs", "2",
                    "--data-dir", str(data_dir), *extra, cwd=cwd)


def status(cwd, *extra):
    result = run_tune("status", "--json", *extra, cwd=cwd)
    assert result.returncode == 0, result.stderr
    return {row["study"]: row for row in json.loads(result.stdout)}


@pytest.mark.slow
def test_start_reports_trials_and_resume_continues_the_count(tmp_path, data_dir):
    first = start(tmp_path, data_dir, trials=3)
    assert first.returncode == 0, first.stderr
    lines = [line for line in first.stdout.splitlines() if line.startswith("trial ")]
    assert len(lines) == 3 and "[original study's model]" in lines[0]
    assert "tune export --split mnist --model mlp" in first.stdout and "tune dashboard" in first.stdout
    assert (tmp_path / "studies" / "optuna.db").exists()
    row = status(tmp_path)["emnist-mnist-mlp"]
    assert row["complete"] + row["pruned"] == 3 and row["split"] == "mnist"

    again = start(tmp_path, data_dir, trials=5)
    assert again.returncode == 0, again.stderr
    numbers = [int(line.split()[1]) for line in again.stdout.splitlines() if line.startswith("trial ")]
    assert numbers == [3, 4]
    row = status(tmp_path)["emnist-mnist-mlp"]
    assert row["complete"] + row["pruned"] == 5
    done = start(tmp_path, data_dir, trials=5)  # nothing left to do is no error
    assert done.returncode == 0 and not [line for line in done.stdout.splitlines() if line.startswith("trial ")]
    before = (tmp_path / "studies" / "optuna.db").read_bytes()
    for switches, named in ((("--max-epochs", "3"), "--max-epochs 3 (it holds 2)"), (("--seed", "4"), "--seed 4 (it holds 0)"),
                            (("--sampler", "random", "--no-starting-points"), "--sampler random (it holds tpe), --no-starting-points"),
                            (("--warm-start", str(SHIPPED_MLP)), "would be ignored; drop --warm-start"),
                            (("--study", "emnist-mnist-mlp", "--engine", "kerastuner", "--tuner", "bayesian"),
                             "--engine kerastuner (it holds optuna), --tuner bayesian (it holds tpe)")):
        # a switch the stored study contradicts would be ignored on resume: one line, the study untouched
        assert_one_line_error(start(tmp_path, data_dir, *switches, trials=9), named)
        assert (tmp_path / "studies" / "optuna.db").read_bytes() == before


@pytest.mark.slow
def test_worker_refuses_a_study_that_does_not_exist(tmp_path, data_dir):
    assert start(tmp_path, data_dir, trials=1).returncode == 0
    assert_one_line_error(run_tune("worker", "--study", "emnist-nope", cwd=tmp_path), "no study named 'emnist-nope'")


@pytest.mark.slow
@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--split", "nope"], "unknown split 'nope'"),
        (["--split", "mnist", "--model", "rnn"], "invalid choice: 'rnn'"),
        (["--split", "mnist", "--trials", "0"], "--trials: 0 is not allowed"),
        (["--split", "mnist", "--trials", "-3"], "--trials: -3 is not allowed"),
        (["--split", "mnist", "--trials", "abc"], "'abc' is not a whole number"),
        (["--split", "mnist", "--storage", "mongodb://x/y"], "scheme 'mongodb'"),
        (["--split", "mnist", "--study", "../evil"], "study name '../evil' may hold only"),
        (["--split", "mnist", "--train-fraction", "2"], "--train-fraction: 2.0 is not in (0, 1]"),
        (["--split", "mnist", "--data-dir", "missing-dir"], "does not exist"),
    ],
)
def test_bad_start_arguments_leave_no_study(tmp_path, data_dir, args, fragment):
    if "--data-dir" not in args:
        args = [*args, "--data-dir", str(data_dir)]
    assert_one_line_error(run_tune("start", *args, cwd=tmp_path), fragment)
    assert not (tmp_path / "studies").exists()


@pytest.mark.slow
def test_worker_process_is_recycled_every_k_trials_and_finishes_the_study(tmp_path, data_dir):
    result = run_tune("start", "--split", "mnist", "--model", "mlp", "--trials", "5", "--max-epochs", "1",
                      "--data-dir", str(data_dir), cwd=tmp_path, env={"TUNE_TRIALS_PER_PROCESS": "2"})
    assert result.returncode == 0, result.stderr
    numbers = [int(line.split()[1]) for line in result.stdout.splitlines() if line.startswith("trial ")]
    assert numbers == [0, 1, 2, 3, 4]  # each trial reported once, across three processes
    assert result.stdout.count("study emnist-mnist-mlp on") == 1 and result.stdout.count("best trial #") == 1
    workers = {row["study"]: row for row in json.loads(run_tune("status", "--json", cwd=tmp_path).stdout)}
    assert workers["emnist-mnist-mlp"]["complete"] + workers["emnist-mnist-mlp"]["pruned"] == 5
    trials = optuna.load_study(study_name="emnist-mnist-mlp", storage=f"sqlite:///{tmp_path}/studies/optuna.db").trials
    assert [t.user_attrs["process_run"] for t in trials] == [0, 0, 1, 1, 2]  # 2 trials a process, 3 processes
    assert len({t.user_attrs["worker"] for t in trials}) == 1  # execv: the same pid throughout


@pytest.mark.slow
def test_a_campaign_tunes_exports_and_benchmarks_and_a_rerun_resumes(tmp_path, one_study):
    from tests.conftest import copy_study

    folder = copy_study(one_study, tmp_path / "copy")  # its mnist-mlp study already holds 1 trial
    campaign = ["campaign", "--splits", "mnist", "--models", "mlp", "--trials", "2", "--max-epochs", "1", "--seeds", "1",
                "--benchmark-epochs", "1", "--weights", "none", "--data-dir", "emnist"]
    first = run_tune(*campaign, cwd=folder, timeout=600)
    assert first.returncode == 0, first.stderr
    assert "[1/1] mnist mlp: tune start" in first.stdout and "campaign done" in first.stdout
    rows = {row["model"] for row in csv.DictReader(open(folder / "reports" / "benchmark.csv"))}
    assert rows == {"tuned-mlp-final", "tuned-mlp-refit", "default-mlp-final", "default-mlp-refit",  # the default schedules
                    "baseline-cnn", "baseline-mlp", "baseline-vgg16"}
    trials = optuna.load_study(study_name="emnist-mnist-mlp", storage=f"sqlite:///{folder}/studies/optuna.db").trials
    assert len(trials) == 2  # resumed the study at its count, not a new one
    again = run_tune(*campaign, cwd=folder, timeout=600)
    assert again.returncode == 0, again.stderr
    assert again.stdout.count("kept from an earlier run") == 7  # tuned and default (final, refit), three baselines
    assert not [line for line in again.stdout.splitlines() if line.startswith("trial ")]  # no trial ran again


def test_a_campaign_runs_cheap_splits_first_each_warm_started_from_the_one_before():
    from tuning.commands.campaign import campaign_plan

    plan = campaign_plan("all", ["cnn", "mlp"])
    assert [split for split, family, _ in plan if family == "cnn"] == ["mnist", "digits", "balanced", "letters", "bymerge", "byclass"]
    assert plan[:4] == [("mnist", "cnn", None), ("mnist", "mlp", None),
                        ("digits", "cnn", "emnist-mnist-cnn"), ("digits", "mlp", "emnist-mnist-mlp")]
    assert campaign_plan("letters,mnist", ["cnn"]) == [("letters", "cnn", None), ("mnist", "cnn", "emnist-letters-cnn")]


def test_a_campaign_without_vgg16_weights_tunes_the_rest_and_says_why(monkeypatch):
    import models
    from tuning.commands.campaign import unavailable

    def offline(config):
        raise models.WeightsUnavailable("VGG16 ImageNet weights not found and not downloadable: put ...")

    monkeypatch.setattr(models, "vgg16_weights_file", offline)
    assert unavailable(["cnn", "mlp"], None) == {}
    assert "or --weights random" in unavailable(["cnn", "vgg16"], None)["vgg16"]
    monkeypatch.undo()
    assert unavailable(["vgg16"], "none") == {}  # random init needs no file


@pytest.mark.slow
@pytest.mark.parametrize("args, fragment", [
    (["--warm-start-top", "2"], "--warm-start-top does nothing without --warm-start"),
    (["--tuner", "random"], "--tuner does nothing with --engine optuna"),
    (["--engine", "kerastuner", "--sampler", "random"], "--sampler does nothing with --engine kerastuner"),
    (["--engine", "kerastuner", "--pruner", "median"], "--pruner does nothing with --engine kerastuner"),
])
def test_an_option_that_would_do_nothing_is_refused(tmp_path, data_dir, args, fragment):
    result = run_tune("start", "--split", "mnist", "--model", "mlp", *args, "--data-dir", str(data_dir), cwd=tmp_path)
    assert_one_line_error(result, fragment)
    assert not (tmp_path / "studies").exists()


@pytest.mark.slow
@pytest.mark.parametrize("args, fragment", [
    (["--data-dir", "{folder}/empty"], "emnist-mnist-train-images-idx3-ubyte.gz: missing"),
    (["--data-dir", "{folder}/emnist", "--storage", "postgresql+psycopg://nobody@127.0.0.1:1/x"], "cannot reach storage"),
])
def test_a_campaign_checks_data_and_storage_before_any_step(tmp_path, args, fragment):
    (tmp_path / "empty").mkdir()
    write_split(tmp_path / "emnist", "mnist", train_per_class=12, test_per_class=4)
    before = snapshot(tmp_path)
    result = run_tune("campaign", "--splits", "mnist", "--models", "mlp", "--trials", "1",
                      *[a.replace("{folder}", str(tmp_path)) for a in args], cwd=tmp_path)
    assert_one_line_error(result, fragment)
    assert "tune start" not in result.stdout
    assert snapshot(tmp_path) == before and not (tmp_path / "studies").exists()
