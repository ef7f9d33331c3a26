"""Trials per hour on one machine: 1 worker x all threads vs one worker per core x 1 thread.

    python benchmarks/parallelism.py [--split mnist] [--model cnn] [--trials 8] [--repeats 2]

Runs the same fixed small study (random sampler, seeded, no pruning, `--max-epochs 2`,
`--train-fraction 0.5`) through the real `tune start` command, once per layout, alternating the
layouts within every repeat (this machine's speed drifts). Each run is a fresh SQLite study in a
temporary folder; the figure is finished trials per hour of wall time, process start included.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TUNE = [sys.executable, "-m", "tuning.cli"]


def run_study(args, workers: int, threads: int, folder: str) -> float:
    command = [*TUNE, "start", "--split", args.split, "--model", args.model, "--trials", str(args.trials),
               "--sampler", "random", "--pruner", "none", "--seed", "0", "--max-epochs", "2",
               "--train-fraction", "0.5", "--workers", str(workers), "--threads", str(threads),
               "--storage", f"sqlite:///{folder}/optuna.db", "--data-dir", args.data_dir]
    env = {**os.environ, "TUNE_ARTIFACTS": f"{folder}/artifacts", "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3"}
    start = time.perf_counter()
    subprocess.run(command, cwd=folder, env=env, check=True, stdout=subprocess.DEVNULL)
    return args.trials / (time.perf_counter() - start) * 3600


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="mnist")
    parser.add_argument("--model", default="cnn")
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--data-dir", default=str(REPO.parent / "shared" / "emnist-dev"))
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    layouts = [(1, cores), (cores, 1)]
    rates: dict[tuple[int, int], list[float]] = {layout: [] for layout in layouts}
    for repeat in range(args.repeats):
        order = layouts if repeat % 2 == 0 else layouts[::-1]  # alternate which layout goes first
        for workers, threads in order:
            with tempfile.TemporaryDirectory() as folder:
                rate = run_study(args, workers, threads, folder)
            rates[(workers, threads)].append(rate)
            print(f"repeat {repeat}: {workers} worker(s) x {threads} thread(s): {rate:.0f} trials/hour", flush=True)
    print(f"\n{args.split} {args.model}, {args.trials} trials, {cores} cores")
    print("| layout | trials/hour (median) | runs |")
    print("|---|---:|---|")
    for (workers, threads), values in rates.items():
        print(f"| {workers} worker(s) x {threads} thread(s) | {statistics.median(values):.0f} | "
              f"{', '.join(f'{v:.0f}' for v in values)} |")
    one, many = (statistics.median(rates[layout]) for layout in layouts)
    print(f"{cores} workers x 1 thread / 1 worker x {cores} threads: {many / one:.2f}")


if __name__ == "__main__":
    main()
