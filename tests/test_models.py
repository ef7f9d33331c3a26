import json

import keras
import numpy as np
import pytest

import models
from models import ConfigError, WeightsUnavailable, baseline_config, build, normalize


def synthetic_batch(num_classes, n=16, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), rng.integers(0, num_classes, n).astype(np.uint8)


def architecture(model):
    return [(type(layer).__name__, tuple(layer.output.shape)) for layer in model.layers], model.count_params()


@pytest.mark.parametrize(
    "config",
    [
        {"family": "cnn", "num_classes": 5, "filters": [8, 16, 16, 32, 32], "batch_norm": True, "head": "gap",
         "block_dropout": 0.1, "dense_units": [], "optimizer": "adamw", "weight_decay": 1e-4, "augment": True},
        {"family": "cnn", "num_classes": 5, "filters": [8], "convs_per_block": [2], "kernel_size": 5,
         "optimizer": "sgd", "label_smoothing": 0.1, "dense_units": [16, 8], "dense_dropout": 0.3},
        {"family": "mlp", "num_classes": 5, "units": [32, 16], "activation": "gelu"},
        {"family": "vgg16", "num_classes": 5, "weights": None, "trainable_blocks": 1, "head": "gap", "dense_units": [16], "dropout": 0.2},
        {"family": "vgg16", "num_classes": 5, "weights": None, "input_size": 40, "l2": 0.0},
    ],
    ids=["cnn-deep", "cnn-sgd-smooth", "mlp", "vgg16-pad", "vgg16-resize"],
)
def test_every_family_builds_and_trains_a_step(config):
    images, labels = synthetic_batch(5)
    model = build(config)
    before = [w.numpy().copy() for w in model.trainable_weights]
    history = model.fit(images, labels, batch_size=8, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert any(not np.array_equal(a, b.numpy()) for a, b in zip(before, model.trainable_weights))
    assert model.predict(images[:2], verbose=0).shape == (2, 5)


@pytest.mark.parametrize(
    "family, split, classes, params",
    [("cnn", "digits", 47, 235_055), ("cnn", "balanced", 47, 711_663), ("mlp", "balanced", 47, 688_687)],
)
def test_baseline_parameter_counts_match_the_architectures(family, split, classes, params):
    assert build(baseline_config(family, split, classes)).count_params() == params


def test_batch_norm_momentum_is_the_originals_in_baselines_and_faster_by_default():
    momenta = lambda model: {layer.momentum for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)}
    assert momenta(build(baseline_config("cnn", "balanced", 47))) == {0.99}  # the original study's model, as it was
    assert momenta(build({"family": "cnn", "num_classes": 5, "batch_norm": True})) == {0.9}
    with pytest.raises(ConfigError, match="batch_norm_momentum"):
        build({"family": "cnn", "num_classes": 5, "batch_norm": True, "batch_norm_momentum": 1.5})


def test_baselines_per_split_fix_the_original_faults():
    letters = build(baseline_config("cnn", "letters", 26))
    assert letters.output.shape[-1] == 26
    byclass = build(baseline_config("cnn", "byclass", 62))
    assert [layer.units for layer in byclass.layers if isinstance(layer, keras.layers.Dense)] == [128, 100, 62]
    assert "sparse_categorical_crossentropy" in byclass.loss.name  # not binary cross-entropy
    vgg = build(baseline_config("vgg16", "mnist", 10, weights=None))
    assert vgg.get_layer("vgg16") and not vgg.get_layer("vgg16").trainable_weights


@pytest.mark.parametrize("family, split", [("cnn", "balanced"), ("cnn", "byclass"), ("mlp", "mnist"), ("vgg16", "mnist")])
def test_config_round_trips_through_json_to_the_same_model(family, split):
    config = normalize(baseline_config(family, split, 47, weights=None) if family == "vgg16" else baseline_config(family, split, 47))
    again = json.loads(json.dumps(config))
    assert again == config
    keras.backend.clear_session()
    first = architecture(build(config))
    keras.backend.clear_session()
    assert architecture(build(again)) == first


def test_saved_model_reloads_with_custom_layers(tmp_path):
    config = {"family": "vgg16", "num_classes": 4, "weights": None, "label_smoothing": 0.1}
    model = build(config)
    images, _ = synthetic_batch(4, n=3)
    model.save(tmp_path / "m.keras")
    reloaded = keras.saving.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(model.predict(images, verbose=0), reloaded.predict(images, verbose=0), rtol=1e-5)


def test_augmentation_runs_in_training_only():
    model = build({"family": "cnn", "num_classes": 3, "filters": [4], "augment": True, "dense_units": []})
    images, _ = synthetic_batch(3, n=4)
    np.testing.assert_array_equal(model(images, training=False), model(images, training=False))
    assert not np.allclose(model(images, training=True), model(images, training=False))


def test_label_smoothing_loss_matches_categorical():
    loss = models.SparseSmoothedCrossentropy(3, 0.2)
    y_pred = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]], np.float32)
    expected = keras.losses.CategoricalCrossentropy(label_smoothing=0.2)(np.eye(3)[[0, 2]], y_pred)
    np.testing.assert_allclose(float(loss(np.array([0, 2]), y_pred)), float(expected), rtol=1e-6)


@pytest.mark.parametrize(
    "config, fragment",
    [
        ({"family": "cnn", "num_classes": 5, "fitlers": [8]}, "unknown key 'fitlers' (did you mean 'filters'?)"),
        ({"family": "cnn", "num_classes": 5, "filters": [8] * 6}, "filters=[8, 8, 8, 8, 8, 8] must be a list of 1..5"),
        ({"family": "cnn", "num_classes": 5, "kernel_size": 9}, "kernel_size=9 is out of range; allowed 1..7"),
        ({"family": "cnn", "num_classes": 5, "kernel_size": 2.5}, "must be a whole number"),
        ({"family": "cnn", "num_classes": 5, "padding": "valid", "filters": [8] * 4}, "shrink 28x28 to nothing"),
        ({"family": "cnn", "num_classes": 5, "filters": [8, 8], "convs_per_block": [1, 1, 1]}, "3 entries for 2 blocks"),
        ({"family": "mlp", "num_classes": 5, "activation": "sigmoidal"}, "activation='sigmoidal' is not allowed"),
        ({"family": "mlp", "num_classes": 5, "dropout": "0.2"}, "dropout='0.2' must be a number"),
        ({"family": "mlp", "num_classes": 5, "batch_norm": True}, "unknown key 'batch_norm'"),
        ({"family": "mlp"}, "num_classes is required"),
        ({"family": "rnn", "num_classes": 5}, "unknown model family 'rnn'"),
        ({"family": "vgg16", "num_classes": 5, "trainable_blocks": 6}, "trainable_blocks=6 is out of range"),
        ({"family": "cnn", "num_classes": 5, "learning_rate": 3}, "learning_rate=3 is out of range"),
        ({"family": "cnn", "num_classes": 5, "augment": "yes"}, "augment='yes' must be true or false"),
        ({"family": "ensemble", "num_classes": 5, "members": [{"family": "mlp", "num_classes": 5}]}, "a list of 2..10"),
        ({"family": "ensemble", "num_classes": 5, "members": [{"family": "mlp", "num_classes": 5},
                                                              {"family": "mlp", "num_classes": 4}]}, "member 1 has num_classes 4"),
        ({"family": "ensemble", "num_classes": 5, "members": [{"family": "mlp", "num_classes": 5},
                                                              {"family": "mlp", "num_classes": 5, "units": [0]}]}, "member 1: mlp"),
        ({"family": "ensemble", "num_classes": 5, "members": [{"family": "ensemble", "num_classes": 5}] * 2}, "ensemble itself"),
    ],
)
def test_bad_configs_say_what_is_wrong(config, fragment):
    with pytest.raises(ConfigError) as error:
        build(config)
    assert fragment in str(error.value)


def test_missing_imagenet_weights_name_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))

    def offline(*args, **kwargs):
        raise OSError("no network")

    monkeypatch.setattr(keras.utils, "get_file", offline)
    with pytest.raises(WeightsUnavailable, match=r"vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5 .* into .*/models/"):
        build({"family": "vgg16", "num_classes": 5})
    with pytest.raises(WeightsUnavailable, match="nope.h5 not found"):
        build({"family": "vgg16", "num_classes": 5, "weights_path": str(tmp_path / "nope.h5")})


def test_imagenet_weights_load_from_a_given_file(tmp_path):
    random_base = keras.applications.VGG16(include_top=False, weights=None, input_shape=(32, 32, 3))
    path = tmp_path / "vgg16_notop.weights.h5"
    random_base.save_weights(path)
    model = build({"family": "vgg16", "num_classes": 5, "weights_path": str(path)})
    np.testing.assert_array_equal(model.get_layer("vgg16").get_layer("block1_conv1").kernel.numpy(), random_base.get_layer("block1_conv1").kernel.numpy())


def test_the_random_base_is_one_fixed_seeded_file_on_every_machine(tmp_path, monkeypatch):
    """`weights: random` is the stand-in for ImageNet's base offline: drawn from a fixed seed, saved
    once, the same weights wherever it is made (another KERAS_HOME here), and not Keras' unseeded init."""
    from models.vgg16 import random_base_file

    kernels = []
    for home in ("a", "b"):
        monkeypatch.setenv("KERAS_HOME", str(tmp_path / home))
        path = random_base_file()
        assert path.startswith(str(tmp_path / home)) and random_base_file() == path
        model = build({"family": "vgg16", "num_classes": 5, "weights": "random"})
        kernels.append(model.get_layer("vgg16").get_layer("block5_conv3").kernel.numpy())
    np.testing.assert_array_equal(kernels[0], kernels[1])
    unseeded = keras.applications.VGG16(include_top=False, weights=None, input_shape=(32, 32, 3))
    assert not np.array_equal(unseeded.get_layer("block5_conv3").kernel.numpy(), kernels[0])
    assert 0.5 < kernels[0].std() / unseeded.get_layer("block5_conv3").kernel.numpy().std() < 2  # Keras' own scale


def test_warmup_cosine_rises_to_the_peak_then_decays_to_zero_at_the_last_step():
    config = {"family": "mlp", "num_classes": 5, "units": [16], "learning_rate": 0.01, "lr_schedule": "warmup_cosine",
              "batch_size": 8, "epochs": 3}
    images, labels = synthetic_batch(5, n=40)  # 5 steps an epoch, 15 in all, warm-up 1 step
    model = build(config)
    models.schedule(model, config, train_size=len(labels))
    rate = model.optimizer.learning_rate
    schedule = model.optimizer._learning_rate
    assert float(schedule(0)) == pytest.approx(0.0) and float(schedule(1)) == pytest.approx(0.01)
    assert 0.0 < float(schedule(8)) < 0.01
    model.fit(images, labels, batch_size=8, epochs=3, verbose=0)
    assert int(model.optimizer.iterations) == 15
    assert float(model.optimizer.learning_rate) == pytest.approx(0.0, abs=1e-9)
    assert float(rate) == pytest.approx(0.0)  # before training: the warm-up's start


def test_a_constant_rate_is_left_as_it_is():
    config = {"family": "mlp", "num_classes": 5, "units": [16], "learning_rate": 0.01, "batch_size": 8}
    model = build(config)
    models.schedule(model, config, train_size=40)
    assert float(model.optimizer.learning_rate) == pytest.approx(0.01)


@pytest.mark.parametrize("config", [
    {"family": "cnn", "num_classes": 10, "filters": [1024], "pooling": False, "padding": "same", "dense_units": [4096, 4096]},
    {"family": "mlp", "num_classes": 10, "units": [8192] * 6},
])
def test_a_model_too_big_for_the_machine_is_refused_before_it_is_built(config):
    with pytest.raises(ConfigError, match="over the limit of 100,000,000"):
        models.parse_config(config)


@pytest.mark.parametrize("family", ["cnn", "mlp"])
def test_the_size_estimate_matches_keras_for_the_baselines_and_drawn_configs(family):
    """The size limit is checked on an estimate, before a model is built: it must be the count Keras
    gets once the model exists, for the original models and for draws of the whole space."""
    import optuna

    from tuning.trial.spaces import OptunaSampler, space_of

    draws = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=3))
    configs = [baseline_config(family, split, 47) for split in ("balanced", "byclass", "mnist")]
    configs += [space_of(family)(OptunaSampler(draws.ask()), 47, 3) for _ in range(8)]
    for config in configs:
        assert models.parse_config(config).estimated_params() == build(config).count_params(), config


def test_an_ensemble_is_one_model_that_averages_its_members_softmax():
    members = [build({"family": "mlp", "num_classes": 5, "units": [16]}), build({"family": "cnn", "num_classes": 5, "filters": [8]})]
    ensemble = models.compile_ensemble(members, {"family": "ensemble", "num_classes": 5, "members": [
        {"family": "mlp", "num_classes": 5, "units": [16]}, {"family": "cnn", "num_classes": 5, "filters": [8]}]})
    images = np.random.default_rng(0).integers(0, 256, size=(6, 28, 28), dtype=np.uint8)
    expected = (np.asarray(members[0](images)) + np.asarray(members[1](images))) / 2
    np.testing.assert_allclose(np.asarray(ensemble(images)), expected, rtol=1e-5, atol=1e-6)
    assert ensemble.count_params() == sum(member.count_params() for member in members)
    config = {"family": "ensemble", "num_classes": 5, "members": [{"family": "mlp", "num_classes": 5}] * 2}
    assert normalize(config)["members"][0]["units"] == [512, 512]  # members normalised like any config
