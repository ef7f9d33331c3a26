"""Trials per hour on one machine: 1 worker x all threads vs one worker per core x 1 thread.

    python benchmarks/parallelism.py [--split mnist] [--model cnn] [--trials 9] [--repeats 2]

Every run tunes the same fixed small study through the real `tune start` command: a fresh SQLite
study holding the split's baseline and `trials - 1` queued trials drawn once from the search space
(random sampler, seed 0), 2 epochs on half the training images, no pruning. So both layouts train
exactly the same models, and only the layout differs. Layouts alternate within every repeat (this
machine's speed drifts); the figure is finished trials per hour of `tune start`'s wall time,
process start and data loading included.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.contract import Parser, check_split_files, count, family_name, guarded, split_name  # noqa: E402
TUNE = [sys.executable, "-m", "tuning.cli"]
EPOCHS = 2


def fixed_params(model: str, num_classes: int, count: int) -> list[dict]:
    """`count` points of the search space, the same on every call."""
    import optuna

    from tuning.trial.spaces import OptunaSampler, space_of

    draw = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    params = []
    for _ in range(count):
        trial = draw.ask()
        space_of(model)(OptunaSampler(trial), num_classes, EPOCHS)
        params.append(trial.params)
        draw.tell(trial, 0.0)
    return params


def run_study(args, workers: int, threads: int, folder: str, queued: list[dict]) -> float:
    """Create the study (baseline trial), queue the fixed trials, then time `tune start` finishing them."""
    import optuna

    storage = f"sqlite:///{folder}/optuna.db"
    common = ["--split", args.split, "--model", args.model, "--sampler", "random", "--pruner", "none", "--seed", "0",
              "--max-epochs", str(EPOCHS), "--train-fraction", "0.5", "--storage", storage, "--data-dir", args.data_dir]
    env = {**os.environ, "TUNE_ARTIFACTS": f"{folder}/artifacts", "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3"}
    subprocess.run([*TUNE, "start", *common, "--trials", "1"], cwd=folder, env=env, check=True, stdout=subprocess.DEVNULL)
    from tuning.settings import study_name

    study = optuna.load_study(study_name=study_name(args.split, args.model), storage=storage)
    for params in queued:
        study.enqueue_trial(params)
    start = time.perf_counter()
    subprocess.run([*TUNE, "start", *common, "--trials", str(args.trials), "--workers", str(workers),
                    "--threads", str(threads)], cwd=folder, env=env, check=True, stdout=subprocess.DEVNULL)
    return (args.trials - 1) / (time.perf_counter() - start) * 3600


def main() -> None:
    parser = Parser(prog="parallelism.py", description=__doc__.splitlines()[0])
    parser.add_argument("--split", type=split_name, default="mnist")
    parser.add_argument("--model", type=family_name, default="cnn")
    parser.add_argument("--trials", type=count(1000, low=2), default=9, help="the baseline plus trials-1 fixed, timed trials")
    parser.add_argument("--repeats", type=count(100), default=2)
    parser.add_argument("--data-dir", default=str(REPO.parent / "shared" / "emnist-dev"))
    args = parser.parse_args()
    check_split_files(args.split, args.data_dir)
    from data_pipeline import get_split

    queued = fixed_params(args.model, get_split(args.split).num_classes, args.trials - 1)
    cores = os.cpu_count() or 1
    layouts = [(1, cores), (cores, 1)]
    rates: dict[tuple[int, int], list[float]] = {layout: [] for layout in layouts}
    for repeat in range(args.repeats):
        order = layouts if repeat % 2 == 0 else layouts[::-1]  # alternate which layout goes first
        for workers, threads in order:
            with tempfile.TemporaryDirectory() as folder:
                rate = run_study(args, workers, threads, folder, queued)
            rates[(workers, threads)].append(rate)
            print(f"repeat {repeat}: {workers} worker(s) x {threads} thread(s): {rate:.0f} trials/hour", flush=True)
    print(f"\n{args.split} {args.model}, the same {args.trials - 1} timed trials per run, {cores} cores")
    print("| layout | trials/hour (median) | runs |")
    print("|---|---:|---|")
    for (workers, threads), values in rates.items():
        print(f"| {workers} worker(s) x {threads} thread(s) | {statistics.median(values):.0f} | "
              f"{', '.join(f'{v:.0f}' for v in values)} |")
    one, many = (statistics.median(rates[layout]) for layout in layouts)
    print(f"{cores} workers x 1 thread / 1 worker x {cores} threads: {many / one:.2f}")


if __name__ == "__main__":
    guarded(main)
