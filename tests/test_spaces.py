import optuna
import pytest

from data_pipeline import SPLITS
from models import baseline_config, normalize, parse_config
from tuning.study.samplers import SAMPLERS, make_sampler, startup_trials
from tuning.families import FAMILIES
from tuning.trial.spaces import (CNN_MAX_MACS, OptunaSampler, baseline_params, cnn_macs, config_from_params,
                                  space_of)
from tuning.study.starting_points import known_good


def draws(family, sampler, n, num_classes=47, max_epochs=8):
    """n configs the sampler draws from the family's space (each told a value, so TPE can model)."""
    study = optuna.create_study(direction="maximize", sampler=sampler)
    configs = []
    for _ in range(n):
        trial = study.ask()
        config = space_of(family)(OptunaSampler(trial), num_classes, max_epochs)
        configs.append((trial, config))
        study.tell(trial, config["learning_rate"] * 100)  # any value that depends on the params
    return study, configs


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_every_sampled_point_is_a_valid_config_and_replays(family):
    _, configs = draws(family, optuna.samplers.RandomSampler(seed=1), 150)
    for trial, config in configs:
        parse_config(config)  # raises ConfigError on an impossible architecture
        assert config_from_params(family, trial.params, 47, 8) == config


def test_a_random_draw_has_no_dead_corner():
    """What made random trials sit at chance never comes out of the CNN space."""
    _, configs = draws("cnn", optuna.samplers.RandomSampler(seed=2), 300)
    for _, config in configs:
        assert config["optimizer"] in ("adam", "adamw") and 3e-4 <= config["learning_rate"] <= 4e-3
        assert not config["batch_norm"] or config["batch_norm_momentum"] == 0.9
        assert config["head"] == "flatten" or len(config["filters"]) >= 3  # global pooling only on a small map
        assert config["label_smoothing"] <= 0.1 and config["block_dropout"] <= 0.3
        assert cnn_macs(config["filters"], config["convs_per_block"], config["kernel_size"], config["padding"]) <= CNN_MAX_MACS
    assert {c["lr_schedule"] for _, c in configs} == {"warmup_cosine", "constant"}


def test_the_cost_bound_admits_the_original_big_cnn():
    big = baseline_config("cnn", "balanced", 47)
    assert cnn_macs(big["filters"], big["convs_per_block"], 3, "valid") <= CNN_MAX_MACS
    assert cnn_macs([64, 128, 256, 256], [2, 2, 2, 2], 5, "same") > CNN_MAX_MACS  # what the old space could draw


@pytest.mark.parametrize("family", sorted(FAMILIES))
@pytest.mark.parametrize("split", sorted(SPLITS))
def test_baseline_params_are_the_original_model_but_its_batch_norm_momentum(family, split):
    classes = SPLITS[split].num_classes
    config = config_from_params(family, baseline_params(family, split, classes), classes, 10)
    original = normalize(baseline_config(family, split, classes))
    assert {**config, "batch_norm_momentum": None} == {**original, "batch_norm_momentum": None} if family == "cnn" else config == original


def test_epochs_are_the_rungs_not_a_drawn_param():
    """A trial's schedule is its rung's (tuning.study.rungs): never drawn, and an `epochs` among older
    params (an export from before the rungs) does not override it."""
    study, configs = draws("cnn", optuna.samplers.RandomSampler(seed=4), 20, max_epochs=6)
    assert all("epochs" not in trial.params and config["epochs"] == 6 for trial, config in configs)
    trial, _ = configs[0]
    assert config_from_params("cnn", {**trial.params, "epochs": 2}, 47, 9)["epochs"] == 9


def test_replay_with_missing_param_names_it():
    with pytest.raises(KeyError, match="padding"):
        config_from_params("cnn", {}, 10, 4)


@pytest.mark.parametrize("fine_tune_blocks, expected", [(0, {0}), (2, {0, 1, 2})])
def test_vgg16_trains_conv_blocks_only_when_fine_tuning_is_asked_for(fine_tune_blocks, expected):
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=3))
    seen = set()
    for _ in range(30):
        trial = study.ask()
        config = space_of("vgg16")(OptunaSampler(trial), 10, 4, fine_tune_blocks=fine_tune_blocks)
        seen.add(config["trainable_blocks"])
        assert ("trainable_blocks" in trial.params) == bool(fine_tune_blocks)
        study.tell(trial, 0.5)
    assert seen == expected
    baseline = config_from_params("vgg16", baseline_params("vgg16", "mnist", 10), 10, 4, fine_tune_blocks=fine_tune_blocks)
    assert baseline["trainable_blocks"] == 0


def enqueued_points(family, max_epochs):
    return [baseline_params(family, "balanced", 47), *known_good(family, max_epochs)]


@pytest.mark.parametrize("family", sorted(FAMILIES))
@pytest.mark.parametrize("max_epochs", [1, 4, 10, 40])
def test_the_starting_points_lie_inside_the_space_for_any_epoch_budget(family, max_epochs, recwarn):
    study = optuna.create_study()
    for params in enqueued_points(family, max_epochs):
        study.enqueue_trial(params)
        trial = study.ask()
        config = space_of(family)(OptunaSampler(trial), 47, max_epochs)
        assert trial.params == {key: value for key, value in params.items() if key in trial.params}
        assert config_from_params(family, trial.params, 47, max_epochs) == config
        assert config["epochs"] == max_epochs
        study.tell(trial, 0.5)
    assert not [str(w.message) for w in recwarn if "out of range" in str(w.message)]


def test_known_good_configs_are_generic_and_strong_by_construction():
    for family in FAMILIES.values():
        assert 1 <= len(family.known_good) <= 2
        for params in family.known_good:
            assert params["lr_schedule"] == "warmup_cosine" and params["optimizer"] in ("adam", "adamw")
            assert "num_classes" not in params  # the same for every split


@pytest.mark.parametrize("name", sorted(SAMPLERS))
@pytest.mark.parametrize("family", ["cnn", "mlp"])
def test_every_sampler_runs_past_its_startup_trials_on_every_space(name, family, recwarn):
    target = 14
    study, configs = draws(family, make_sampler(name, seed=0, target=target), target)
    assert len(configs) == target > startup_trials(target)
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)
    assert len({c["learning_rate"] for _, c in configs}) == target  # it keeps proposing new points


@pytest.mark.parametrize("target, startup", [(12, 4), (20, 5), (24, 6), (100, 6), (10000, 6), (1, 4)])
def test_tpe_startup_trials_scale_with_the_budget(target, startup):
    assert startup_trials(target) == startup


def test_every_registered_family_carries_a_space_a_baseline_and_known_good_configs_models_can_build():
    """A family is registered once (tuning.families); what it carries must exist: a space whose draws
    and known-good points are configs of that family, a baseline, and a builder in `models`. Every
    KerasTuner strategy named is a keras_tuner class."""
    import keras_tuner
    import models
    from tuning.engines import TUNERS
    from tuning.families import MODELS

    assert MODELS == tuple(FAMILIES) and set(MODELS) < set(models.FAMILIES)  # models also builds ensembles
    for family in FAMILIES.values():
        assert family.baseline("mnist", 10)["family"] == family.name
        config = space_of(family.name)(OptunaSampler(optuna.create_study().ask()), 10, 2)
        assert config["family"] == family.name and models.parse_config(config)
        assert all(config_from_params(family.name, {**params, "epochs": 2}, 10, 2)["family"] == family.name
                   for params in family.known_good)
    assert all(issubclass(getattr(keras_tuner, name), keras_tuner.Tuner) for name in TUNERS.values())


def test_a_family_registered_twice_warns_and_an_unknown_one_is_refused():
    import models
    from models._registry import register

    config_class, builder = models.FAMILIES["mlp"]
    with pytest.warns(UserWarning, match="'mlp' registered twice"):
        register("mlp", config_class)(builder)
    assert models.FAMILIES["mlp"] == (config_class, builder)
    with pytest.raises(models.ConfigError, match="unknown model family 'rnn'"):
        models.build({"family": "rnn", "num_classes": 10})


BYCLASS_DEV = (99_705, 16_618)  # train and test images: byclass-dev's holdout is the last 16,618 of train
FULL_BYCLASS = (697_932, 116_323)  # the official release


@pytest.mark.parametrize("train, test, given, engine, expected", [
    (*BYCLASS_DEV, None, "optuna", (3, 3, 16)),  # byclass-dev: 83k training images after the holdout
    (8_570, 1_430, None, "optuna", (10, 1, 50)),  # mnist-dev: the original study's 10 epochs, one report an epoch
    (50_060, 8_345, None, "optuna", (6, 2, 15)),  # letters-dev
    (*FULL_BYCLASS, None, "optuna", (2, 23, 3)),  # the full byclass release
    (*BYCLASS_DEV, 7, "optuna", (7, 3, 6)),  # --max-epochs wins, and the bound follows it
    (*BYCLASS_DEV, None, "kerastuner", (3, 1, 16)),  # KerasTuner reports once an epoch
])
def test_the_epoch_budget_report_rate_and_cost_bound_follow_the_training_set(train, test, given, engine, expected):
    from types import SimpleNamespace

    import numpy as np

    from tuning.commands.preflight import sized_to_data
    from tuning.settings import StudySettings

    data = SimpleNamespace(train_labels=np.zeros(train), test_labels=np.zeros(test))
    args = SimpleNamespace(max_epochs=given)
    sized = sized_to_data(StudySettings("byclass", "cnn", engine=engine), args, data)
    bound = min(CNN_MAX_MACS, sized.max_macs) // 1_000_000  # millions of multiply-adds a conv stack may cost
    assert (sized.max_epochs, sized.reports_per_epoch, bound) == expected
    assert sized_to_data(StudySettings("byclass", "mlp"), args, data).space_kwargs() == {}


def test_the_max_epochs_help_states_the_budget_the_settings_give(capsys, monkeypatch):
    """`tune start --help` names the default epoch budget of byclass-dev and the full byclass: the
    figures must be the ones tuning.settings computes, not a budget from before it changed."""
    import re

    from tuning.cli import build_parser
    from tuning.settings import IMAGES_PER_TRIAL, default_max_epochs

    monkeypatch.setenv("COLUMNS", "1000")  # argparse wraps help to the terminal's width, even inside a word
    with pytest.raises(SystemExit):
        build_parser().parse_args(["start", "--help"])
    text = capsys.readouterr().out
    assert f"{IMAGES_PER_TRIAL // 1000}k images a trial" in text
    stated = {name: int(n) for name, n in re.findall(r"(byclass-dev|full byclass) (\d+)", text)}
    assert stated == {"byclass-dev": default_max_epochs(BYCLASS_DEV[0] - BYCLASS_DEV[1]),
                      "full byclass": default_max_epochs(FULL_BYCLASS[0] - FULL_BYCLASS[1])}


def test_a_bounded_study_draws_only_conv_stacks_within_its_bound():
    """The cost bound narrows the widths; a structure too deep for it even at the narrowest width
    stays drawable at 16 filters, so the check is on the width, and most draws are under the bound."""
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=3))
    costs = []
    for _ in range(200):
        config = space_of("cnn")(OptunaSampler(study.ask()), 62, 3, max_macs=16_000_000)
        costs.append(cnn_macs(config["filters"], config["convs_per_block"], config["kernel_size"], config["padding"]))
        if costs[-1] > 16_000_000:
            assert config["filters"][0] == 16
    assert sum(cost <= 16_000_000 for cost in costs) >= 0.9 * len(costs)
    assert max(costs) > 8_000_000  # the bound is a bound, not a shrunken space


def test_a_family_is_one_registration_and_an_unknown_one_is_named():
    """Its space and its baseline-as-params are looked up by the registration; an unknown family
    raises, naming those there are, instead of falling into another family's branch."""
    from tuning.errors import UserError
    from tuning.families import FAMILIES
    from tuning.trial.spaces import baseline_params, space_of

    for name, family in FAMILIES.items():
        assert space_of(name) is family.space_module().space and family.space_module().__name__.endswith(f".{name}")
        assert baseline_params(name, "mnist", 10)["batch_size"] >= 1
    with pytest.raises(UserError, match="unknown model family 'resnet'; choose one of cnn, mlp, vgg16"):
        space_of("resnet")
    with pytest.raises((UserError, Exception), match="resnet"):
        baseline_params("resnet", "mnist", 10)
