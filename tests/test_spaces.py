import optuna
import pytest

from models import baseline_config, normalize, parse_config
from data_pipeline import SPLITS
from tuning.spaces import SPACES, OptunaSampler, baseline_params, config_from_params


@pytest.mark.parametrize("family", sorted(SPACES))
def test_every_sampled_point_is_a_valid_config_and_replays(family):
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    for _ in range(150):
        trial = study.ask()
        config = SPACES[family](OptunaSampler(trial), 47, 8)
        parse_config(config)  # raises ConfigError on an impossible architecture
        assert config_from_params(family, trial.params, 47, 8) == config
        study.tell(trial, 0.5)


@pytest.mark.parametrize("family", sorted(SPACES))
@pytest.mark.parametrize("split", sorted(SPLITS))
def test_baseline_params_yield_the_original_model(family, split):
    classes = SPLITS[split].num_classes
    config = config_from_params(family, baseline_params(family, split, classes, 10), classes, 10)
    assert config == normalize(baseline_config(family, split, classes))


def test_baseline_epochs_are_capped_by_the_study_budget():
    assert baseline_params("cnn", "mnist", 10, 4)["epochs"] == 4


def test_replay_with_missing_param_names_it():
    with pytest.raises(KeyError, match="padding"):
        config_from_params("cnn", {}, 10, 4)


@pytest.mark.parametrize("fine_tune_blocks, expected", [(0, {0}), (2, {0, 1, 2})])
def test_vgg16_trains_conv_blocks_only_when_fine_tuning_is_asked_for(fine_tune_blocks, expected):
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=3))
    seen = set()
    for _ in range(30):
        trial = study.ask()
        config = SPACES["vgg16"](OptunaSampler(trial), 10, 4, fine_tune_blocks=fine_tune_blocks)
        seen.add(config["trainable_blocks"])
        assert ("trainable_blocks" in trial.params) == bool(fine_tune_blocks)
        study.tell(trial, 0.5)
    assert seen == expected
    baseline = config_from_params("vgg16", baseline_params("vgg16", "mnist", 10, 4), 10, 4, fine_tune_blocks=fine_tune_blocks)
    assert baseline["trainable_blocks"] == 0


@pytest.mark.parametrize("family", sorted(SPACES))
@pytest.mark.parametrize("max_epochs", [4, 10, 40])
def test_the_baseline_lies_inside_the_space_for_any_epoch_budget(family, max_epochs, recwarn):
    study = optuna.create_study()
    study.enqueue_trial(baseline_params(family, "balanced", 47, max_epochs))
    SPACES[family](OptunaSampler(study.ask()), 47, max_epochs)
    assert not [str(w.message) for w in recwarn if "out of range" in str(w.message)]
