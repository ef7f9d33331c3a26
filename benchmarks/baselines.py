"""Train the original study's baselines on one split and print test accuracy, fit time, images/s.

    python benchmarks/baselines.py --split mnist [--epochs 10] [--models cnn,mlp,vgg16] [--seed 0]
        [--data-dir ../shared/emnist-dev]

The VGG16 head needs ImageNet weights; without them (this machine is offline) it runs from random
init and the table says so. Numbers every tuned model is measured against.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.contract import Parser, choice_list, count, guarded, seed_int, split_name  # noqa: E402

from tuning._quiet import import_backend_quietly  # noqa: E402


def main() -> None:
    parser = Parser(prog="baselines.py", description=__doc__.splitlines()[0])
    parser.add_argument("--split", type=split_name, default="mnist")
    parser.add_argument("--epochs", type=count(100), default=10)
    parser.add_argument("--models", type=choice_list(("cnn", "mlp", "vgg16")), default=["cnn", "mlp", "vgg16"])
    parser.add_argument("--seed", type=seed_int, default=0)
    parser.add_argument("--data-dir", default=str(REPO.parent / "shared" / "emnist-dev"))
    args = parser.parse_args()
    import_backend_quietly()

    import models
    from data_pipeline import load_split, train_val_split
    from tuning.trial.training import fit, release_memory, set_seed, timed_evaluate

    data = load_split(args.split, args.data_dir)
    holdout = train_val_split(data)
    print(f"{args.split}: train {len(holdout.train_labels)}, val {len(holdout.val_labels)}, test {len(data.test_labels)}; "
          f"{args.epochs} epochs, batch 128, seed {args.seed}, {os.cpu_count()} CPUs")
    print("| model | params | fit s | train img/s | val acc | test acc | test eval s |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for family in args.models:
        config = models.baseline_config(family, args.split, data.split.num_classes, epochs=args.epochs)
        note = ""
        set_seed(args.seed)
        try:
            model = models.build(config)
        except models.WeightsUnavailable:
            model, note = models.build({**config, "weights": None}), " (random init: no ImageNet weights offline)"
        start = time.perf_counter()
        history = fit(model, config, holdout)
        fit_seconds = time.perf_counter() - start
        test_seconds, test_accuracy = timed_evaluate(model, data.test_images, data.test_labels)
        images_per_second = len(holdout.train_labels) * len(history.history["loss"]) / fit_seconds
        print(f"| {family}{note} | {model.count_params():,} | {fit_seconds:.1f} | {images_per_second:,.0f} | "
              f"{history.history['val_accuracy'][-1]:.4f} | {test_accuracy:.4f} | {test_seconds:.2f} |", flush=True)
        release_memory()


if __name__ == "__main__":
    guarded(main)
