"""A VGG16-head study with and without the feature cache, in one run: time, share, accuracy.

    python benchmarks/vgg16_cache.py [--split mnist] [--trials 5] [--max-epochs 4] [--weights FILE]
                                     [--fine-tune-blocks K]

Both studies run the same seeded trials (the same sampler seed gives the same params) through
`tune start` in fresh folders with fresh caches, one after the other: the expected gap (5x and
more) dwarfs this machine's 2x speed drift, which is why one pass is enough here. Without
internet there are no ImageNet weights: the script then saves a seeded random VGG16 base as a
weights file and both studies use it (the cache needs fixed weights), and says so.
Goal: the cached study takes at most a fifth of the uncached one's time, same accuracy.
The default study tunes the head on the frozen base, as `tune start --model vgg16` does; with
--fine-tune-blocks K its trials may also train the last 0..K conv blocks, whose forward and
backward passes every epoch no cache can save.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.contract import Parser, check_split_files, count, existing_file, guarded, split_name  # noqa: E402


def make_weights(folder: Path) -> str:
    from tuning._quiet import import_backend_quietly

    import_backend_quietly()
    import keras

    keras.utils.set_random_seed(0)
    path = folder / "vgg16-random-seed0.weights.h5"
    keras.applications.VGG16(include_top=False, weights=None, input_shape=(32, 32, 3)).save_weights(path)
    return str(path)


def run_study(cache: str, args, weights: str, folder: Path) -> dict:
    import optuna

    work = folder / f"cache-{cache}"
    work.mkdir()
    env = {**os.environ, "EMNIST_CACHE_DIR": str(work / "cache"), "TF_CPP_MIN_LOG_LEVEL": "3"}
    # warm the image-array cache first, so both studies pay the same (zero) data cost
    subprocess.run([sys.executable, "-m", "tuning.cli", "data", "info", "--split", args.split, "--data-dir", args.data_dir],
                   cwd=work, env=env, check=True, capture_output=True)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "tuning.cli", "start", "--split", args.split, "--model", "vgg16",
                    "--trials", str(args.trials), "--max-epochs", str(args.max_epochs), "--pruner", "none",
                    "--weights", weights, "--feature-cache", cache, "--fine-tune-blocks", str(args.fine_tune_blocks),
                    "--data-dir", args.data_dir],
                   cwd=work, env=env, check=True, capture_output=True)
    wall = time.perf_counter() - start
    from tuning.settings import study_name

    study = optuna.load_study(study_name=study_name(args.split, "vgg16"), storage=f"sqlite:///{work}/studies/optuna.db")
    complete = [t for t in study.trials if t.value is not None]
    return {
        "wall": wall,
        "feature_seconds": sum(t.user_attrs.get("feature_seconds", 0.0) for t in study.trials),
        "fit_seconds": sum(t.user_attrs.get("fit_seconds", 0.0) for t in study.trials),
        "best": max(t.value for t in complete),
        "values": [round(t.value, 4) for t in complete],
        "trainable_blocks": [t.user_attrs["config"]["trainable_blocks"] for t in complete],
    }


def main() -> None:
    parser = Parser(prog="vgg16_cache.py", description=__doc__.splitlines()[0])
    parser.add_argument("--split", type=split_name, default="mnist")
    parser.add_argument("--trials", type=count(1000), default=5)
    parser.add_argument("--max-epochs", type=count(100), default=4)
    parser.add_argument("--fine-tune-blocks", type=count(5, low=0), default=0, help="trials may train the last 0..K conv blocks")
    parser.add_argument("--weights", type=existing_file, help="a VGG16 no-top weights file (default: ImageNet from the Keras cache)")
    parser.add_argument("--data-dir", default=str(REPO.parent / "shared" / "emnist-dev"))
    args = parser.parse_args()
    check_split_files(args.split, args.data_dir)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        weights = args.weights
        if weights is None:
            cached = Path.home() / ".keras" / "models" / "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"
            weights = str(cached) if cached.exists() else make_weights(folder)
            if not cached.exists():
                print("no ImageNet weights offline: both studies use one seeded random VGG16 base (a weights file)")
        results = {cache: run_study(cache, args, weights, folder) for cache in ("on", "off")}
    on, off = results["on"], results["off"]
    print(f"{args.split}, VGG16 head, {args.trials} trials x up to {args.max_epochs} epochs, no pruning, same seeds; "
          f"trainable conv blocks per trial {on['trainable_blocks']}")
    print("| feature cache | wall s | computing features s (share) | fitting s | best val acc | trial values |")
    print("|---|---:|---:|---:|---:|---|")
    for name, r in results.items():
        print(f"| {name} | {r['wall']:.0f} | {r['feature_seconds']:.1f} ({r['feature_seconds'] / r['wall']:.0%}) | "
              f"{r['fit_seconds']:.0f} | {r['best']:.4f} | {r['values']} |")
    ratio = on["wall"] / off["wall"]
    print(f"cached / uncached wall time: {ratio:.3f} (goal <= 0.2: {'met' if ratio <= 0.2 else 'MISSED'}); "
          f"best val accuracy {on['best']:.4f} vs {off['best']:.4f}")


if __name__ == "__main__":
    guarded(main)
