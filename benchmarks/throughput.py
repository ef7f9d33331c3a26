"""Training throughput: plain `model.fit` on float32 arrays (the original study) vs a `tune` trial.

    python benchmarks/throughput.py [--split balanced] [--repeats 3] [--epochs 2] [--models cnn-small,cnn-big,mlp]

For each baseline model, alternating A and B within every repeat (this machine's speed drifts):
  A  plain: images / 255.0 as float32 NumPy, model.fit(batch 128), as the seed study did;
  B  trial: one Optuna trial through tuning.trial.objective.Objective on uint8 arrays (scaled in-graph),
     with its per-epoch report, artifacts and storage writes, on a SQLite study.
Throughput is training images per second over the whole fit (both include graph tracing); the
trial's overhead is its wall time outside `fit` as a share of the whole trial. Also measures the
machine's float32 matmul rate and each model's training FLOPs per image, for achieved / peak.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.contract import Parser, check_split_files, choice_list, count, guarded, split_name  # noqa: E402

from tuning._quiet import import_backend_quietly  # noqa: E402

MODELS = {"cnn-small": ("cnn", "digits"), "cnn-big": ("cnn", "balanced"), "mlp": ("mlp", "balanced")}


def matmul_gflops(size: int = 2048, repeats: int = 10) -> float:
    import tensorflow as tf

    a = tf.random.normal((size, size))
    b = tf.random.normal((size, size))
    tf.linalg.matmul(a, b).numpy()
    start = time.perf_counter()
    for _ in range(repeats):
        tf.linalg.matmul(a, b).numpy()
    return 2 * size**3 * repeats / (time.perf_counter() - start) / 1e9


def training_flops_per_image(model) -> float:
    """Forward multiply-adds of Conv2D and Dense layers x 2 FLOPs, x 3 for forward + backward."""
    import keras

    macs = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            out = layer.output.shape
            kh, kw = layer.kernel_size
            macs += out[1] * out[2] * out[3] * kh * kw * layer.input.shape[-1]
        elif isinstance(layer, keras.layers.Dense):
            macs += layer.input.shape[-1] * layer.units
    return 2 * macs * 3


def plain_fit(config, holdout, epochs) -> float:
    import models
    from tuning.trial.training import release_memory, set_seed

    train = (holdout.train_images / 255.0).astype("float32")  # the original study's data path
    val = (holdout.val_images / 255.0).astype("float32")
    set_seed(0)
    model = models.build(config)  # its Rescaling then sees [0,1] floats; cost is the same op count
    start = time.perf_counter()
    model.fit(train, holdout.train_labels, batch_size=128, epochs=epochs, validation_data=(val, holdout.val_labels),
              verbose=0)
    seconds = time.perf_counter() - start
    release_memory()
    return len(holdout.train_labels) * epochs / seconds


def trial_fit(family, baseline_split, split, holdout, epochs, folder) -> tuple[float, float]:
    import optuna

    from tuning.trial.artifacts import artifact_store
    from tuning.settings import StudySettings
    from tuning.trial.objective import Objective
    from tuning.trial.spaces import baseline_params
    from tuning.storage import open_storage

    from data_pipeline import get_split

    # the architecture is `baseline_split`'s (the small CNN is digits'), the classes the data's
    params = {**baseline_params(family, baseline_split, get_split(split).num_classes, epochs), "epochs": epochs}
    study = optuna.create_study(storage=open_storage(f"sqlite:///{folder}/t.db"), direction="maximize")
    study.enqueue_trial(params)
    objective = Objective(StudySettings(split, family, max_epochs=epochs), holdout, artifact_store=artifact_store())
    start = time.perf_counter()
    study.optimize(objective, n_trials=1)
    wall = time.perf_counter() - start
    trial = study.trials[-1]
    fit_seconds = trial.user_attrs["fit_seconds"]
    return trial.user_attrs["images_per_second"], (wall - fit_seconds) / wall


def main() -> None:
    parser = Parser(prog="throughput.py", description=__doc__.splitlines()[0])
    parser.add_argument("--split", type=split_name, default="balanced")
    parser.add_argument("--repeats", type=count(100), default=3)
    parser.add_argument("--epochs", type=count(100), default=2)
    parser.add_argument("--models", type=choice_list(MODELS), default=['cnn-small', 'cnn-big', 'mlp'])
    parser.add_argument("--data-dir", default=str(REPO.parent / "shared" / "emnist-dev"))
    args = parser.parse_args()
    check_split_files(args.split, args.data_dir)
    import_backend_quietly()
    import models
    from data_pipeline import get_split, load_split, train_val_split

    holdout = train_val_split(load_split(args.split, args.data_dir))
    peak = matmul_gflops()
    print(f"{args.split}: {len(holdout.train_labels)} training images; float32 matmul peak {peak:.0f} GFLOP/s")
    print("| model | plain fit img/s | trial img/s | trial / plain | trial overhead (share of wall) | "
          "GFLOP per image | achieved / peak |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    classes = get_split(args.split).num_classes
    with tempfile.TemporaryDirectory() as folder:
        for name in args.models:
            family, baseline_split = MODELS[name]
            config = models.baseline_config(family, baseline_split, classes, epochs=args.epochs)
            plain, trial, overhead = [], [], []
            for _ in range(args.repeats):  # alternate A and B
                plain.append(plain_fit(config, holdout, args.epochs))
                rate, share = trial_fit(family, baseline_split, args.split, holdout, args.epochs, folder)
                trial.append(rate)
                overhead.append(share)
            flops = training_flops_per_image(models.build(config)) / 1e9
            p, t = statistics.median(plain), statistics.median(trial)
            print(f"| {name} | {p:,.0f} | {t:,.0f} | {t / p:.2f} | {statistics.median(overhead):.1%} | "
                  f"{flops:.4f} | {t * flops / peak:.0%} |", flush=True)


if __name__ == "__main__":
    guarded(main)
