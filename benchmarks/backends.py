"""Training images/s of the original study's big CNN (and optionally a tuned config) per Keras backend.

    python benchmarks/backends.py [--split balanced] [--images 8192] [--repeats 3] [--backends tensorflow,jax]
                                  [--config studies/best/balanced-cnn.json] [--precision float32]

Each measurement is a fresh process with KERAS_BACKEND set (a backend is chosen at import), the
backends alternating A B A B ... so a slow phase of the machine hits each alike: one warm-up epoch
(compilation), then one timed epoch over the same uint8 images. Prints each run, the medians and
the ratio to the first backend. A backend that is not installed is reported and skipped.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.contract import Parser, check_split_files, choice_list, count, existing_file, guarded, split_name  # noqa: E402

MEASURE = """
import json, sys, time
import numpy as np
import keras
import models
from data_pipeline import get_split, load_split, train_val_split
from tuning.backend import device_record, set_precision

split, images, config_path, precision = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
set_precision(precision)
holdout = train_val_split(load_split(split))
x, y = holdout.train_images[:images], holdout.train_labels[:images]
if config_path:
    config = json.load(open(config_path))["trials"][0]["config"]
else:
    config = models.baseline_config("cnn", split, get_split(split).num_classes)
model = models.build(config)
batch = config.get("batch_size", 128)
model.fit(x, y, batch_size=batch, epochs=1, verbose=0)  # compile and warm up
start = time.perf_counter()
model.fit(x, y, batch_size=batch, epochs=1, verbose=0)
print(json.dumps({"images_per_second": len(x) / (time.perf_counter() - start), **device_record()}))
"""


def measure(backend: str, args) -> dict | None:
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
    if args.data_dir:
        env["EMNIST_DATA_DIR"] = args.data_dir
    result = subprocess.run([sys.executable, "-c", MEASURE, args.split, str(args.images), args.config or "", args.precision],
                            cwd=REPO, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        print(f"{backend}: failed: {result.stderr.strip().splitlines()[-1] if result.stderr.strip() else result.returncode}")
        return None
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = Parser(prog="backends.py", description=__doc__.splitlines()[0])
    parser.add_argument("--split", type=split_name, default="balanced")
    parser.add_argument("--images", type=count(200_000), default=8192)
    parser.add_argument("--repeats", type=count(100), default=3)
    parser.add_argument("--backends", type=choice_list(("tensorflow", "jax", "torch")), default=["tensorflow", "jax", "torch"])
    parser.add_argument("--config", type=existing_file, help="an exported config to time instead of the big CNN")
    parser.add_argument("--precision", default="float32", choices=("float32", "mixed"))
    parser.add_argument("--data-dir", default=str(REPO.parent / "shared" / "emnist-dev"))
    args = parser.parse_args()
    check_split_files(args.split, args.data_dir)
    if args.config:  # checked whole before the first child starts
        from tuning._quiet import import_backend_quietly

        import_backend_quietly()  # the check reads configs through models, which loads Keras
        from tuning.export import read_export

        read_export(args.config)
    import importlib.util

    backends = [name for name in args.backends if name == "tensorflow" or importlib.util.find_spec(name)]
    for name in sorted(set(args.backends) - set(backends)):
        print(f"{name}: not installed (pip install -e \".[{name}]\"), skipped")
    rates: dict[str, list[float]] = {name: [] for name in backends}
    for round_ in range(args.repeats):
        for name in backends if round_ % 2 == 0 else reversed(backends):
            record = measure(name, args)
            if record:
                rates[name].append(record["images_per_second"])
                print(f"round {round_}: {name:10s} {record['images_per_second']:8.0f} img/s  ({record['device']}, {record['precision']})")
    first = statistics.median(rates[backends[0]]) if rates[backends[0]] else None
    print(f"\nmedian images/s, {'tuned config' if args.config else 'big CNN'}, {args.split}, {args.images} images, {args.precision}:")
    for name, values in rates.items():
        if values:
            median = statistics.median(values)
            print(f"  {name:10s} {median:8.0f}" + (f"  ({median / first:.2f}x {backends[0]})" if first else ""))


if __name__ == "__main__":
    guarded(main)
