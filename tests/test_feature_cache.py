"""VGG16 feature cache: the same model as without it, computed once, rebuilt when damaged."""

import keras
import numpy as np
import optuna
import pytest

import models
from data_pipeline import load_split, train_val_split
from data_pipeline import cache_dir
from tuning.workers.loop import run_trials
from tuning.trial.feature_cache import FeatureCache
from tuning.settings import StudySettings
from tuning.trial.objective import Objective


@pytest.fixture(scope="module")
def weights_file(tmp_path_factory):
    """A fixed VGG16 base (random, seeded) saved as a weights file: ImageNet's stand-in offline."""
    keras.utils.set_random_seed(7)
    path = tmp_path_factory.mktemp("weights") / "vgg16_notop.weights.h5"
    keras.applications.VGG16(include_top=False, weights=None, input_shape=(32, 32, 3)).save_weights(path)
    return str(path)


@pytest.fixture
def holdout(data_dir):
    return train_val_split(load_split("mnist", data_dir))


def config(weights_file, **extra):
    return models.normalize({"family": "vgg16", "num_classes": 10, "weights_path": weights_file, "trainable_blocks": 1,
                             "dense_units": [32], "epochs": 2, "batch_size": 16, **extra})


@pytest.mark.parametrize("trainable_blocks", [0, 1])
def test_trained_rest_in_the_full_model_gives_the_cached_accuracy(weights_file, holdout, trainable_blocks):
    cfg = config(weights_file, trainable_blocks=trainable_blocks)
    cached = FeatureCache().cached_model(cfg, holdout)
    rest, features = cached.rest, cached.holdout
    rest.fit(features.train_images, features.train_labels, epochs=2, batch_size=16, verbose=0)
    _, cached_accuracy = rest.evaluate(features.val_images, features.val_labels, verbose=0)
    full = models.vgg16.transplant(rest, models.build(cfg))  # what export + models.build give a user
    _, full_accuracy = full.evaluate(holdout.val_images, holdout.val_labels, verbose=0)
    assert full_accuracy == pytest.approx(cached_accuracy, abs=0.026)  # float16 features: one image of 40 at most
    agreement = np.mean(np.argmax(full.predict(holdout.val_images, verbose=0), 1)
                        == np.argmax(rest.predict(features.val_images, verbose=0), 1))
    assert agreement >= 0.97


def test_features_are_computed_once_and_a_damaged_cache_is_rebuilt(weights_file, holdout):
    params = {"trainable_blocks": 0, "head": "flatten", "dense_layers": 0, "dropout": 0.0, "l2": 1e-4,
              "optimizer": "adam", "learning_rate": 1e-3, "lr_schedule": "constant", "batch_size": 64, "epochs": 1}
    study = optuna.create_study(direction="maximize")
    for _ in range(2):
        study.enqueue_trial(params)
    objective = Objective(StudySettings("mnist", "vgg16", max_epochs=1, vgg_weights=weights_file), holdout)
    run_trials(study, objective, target=2)
    first, second = study.trials
    assert first.user_attrs["feature_cache"] == second.user_attrs["feature_cache"] == "on"
    assert first.user_attrs["feature_seconds"] > 0 and second.user_attrs["feature_seconds"] == 0
    cached = sorted((cache_dir() / "features").glob("*.npy"))
    assert len(cached) == 2  # train and validation features
    raw = bytearray(cached[0].read_bytes())
    raw[-7] ^= 0xFF
    cached[0].write_bytes(bytes(raw))
    study.enqueue_trial(params)
    run_trials(study, objective, target=3)
    assert study.trials[2].user_attrs["feature_seconds"] > 0  # recomputed, not trusted
    assert study.trials[2].state == optuna.trial.TrialState.COMPLETE


PARAMS = {"trainable_blocks": 0, "head": "gap", "dense_layers": 0, "dropout": 0.0, "l2": 1e-4,
          "optimizer": "adam", "learning_rate": 1e-3, "lr_schedule": "constant", "batch_size": 64, "epochs": 1}


def one_trial(objective) -> dict:
    study = optuna.create_study(direction="maximize")
    study.enqueue_trial(PARAMS)
    run_trials(study, objective, target=1)
    return study.trials[0].user_attrs


def test_cache_is_off_with_augmentation(weights_file, holdout, monkeypatch):
    from tuning.trial.spaces import vgg16

    space = vgg16.space  # the vgg16 family's space, looked up through its registration (tuning.families)
    monkeypatch.setattr(vgg16, "space", lambda *args, **kwargs: {**space(*args, **kwargs), "augment": True})
    objective = Objective(StudySettings("mnist", "vgg16", max_epochs=1, vgg_weights=weights_file), holdout)
    assert one_trial(objective)["feature_cache"].startswith("off: augmentation runs before the frozen base")


def test_cache_is_off_with_random_init(holdout):
    objective = Objective(StudySettings("mnist", "vgg16", max_epochs=1, vgg_weights=None), holdout)
    assert one_trial(objective)["feature_cache"].startswith("off: random init")


@pytest.mark.slow
def test_a_vgg16_study_on_the_fixed_random_base_runs_with_the_cache_on(tmp_path, data_dir):
    """`tune start --weights random` makes the base before the first trial (checking it builds a model,
    which once fixed TensorFlow's thread pools before the worker could set them: every such study
    stopped at start), then trains the head on cached features."""
    from tests.conftest import run_tune

    result = run_tune("start", "--split", "mnist", "--model", "vgg16", "--weights", "random", "--trials", "1",
                      "--max-epochs", "1", "--data-dir", str(data_dir), cwd=tmp_path, env={"KERAS_HOME": str(tmp_path / "keras")})
    assert result.returncode == 0, result.stderr
    trial = optuna.load_study(study_name="emnist-mnist-vgg16", storage=f"sqlite:///{tmp_path}/studies/optuna.db").trials[0]
    assert trial.state == optuna.trial.TrialState.COMPLETE and trial.user_attrs["feature_cache"] == "on"
    assert (tmp_path / "keras" / "models" / "vgg16-random-seed0-notop.weights.h5").is_file()
