"""Which engine finds a better model sooner: Optuna vs KerasTuner on the same space and budget.

    python benchmarks/tuner_comparison.py [--split balanced] [--budget 1200] [--seeds 0,1] [--max-epochs 8]
        [--engines optuna-tpe-hyperband,kerastuner-hyperband,kerastuner-bayesian] [--no-retrain]

Up to four engines, each run for the same wall-clock budget per seed in a fresh folder (same data,
same search space, `tune start ... --timeout BUDGET`): Optuna TPE + Hyperband pruning, Optuna
random without pruning, KerasTuner Hyperband, KerasTuner Bayesian. Runs alternate engines within
each seed, so the machine's speed drift spreads over all of them. Time counts from launching
`tune start` (process start and data loading included); at the budget the process is terminated
(its running trial is recorded as failed). A finished run's folder is kept: a rerun fills in the rest. Reported per run: best
validation accuracy over wall time (PNG), time to first beat the original study's CNN on
validation (its accuracy measured as the Optuna runs' enqueued baseline trial), and the test
accuracy of the final best config retrained once (`tune benchmark --models tuned --seeds 1`).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
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


def tune(args: list[str], cwd: Path, stop_after: float | None = None) -> None:
    """Run `tune ARGS`; with `stop_after` seconds, terminate it then (its running trial is recorded as
    failed, exit 143), so every engine gets the same wall clock, not the budget plus one trial."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    process = subprocess.Popen([sys.executable, "-m", "tuning.cli", *args], cwd=cwd, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        _, err = process.communicate(timeout=stop_after)
    except subprocess.TimeoutExpired:
        process.terminate()
        _, err = process.communicate()
    if process.returncode not in (0, 143 if stop_after else 0):
        sys.exit(f"tune {' '.join(args)} failed (exit {process.returncode}) in {cwd}:\n{err[-3000:]}")


def load(name: str, folder: Path):
    import optuna

    return optuna.load_study(study_name=name, storage=f"sqlite:///{folder}/studies/optuna.db")


def complete_trials(name: str, folder: Path) -> list:
    from optuna.trial import TrialState

    return load(name, folder).get_trials(deepcopy=False, states=(TrialState.COMPLETE,))


def run(engine: str, seed: int, opts, out: Path) -> dict:
    folder = out / f"{engine}-seed{seed}"
    name = f"emnist-{opts.split}-cnn" + ("-kerastuner" if "kerastuner" in engine else "")
    finished = (folder / "begin.txt").exists() and ((folder / "report" / "benchmark.json").exists() or (folder / "none").exists()
                                                    or (not opts.retrain and (folder / "studies").exists()))
    if not finished:  # a run is kept once retrained: a rerun fills in the missing ones
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        common = ["--split", opts.split, "--model", "cnn", "--max-epochs", str(opts.max_epochs), "--seed", str(seed),
                  "--workers", "1", "--data-dir", opts.data_dir]  # one process each: KerasTuner runs in one
        # Optuna's naive local times; KerasTuner's mirrored trials carry no start time, so the clock is ours
        (folder / "begin.txt").write_text(datetime.datetime.now().isoformat())
        tune(["start", *common, "--trials", "10000", "--timeout", str(opts.budget), *ENGINES[engine]], folder,
             stop_after=opts.budget)
        if not complete_trials(name, folder):
            (folder / "none").write_text("no trial completed within the budget\n")
        elif opts.retrain:
            tune(["export", "--study", name, "--top", "1", "--out", str(folder / "best.json")], folder)
            tune(["benchmark", "--splits", opts.split, "--from", str(folder / "best.json"), "--models", "tuned",
                  "--seeds", "1", "--out", str(folder / "report"), "--data-dir", opts.data_dir], folder)
    begin = datetime.datetime.fromisoformat((folder / "begin.txt").read_text())
    study = load(name, folder)
    done = sorted((t for t in study.trials if t.datetime_complete), key=lambda t: t.datetime_complete)
    curve, best = [], 0.0
    for trial in done:  # the curve counts only the budget
        seconds = (trial.datetime_complete - begin).total_seconds()
        if seconds > opts.budget:
            break
        if trial.value is not None and trial.value > best:
            best = trial.value
        curve.append((seconds, best))
    baseline = next((t.value for t in study.trials if t.user_attrs.get("baseline")), None)
    report = folder / "report" / "benchmark.json"
    test = json.loads(report.read_text())[0]["test_accuracy"] if report.exists() else None
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
    parser.add_argument("--engines", default="optuna-tpe-hyperband,kerastuner-hyperband,kerastuner-bayesian",
                        help=f"comma list of {', '.join(ENGINES)}")
    parser.add_argument("--no-retrain", dest="retrain", action="store_false",
                        help="skip retraining each run's best on test (saves a fit per run)")
    opts = parser.parse_args()
    engines = opts.engines.split(",")
    out = Path(opts.out).resolve()
    seeds = [int(seed) for seed in opts.seeds.split(",")]
    results = [run(engine, seed, opts, out) for index, seed in enumerate(seeds)  # engine order reversed every other seed
               for engine in (engines if index % 2 == 0 else engines[::-1])]
    baselines = [r["baseline"] for r in results if r["baseline"] is not None]
    baseline = statistics.mean(baselines)
    (out / "results.json").write_text(json.dumps(results, indent=2, default=str))

    from tuning.plotting import pyplot, save

    figure, axis = pyplot().subplots(figsize=(9, 5))
    for index, engine in enumerate(engines):
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
        test = f"{r['test']:.4f}" if r["test"] is not None else ("no trial completed" if opts.retrain else "not retrained")
        rss = f"{r['rss_first_last'][0]:.0f} -> {r['rss_first_last'][1]:.0f}" if r["rss_first_last"] else "-"
        print(f"| {r['engine']} | {r['seed']} | {r['trials']} | {r['best']:.4f} | "
              f"{f'{beat:.0f} s' if beat is not None else 'never'} | {test} | {rss} |")
    print(summary(results, baseline, engines, opts.budget))
    print(f"plot: {out / 'best_so_far.png'}")


def summary(results: list[dict], baseline: float, engines: list[str], budget: int) -> str:
    """Median time to beat the original CNN per engine, and how often Optuna ends above every KerasTuner run."""
    lines = []
    for engine in engines:
        beats = [first_beat(r["curve"], baseline) for r in results if r["engine"] == engine]
        never = sum(beat is None for beat in beats)
        # a run that never beat it counts as the whole budget (a lower bound on its time)
        times = [beat if beat is not None else float(budget) for beat in beats]
        lines.append(f"{engine}: median time to beat the original CNN {statistics.median(times):.0f} s"
                     + (f" ({never} run(s) never did)" if never else ""))
    optuna_runs = {r["seed"]: r["best"] for r in results if r["engine"].startswith("optuna-tpe")}
    rivals = {seed: [r["best"] for r in results if r["engine"].startswith("kerastuner") and r["seed"] == seed]
              for seed in optuna_runs}
    compared = [seed for seed in optuna_runs if rivals[seed]]  # a seed without a KerasTuner run proves nothing
    above = sum(optuna_runs[seed] > max(rivals[seed]) for seed in compared)
    lines.append(f"Optuna TPE's final best above every KerasTuner run in {above} of {len(compared)} seeds"
                 + (f" ({len(optuna_runs) - len(compared)} seed(s) had no KerasTuner run)" if len(compared) < len(optuna_runs) else ""))
    return "\n".join(lines)


if __name__ == "__main__":
    main()
