"""Which engine finds a better model sooner: Optuna vs KerasTuner on the same space and budget.

    python benchmarks/tuner_comparison.py [--split balanced] [--budget 1200] [--seeds 0,1] [--max-epochs 8]

Four engines, each run for the same wall-clock budget per seed in a fresh folder (same data,
same search space, `tune start ... --timeout BUDGET`): Optuna TPE + Hyperband pruning, Optuna
random without pruning, KerasTuner Hyperband, KerasTuner Bayesian. Runs alternate engines within
each seed, so the machine's speed drift spreads over all of them. Time counts from launching
`tune start` (process start and data loading included) and stops at the budget. Reported per run: best
validation accuracy over wall time (PNG), time to first beat the original study's CNN on
validation (its accuracy measured as the Optuna runs' enqueued baseline trial), and the test
accuracy of the final best config retrained once (`tune benchmark --models tuned --seeds 1`).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

ENGINES = {
    "optuna-tpe-hyperband": ["--sampler", "tpe", "--pruner", "hyperband"],
    "optuna-random-nopruning": ["--sampler", "random", "--pruner", "none"],
    "kerastuner-hyperband": ["--engine", "kerastuner", "--tuner", "hyperband"],
    "kerastuner-bayesian": ["--engine", "kerastuner", "--tuner", "bayesian"],
}


def tune(args: list[str], cwd: Path) -> None:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, "-m", "tuning.cli", *args], cwd=cwd, env=env, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"tune {' '.join(args)} failed (exit {done.returncode}) in {cwd}:\n{done.stderr[-3000:]}")


def run(engine: str, seed: int, opts, out: Path) -> dict:
    import optuna

    folder = out / f"{engine}-seed{seed}"
    folder.mkdir(parents=True, exist_ok=True)
    common = ["--split", opts.split, "--model", "cnn", "--max-epochs", str(opts.max_epochs), "--seed", str(seed),
              "--workers", "1", "--data-dir", opts.data_dir]  # one process each: KerasTuner runs in one
    begin = datetime.datetime.now()  # Optuna's naive local times; KerasTuner's mirrored trials have no start time
    tune(["start", *common, "--trials", "10000", "--timeout", str(opts.budget), *ENGINES[engine]], folder)
    name = f"emnist-{opts.split}-cnn" + ("-kerastuner" if "kerastuner" in engine else "")
    study = optuna.load_study(study_name=name, storage=f"sqlite:///{folder}/studies/optuna.db")
    done = sorted((t for t in study.trials if t.datetime_complete), key=lambda t: t.datetime_complete)
    curve, best = [], 0.0
    for trial in done:  # a trial running at the deadline still finishes: the curve counts only the budget
        seconds = (trial.datetime_complete - begin).total_seconds()
        if seconds > opts.budget:
            break
        if trial.value is not None and trial.value > best:
            best = trial.value
        curve.append((seconds, best))
    baseline = next((t.value for t in study.trials if t.user_attrs.get("baseline")), None)
    tune(["export", "--study", name, "--top", "1", "--out", str(folder / "best.json")], folder)
    tune(["benchmark", "--splits", opts.split, "--from", str(folder / "best.json"), "--models", "tuned", "--seeds", "1",
          "--out", str(folder / "report"), "--data-dir", opts.data_dir], folder)
    test = json.loads((folder / "report" / "benchmark.json").read_text())[0]["test_accuracy"]
    rss = [t.user_attrs["worker_rss_mb"] for t in done if "worker_rss_mb" in t.user_attrs]
    return {"engine": engine, "seed": seed, "curve": curve, "best": best, "baseline": baseline, "test": test,
            "trials": len(curve), "rss_first_last": (rss[min(2, len(rss) - 1)], rss[-1]) if rss else None}


def first_beat(curve, baseline) -> float | None:
    return next((seconds for seconds, best in curve if best > baseline), None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="balanced")
    parser.add_argument("--budget", type=int, default=1200, help="seconds per engine and seed")
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--max-epochs", type=int, default=8)
    parser.add_argument("--out", default="reports/tuner_comparison")
    parser.add_argument("--data-dir", default=str(REPO.parent / "shared" / "emnist-dev"))
    opts = parser.parse_args()
    out = Path(opts.out).resolve()
    seeds = [int(seed) for seed in opts.seeds.split(",")]
    results = [run(engine, seed, opts, out) for index, seed in enumerate(seeds)  # engine order reversed every other seed
               for engine in (list(ENGINES) if index % 2 == 0 else list(ENGINES)[::-1])]
    baselines = [r["baseline"] for r in results if r["baseline"] is not None]
    baseline = statistics.mean(baselines)
    (out / "results.json").write_text(json.dumps(results, indent=2, default=str))

    from tuning.plotting import pyplot, save

    figure, axis = pyplot().subplots(figsize=(9, 5))
    for index, engine in enumerate(ENGINES):
        for r in (r for r in results if r["engine"] == engine):
            xs, ys = zip(*r["curve"]) if r["curve"] else ((), ())
            axis.step(xs, ys, where="post", color=f"C{index}", linestyle="-" if r["seed"] == 0 else "--",
                      label=f"{engine} seed {r['seed']}")
    axis.axhline(baseline, color="gray", linestyle=":", label=f"original CNN (val {baseline:.4f})")
    axis.set_xlabel("wall time, s")
    axis.set_ylabel("best validation accuracy so far")
    axis.set_title(f"{opts.split}: best-so-far per engine, {opts.budget} s budget each")
    axis.legend(fontsize=7)
    axis.grid(alpha=0.3)
    save(figure, out / "best_so_far.png")

    print(f"{opts.split}, budget {opts.budget} s per run, original CNN val accuracy {baseline:.4f} (baseline trials)")
    print("| engine | seed | trials | best val acc | first beats the original CNN after | test acc of best (retrained) | RSS trial 3 -> last MB |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for r in results:
        beat = first_beat(r["curve"], baseline)
        rss = f"{r['rss_first_last'][0]:.0f} -> {r['rss_first_last'][1]:.0f}" if r["rss_first_last"] else "-"
        print(f"| {r['engine']} | {r['seed']} | {r['trials']} | {r['best']:.4f} | "
              f"{f'{beat:.0f} s' if beat is not None else 'never'} | {r['test']:.4f} | {rss} |")
    print(f"plot: {out / 'best_so_far.png'}")


if __name__ == "__main__":
    main()
