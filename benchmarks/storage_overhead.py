"""Per-trial bookkeeping cost of each storage, with a trivial objective (no training).

    python benchmarks/storage_overhead.py [--trials 200] [--postgres postgresql+psycopg://postgres@127.0.0.1/postgres]

A trial here does what a `tune` trial does with its storage, minus the model: it is created,
samples 12 params, reports 8 epochs, sets 8 user attributes, and is told its value, all through
the same RDBStorage settings (heartbeats on) that `tune` uses. SQLite and PostgreSQL are
measured alternately in rounds, since this machine's speed drifts. Prints ms per trial.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.contract import Parser, count, guarded, postgres_admin  # noqa: E402

import optuna  # noqa: E402

from tuning.storage import open_storage  # noqa: E402


def objective(trial: optuna.Trial) -> float:
    value = sum(trial.suggest_float(f"x{i}", 0, 1) for i in range(12))
    for epoch in range(1, 9):
        trial.report(value / epoch, step=epoch)
    for key in ("config", "worker", "params_count", "epochs_run", "fit_seconds", "images_per_second", "val_loss", "history"):
        trial.set_user_attr(key, {"a": [0.1] * 8} if key == "history" else 1)
    return value


def per_trial_ms(storage, trials: int) -> float:
    study = optuna.create_study(storage=storage, study_name=f"overhead-{uuid.uuid4().hex[:8]}", direction="maximize",
                                sampler=optuna.samplers.RandomSampler(seed=0))
    start = time.perf_counter()
    study.optimize(objective, n_trials=trials)
    return (time.perf_counter() - start) / trials * 1000


def main() -> None:
    parser = Parser(prog="storage_overhead.py", description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=count(100_000), default=100)
    parser.add_argument("--rounds", type=count(100), default=3)
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    database = f"tune_overhead_{uuid.uuid4().hex[:8]}"
    admin = postgres_admin(args.postgres)
    admin.execute(f'CREATE DATABASE "{database}"')
    try:
        with tempfile.TemporaryDirectory() as folder:
            storages = {
                "sqlite": open_storage(f"sqlite:///{folder}/optuna.db"),
                "postgresql": open_storage(args.postgres.rsplit("/", 1)[0] + f"/{database}"),
                "in-memory (no storage)": optuna.storages.InMemoryStorage(),
            }
            times = {name: [] for name in storages}
            for _ in range(args.rounds):
                for name, storage in storages.items():
                    times[name].append(per_trial_ms(storage, args.trials))
            storages["postgresql"].engine.dispose()
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    print(f"{args.trials} trials x {args.rounds} rounds, 12 params, 8 reports, 8 user attrs per trial")
    print("| storage | ms per trial (median) | min | max |")
    print("|---|---:|---:|---:|")
    for name, values in times.items():
        print(f"| {name} | {statistics.median(values):.1f} | {min(values):.1f} | {max(values):.1f} |")


if __name__ == "__main__":
    guarded(main)
