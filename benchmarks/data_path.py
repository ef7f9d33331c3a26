"""Which way to feed `fit`: uint8 arrays scaled in the graph, float32 arrays, or tf.data.

    python benchmarks/data_path.py [--split balanced] [--models cnn-small,mlp] [--repeats 3] [--epochs 2]

For each baseline model, within every repeat, in rotating order (this machine's speed drifts):
  uint8    NumPy uint8 arrays straight into `fit`; the model's Rescaling layer scales (our default)
  float32  NumPy float32 arrays pre-scaled to [0, 1] (the original study's way; 4x the memory)
  tf.data  data_pipeline.make_dataset on uint8: shuffle, batch, map, prefetch
Figure: training images per second over the whole fit (graph tracing included), median of repeats,
and each path's ratio to uint8.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.contract import Parser, check_split_files, choice_list, count, guarded, split_name  # noqa: E402

from tuning._quiet import import_backend_quietly  # noqa: E402

MODELS = {"cnn-small": ("cnn", "digits"), "cnn-big": ("cnn", "balanced"), "mlp": ("mlp", "balanced")}
PATHS = ("uint8", "float32", "tf.data")


def images_per_second(path: str, config: dict, holdout, epochs: int) -> float:
    import models
    from data_pipeline import make_dataset
    from tuning.trial.training import release_memory, set_seed

    batch = config["batch_size"]
    if path == "tf.data":
        inputs = {"x": make_dataset(holdout.train_images, holdout.train_labels, batch, shuffle_seed=0), "shuffle": False}
    elif path == "float32":
        inputs = {"x": (holdout.train_images / 255.0).astype("float32"), "y": holdout.train_labels,
                  "batch_size": batch}
    else:
        inputs = {"x": holdout.train_images, "y": holdout.train_labels, "batch_size": batch}
    set_seed(0)
    model = models.build(config)  # Rescaling in the graph: on [0,1] floats it costs the same op
    start = time.perf_counter()
    model.fit(**inputs, epochs=epochs, verbose=0)
    seconds = time.perf_counter() - start
    del model
    release_memory()
    return len(holdout.train_labels) * epochs / seconds


def main() -> None:
    parser = Parser(prog="data_path.py", description=__doc__.splitlines()[0])
    parser.add_argument("--split", type=split_name, default="balanced")
    parser.add_argument("--models", type=choice_list(MODELS), default=['cnn-small', 'mlp'])
    parser.add_argument("--repeats", type=count(100), default=3)
    parser.add_argument("--epochs", type=count(100), default=2)
    parser.add_argument("--data-dir", default=str(REPO.parent / "shared" / "emnist-dev"))
    args = parser.parse_args()
    check_split_files(args.split, args.data_dir)
    import_backend_quietly()
    import models
    from data_pipeline import get_split, load_split, train_val_split

    holdout = train_val_split(load_split(args.split, args.data_dir))
    classes = get_split(args.split).num_classes
    print(f"{args.split}: {len(holdout.train_labels)} training images, {args.epochs} epochs, {args.repeats} repeats")
    print("| model | " + " | ".join(f"{p} img/s" for p in PATHS) + " | float32 / uint8 | tf.data / uint8 |")
    print("|---|" + "---:|" * (len(PATHS) + 2))
    for name in args.models:
        family, baseline_split = MODELS[name]
        config = models.baseline_config(family, baseline_split, classes, epochs=args.epochs)
        rates: dict[str, list[float]] = {path: [] for path in PATHS}
        for repeat in range(args.repeats):
            order = PATHS[repeat % len(PATHS):] + PATHS[:repeat % len(PATHS)]  # rotate who goes first
            for path in order:
                rates[path].append(images_per_second(path, config, holdout, args.epochs))
        median = {path: statistics.median(values) for path, values in rates.items()}
        print(f"| {name} | " + " | ".join(f"{median[p]:,.0f}" for p in PATHS)
              + f" | {median['float32'] / median['uint8']:.2f} | {median['tf.data'] / median['uint8']:.2f} |",
              flush=True)


if __name__ == "__main__":
    guarded(main)
