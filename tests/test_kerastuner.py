"""KerasTuner over the same search spaces, mirrored into Optuna."""

import json

import keras_tuner
import optuna
import pytest
from optuna.distributions import IntDistribution
from optuna.trial import TrialState

import models
from tests.conftest import run_tune
from tuning.workers.kerastuner import KerasTunerSampler
from tuning.families import FAMILIES
from tuning.trial.spaces import config_from_params, space_of


def test_sampler_clamps_into_the_range_asked_now_and_records_it():
    hp = keras_tuner.HyperParameters()
    hp.Int("conv_blocks", 1, 4, default=4)
    sampler = KerasTunerSampler(hp)
    assert sampler.int("conv_blocks", 1, 3) == 3  # registered first with 1..4, asked now with 1..3
    assert sampler.distributions["conv_blocks"] == IntDistribution(1, 3)
    assert sampler.categorical("padding", ["same", "valid"]) == "same"
    assert set(sampler.params) == {"conv_blocks", "padding"}


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_every_space_gives_valid_configs_through_kerastuner_hyperparameters(family):
    # KerasTuner hands boolean choices back as 0/1; a config with augment=0 is refused by the models
    hp = keras_tuner.HyperParameters()
    for seed in range(30):
        sampler = KerasTunerSampler(hp)
        config = space_of(family)(sampler, 47, 4)
        models.parse_config(config)  # ConfigError on a value of the wrong type or range
        assert config == config_from_params(family, sampler.params, 47, 4)
        for registered in hp.space:  # KerasTuner's next draw: every name seen so far, at random
            hp.values[registered.name] = registered.random_sample(seed)


@pytest.mark.slow
@pytest.mark.parametrize("tuner", ["random", "hyperband", "bayesian"])
def test_kerastuner_trials_are_mirrored_resumable_and_exportable(tmp_path, data_dir, tuner):
    args = ["start", "--engine", "kerastuner", "--tuner", tuner, "--split", "mnist", "--model", "mlp",
            "--max-epochs", "2", "--data-dir", str(data_dir)]
    first = run_tune(*args, "--trials", "3", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "tensorboard" not in first.stderr.lower()  # keras-tuner's silent-failure trap (missing tensorboard)
    storage = f"sqlite:///{tmp_path / 'studies' / 'optuna.db'}"
    study = optuna.load_study(study_name="emnist-mnist-mlp-kerastuner", storage=storage)
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 3
    assert study.user_attrs["engine"] == "kerastuner" and study.user_attrs["sampler"] == tuner
    for trial in study.trials:
        assert trial.value == max(trial.intermediate_values.values())
        assert trial.user_attrs["config"] == config_from_params("mlp", trial.params, 10, 2)
        # the epochs the model found was trained for (Hyperband's own, per bracket), so export retrains it
        assert trial.user_attrs["config"]["epochs"] == max(trial.intermediate_values)
        assert {"fit_seconds", "epochs_run", "params_count", "images_per_second", "worker_rss_mb"} <= set(trial.user_attrs)
    assert (tmp_path / "studies" / "kerastuner" / "emnist-mnist-mlp-kerastuner").is_dir()

    again = run_tune(*args, "--trials", "4", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    study = optuna.load_study(study_name="emnist-mnist-mlp-kerastuner", storage=storage)
    assert len(study.trials) == 4
    assert len({t.user_attrs["kerastuner_trial_id"] for t in study.trials}) == 4
    if tuner != "hyperband":
        return  # the export reads the mirrored trials alike for every tuner; Hyperband's per-bracket epochs are the case to check

    out = tmp_path / "kt.json"
    assert run_tune("export", "--study", "emnist-mnist-mlp-kerastuner", "--out", str(out), cwd=tmp_path).returncode == 0
    document = json.loads(out.read_text())
    assert document["engine"] == "kerastuner"
    exported = document["trials"][0]
    found = study.trials[exported["number"]]
    assert exported["config"] == found.user_attrs["config"]
    assert models.build(exported["config"]).count_params() == found.user_attrs["params_count"]


@pytest.mark.slow
def test_kerastuner_process_is_recycled_every_k_trials_and_finishes(tmp_path, data_dir):
    """Like the Optuna workers, KerasTuner runs at most k trials per process (memory), resuming its own state."""
    result = run_tune("start", "--engine", "kerastuner", "--tuner", "random", "--split", "mnist", "--model", "mlp",
                      "--max-epochs", "1", "--trials", "5", "--data-dir", str(data_dir), cwd=tmp_path,
                      env={"TUNE_TRIALS_PER_PROCESS": "2"})
    assert result.returncode == 0, result.stderr
    numbers = [int(line.split()[1]) for line in result.stdout.splitlines() if line.startswith("trial ")]
    assert numbers == [0, 1, 2, 3, 4]  # each reported once, across three processes
    assert result.stdout.count("study emnist-mnist-mlp-kerastuner on") == 1
    study = optuna.load_study(study_name="emnist-mnist-mlp-kerastuner",
                              storage=f"sqlite:///{tmp_path / 'studies' / 'optuna.db'}")
    assert len({t.user_attrs["kerastuner_trial_id"] for t in study.trials}) == 5
    assert [t.user_attrs["process_run"] for t in study.trials] == [0, 0, 1, 1, 2]
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 5
