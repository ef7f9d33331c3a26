"""A transfer head on VGG16: gray 28x28 -> RGB 32x32 (or larger) -> VGG16 base -> dense head."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np
from keras import layers, ops

from models._compile import clear_session
from models._inputs import image_input
from models._config import ConfigError, TrainingConfig, choice, flag, number, numbers
from models.cnn import augmentation
from models._registry import register

WEIGHTS_FILE = "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"
WEIGHTS_URL = "https://storage.googleapis.com/tensorflow/keras-applications/vgg16/" + WEIGHTS_FILE
VGG_BGR_MEANS = (103.939, 116.779, 123.68)  # what keras.applications.vgg16.preprocess_input subtracts
#: `weights: random`: where ImageNet's weights cannot be had, one fixed base drawn from this seed
RANDOM_BASE_SEED = 0
RANDOM_BASE_FILE = f"vgg16-random-seed{RANDOM_BASE_SEED}-notop.weights.h5"


class WeightsUnavailable(ConfigError):
    """The ImageNet weights are neither cached nor downloadable; the message says where to put them."""


@dataclass(frozen=True, kw_only=True)
class VGG16Config(TrainingConfig):
    input_size: int = number(32, 32, 224)  # 32: pad 28 -> 32; larger: resize
    weights: str | None = choice("imagenet", "imagenet", "random", None)  # random: random_base_file()
    weights_path: str | None = field(default=None)
    trainable_blocks: int = number(0, 0, 5)  # the last k of VGG16's 5 conv blocks train
    head: str = choice("flatten", "flatten", "gap", "gmp")
    dense_units: tuple[int, ...] = numbers((), 8, 4096, 0, 2)
    dropout: float = number(0.0, 0.0, 0.8)
    l2: float = number(1e-3, 0.0, 1.0)
    augment: bool = flag(False)  # random translation, rotation and zoom before the base, in training only

    def __post_init__(self):
        super().__post_init__()
        if self.weights_path is not None and not isinstance(self.weights_path, str):
            raise ConfigError(f"vgg16 config: weights_path={self.weights_path!r} must be a file path or null")


@keras.saving.register_keras_serializable(package="emnist_tune")
class GrayToVGGInput(layers.Layer):
    """[0, 1] gray -> the BGR, mean-subtracted 0..255 input VGG16 was trained on."""

    def call(self, images):
        pixels = images * 255.0
        return ops.concatenate([pixels - mean for mean in VGG_BGR_MEANS], axis=-1)


def keras_models_dir() -> Path:
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "models"


def resolve_weights(config: VGG16Config) -> str | None:
    """The weights argument for keras.applications.VGG16: None, or a local .h5 path."""
    if config.weights is None:
        return None
    if config.weights == "random":
        return random_base_file()
    if config.weights_path:
        if not Path(config.weights_path).is_file():
            raise WeightsUnavailable(f"VGG16 weights file {config.weights_path} not found; fix weights_path or use weights: null")
        return config.weights_path
    cached = keras_models_dir() / WEIGHTS_FILE
    if cached.is_file():
        return str(cached)
    try:
        return keras.utils.get_file(WEIGHTS_FILE, WEIGHTS_URL, cache_subdir="models")
    except Exception:  # offline: any network error means the same thing to the user
        raise WeightsUnavailable(
            f"VGG16 ImageNet weights not found and not downloadable: put {WEIGHTS_FILE} (from {WEIGHTS_URL}) "
            f"into {cached.parent}/ or set weights_path, or use weights: null for random init"
        ) from None


def random_base_file() -> str:
    """A VGG16 base (no top) with Glorot-uniform kernels drawn by NumPy from RANDOM_BASE_SEED and zero
    biases (Keras' own initialisers, seeded), saved once beside the ImageNet file: the fixed base that
    stands in for ImageNet's where it cannot be had, so the feature cache, the trials and the
    benchmark all share one base. NumPy's generator makes the same file on every machine."""
    path = keras_models_dir() / RANDOM_BASE_FILE
    if path.is_file():
        return str(path)
    base = keras.applications.VGG16(include_top=False, weights=None, input_shape=(32, 32, 3))
    rng = np.random.default_rng(RANDOM_BASE_SEED)
    for layer in base.layers:
        if layer.weights:
            kernel, bias = layer.get_weights()
            receptive = int(np.prod(kernel.shape[:-2]))
            limit = np.sqrt(6.0 / (receptive * (kernel.shape[-2] + kernel.shape[-1])))
            layer.set_weights([rng.uniform(-limit, limit, kernel.shape).astype(kernel.dtype), np.zeros_like(bias)])
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{os.getpid()}.{RANDOM_BASE_FILE}")  # workers may race to make it: each renames its own
    base.save_weights(partial)
    os.replace(partial, path)
    return str(path)


def check_weights(config: VGG16Config) -> None:
    """Load the config's weights into the base once, so a wrong file fails now in one line (a
    WeightsUnavailable naming it) instead of failing every trial the same way."""
    path = resolve_weights(config)
    if path is None:
        return
    try:
        base_network(config, path)
    except Exception as exc:  # noqa: BLE001  (h5py, Keras and OS errors all mean: not these weights)
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
        raise WeightsUnavailable(f"{path} cannot be loaded into VGG16 without its top ({reason}); pass a VGG16 "
                                 f"no-top weights file such as {WEIGHTS_FILE}, or --weights none") from None
    finally:
        clear_session(free_memory=False)


def base_network(config: VGG16Config, weights: str | None) -> keras.Model:
    size = config.input_size
    base = keras.applications.VGG16(include_top=False, weights=weights, input_shape=(size, size, 3))
    trainable = {f"block{block}_" for block in range(6 - config.trainable_blocks, 6)}
    for layer in base.layers:
        layer.trainable = any(layer.name.startswith(prefix) for prefix in trainable)
    return base


def vgg_input(config: VGG16Config):
    """uint8 28x28 images -> (input, VGG-ready 3-channel tensor of input_size)."""
    images, x = image_input()
    x = layers.Reshape((28, 28, 1))(x)
    if config.augment:
        x = augmentation()(x)
    if config.input_size == 32:
        x = layers.ZeroPadding2D(2)(x)
    else:
        x = layers.Resizing(config.input_size, config.input_size)(x)
    return images, GrayToVGGInput(name="vgg_input")(x)


def vgg_head(x, config: VGG16Config):
    """Pooling and dense layers on VGG16 features -> class probabilities (layers named for transplants)."""
    pool = {"flatten": layers.Flatten, "gap": layers.GlobalAveragePooling2D, "gmp": layers.GlobalMaxPooling2D}
    x = pool[config.head](name="head_pool")(x)
    regularizer = keras.regularizers.L2(config.l2) if config.l2 else None
    for index, units in enumerate(config.dense_units, start=1):
        x = layers.Dense(units, activation="relu", kernel_regularizer=regularizer, name=f"head_dense{index}")(x)
        if config.dropout:
            x = layers.Dropout(config.dropout)(x)
    return layers.Dense(config.num_classes, activation="softmax", kernel_regularizer=regularizer, name="classes",
                        dtype="float32")(x)  # float32 outputs under mixed precision


#: The original study's VGG16 head on the frozen ImageNet base (shared/BASELINES.md).
ORIGINAL_HEAD = {"family": "vgg16", "input_size": 32, "weights": "imagenet", "trainable_blocks": 0, "head": "flatten",
                 "dense_units": [], "l2": 1e-3}


@register("vgg16", VGG16Config, baseline=lambda split: ORIGINAL_HEAD)
def build_vgg16(config: VGG16Config) -> keras.Model:
    images, x = vgg_input(config)
    x = base_network(config, resolve_weights(config))(x, training=False)  # BN-free, but keep base in inference mode
    return keras.Model(images, vgg_head(x, config), name="vgg16_head")


def frozen_layer_count(base: keras.Model, config: VGG16Config) -> int:
    """How many of the base's layers (after its input) sit in the frozen blocks 1..5-k."""
    frozen_blocks = {f"block{block}_" for block in range(1, 6 - config.trainable_blocks)}
    return sum(any(layer.name.startswith(prefix) for prefix in frozen_blocks) for layer in base.layers[1:])


def build_parts(config: VGG16Config) -> tuple[keras.Model, keras.Model]:
    """(frozen prefix: uint8 images -> features, trainable rest: features -> classes, uncompiled).

    The rest holds the last k conv blocks and the head under the same layer names as the full
    model, so `transplant` can move its trained weights into `build_vgg16(config)`.
    """
    base = base_network(config, resolve_weights(config))
    cut = frozen_layer_count(base, config)
    images, x = vgg_input(config)
    for layer in base.layers[1 : 1 + cut]:
        x = layer(x)
    prefix = keras.Model(images, x, name="vgg16_frozen_prefix")
    features = keras.Input(shape=tuple(x.shape[1:]), name="features")
    y = features
    for layer in base.layers[1 + cut :]:
        y = layer(y)
    return prefix, keras.Model(features, vgg_head(y, config), name="vgg16_trainable_rest")


def transplant(rest: keras.Model, full: keras.Model) -> keras.Model:
    """Copy the trained weights of `build_parts`' rest into a full model of the same config."""
    base = full.get_layer("vgg16")
    for layer in rest.layers:
        if layer.weights:
            target = base.get_layer(layer.name) if layer.name.startswith("block") else full.get_layer(layer.name)
            target.set_weights(layer.get_weights())
    return full
