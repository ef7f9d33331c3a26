"""Which search engine finds a better model sooner: ours (Optuna) vs KerasTuner, same space, same clock.

    python benchmarks/tuner_comparison.py [--split balanced] [--budget 600] [--seeds 0,1,2] [--max-epochs 8]
        [--engines optuna,optuna-cold,kerastuner-hyperband,kerastuner-bayesian] [--no-retrain]

The target is the original study's CNN: its validation accuracy is measured once per split and seed
(`tune start --trials 1` in a folder of its own: trial 0 is that model), outside every engine's
clock. Then every engine runs `tune start ... --timeout BUDGET` in a fresh folder, timed from
process start (start-up and data loading included) and terminated at the budget:

- optuna: ours as a user runs it, without the reference trial (`--no-reference`): TPE, Hyperband
  pruning and the known-good starting points;
- optuna-cold: ours with no starting points and no warm start (`--no-starting-points`): the sampler
  and pruner alone;
- kerastuner-hyperband, kerastuner-bayesian: KerasTuner with its own defaults on the same space.

Two classes are reported: *defaults* (optuna against both KerasTuner runs) and *cold* (optuna-cold
against the same KerasTuner runs). Engines alternate their order from seed to seed, so the VM's
speed drift spreads over all of them. Per run: best validation accuracy over wall time, time to
first beat the reference, and the test accuracy of the final best retrained once (`tune benchmark
--models tuned --schedule final --seeds 1`: the final policy, the same for every engine). A finished run's folder is kept, so a rerun fills in the rest, and
results.json keeps every finished run (written after each): a race run seed by seed, on other machines
or days (`--seeds 2` after `--seeds 0,1`), is reported whole.
`results.json` holds {"split", "budget", "reference", "references", "runs": [{"engine", "seed",
"curve": [[seconds, best_so_far], ...], "best", "test", "trials", "search"}]}, where "search" (ours
only) is the search's gain over its starting points and how many sampled draws stopped at their
first rung or reached the top 3 (tuning.study.rungs.search_gain).
"""

from __future__ import annotations

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

from benchmarks.contract import Parser, choice_list, count, fail, guarded, read_results, seed_list, split_name  # noqa: E402
from tuning.settings import study_name  # noqa: E402
from tuning.study.rungs import gain_line, search_gain  # noqa: E402

ENGINES = {
    "optuna": ["--no-reference"],
    "optuna-cold": ["--no-reference", "--no-starting-points"],
    "kerastuner-hyperband": ["--engine", "kerastuner", "--tuner", "hyperband"],
    "kerastuner-bayesian": ["--engine", "kerastuner", "--tuner", "bayesian"],
}
RIVALS = ("kerastuner-hyperband", "kerastuner-bayesian")
CLASSES = {"defaults": "optuna", "cold": "optuna-cold"}  # class -> our engine in it


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


def common_args(opts, seed: int) -> list[str]:
    return ["--split", opts.split, "--model", "cnn", "--max-epochs", str(opts.max_epochs), "--seed", str(seed),
            "--data-dir", opts.data_dir]


def reference(seed: int, opts, out: Path) -> float:
    """The original CNN's validation accuracy for this split and seed, measured outside every clock."""
    folder = out / f"reference-seed{seed}"
    if not (folder / "studies" / "optuna.db").exists():
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        tune(["start", *common_args(opts, seed), "--trials", "1", "--no-starting-points"], folder)
    return next(t.value for t in load(study_name(opts.split, "cnn"), folder).trials if t.user_attrs.get("baseline"))


def curve_of(trials, begin: datetime.datetime, budget: float) -> list[tuple[float, float]]:
    """[(seconds since `begin`, best value so far)] at each trial that finished within `budget`."""
    curve, best = [], 0.0
    for trial in sorted((t for t in trials if t.datetime_complete), key=lambda t: t.datetime_complete):
        seconds = (trial.datetime_complete - begin).total_seconds()
        if seconds > budget:
            break
        if trial.value is not None and trial.value > best:
            best = trial.value
        curve.append((seconds, best))
    return curve


def run(engine: str, seed: int, opts, out: Path) -> dict:
    folder = out / f"{engine}-seed{seed}"
    name = study_name(opts.split, "cnn", "kerastuner" if engine.startswith("kerastuner") else "optuna")
    if not (folder / "searched").exists():  # a finished search is kept: a rerun fills in the missing ones
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        # Optuna's naive local times; KerasTuner's mirrored trials carry no start time, so the clock is ours
        (folder / "begin.txt").write_text(datetime.datetime.now().isoformat())
        tune(["start", *common_args(opts, seed), "--trials", "10000", "--timeout", str(opts.budget), *ENGINES[engine]],
             folder, stop_after=opts.budget)
        (folder / "searched").write_text("")
    retrained = (folder / "report" / "benchmark.json").exists()
    if opts.retrain and not retrained and any(t.value is not None for t in load(name, folder).trials):
        tune(["export", "--study", name, "--top", "1", "--out", str(folder / "best.json")], folder)
        tune(["benchmark", "--splits", opts.split, "--from", str(folder / "best.json"), "--models", "tuned",
              "--schedule", "final", "--seeds", "1", "--out", str(folder / "report"), "--data-dir", opts.data_dir], folder)
    begin = datetime.datetime.fromisoformat((folder / "begin.txt").read_text())
    curve = curve_of(load(name, folder).trials, begin, opts.budget)
    report = folder / "report" / "benchmark.json"
    test = json.loads(report.read_text())[0]["test_accuracy"] if report.exists() else None
    within = [t for t in load(name, folder).trials if t.datetime_complete and
              (t.datetime_complete - begin).total_seconds() <= opts.budget]
    return {"engine": engine, "seed": seed, "curve": curve, "best": curve[-1][1] if curve else 0.0, "test": test,
            "trials": len(curve), "search": search_gain(within) if engine.startswith("optuna") else None}


def first_beat(curve, target: float) -> float | None:
    """Seconds until the best so far first exceeded `target`; None if it never did."""
    return next((seconds for seconds, best in curve if best > target), None)


def median_time_to_beat(runs: list[dict], target: float, budget: float) -> tuple[float, int]:
    """(median seconds to beat `target`, how many runs never did); a run that never did counts as the
    whole budget, a lower bound on its time."""
    beats = [first_beat(r["curve"], target) for r in runs]
    return statistics.median(beat if beat is not None else float(budget) for beat in beats), sum(b is None for b in beats)


def compare(runs: list[dict], ours: str, target: float, budget: float) -> dict:
    """Our engine against both KerasTuner runs, seed by seed: median times to beat the target and
    their ratios, and the seeds where our best (validation, then retrained test) is above every rival."""
    mine = {r["seed"]: r for r in runs if r["engine"] == ours}
    rivals = {seed: [r for r in runs if r["engine"] in RIVALS and r["seed"] == seed] for seed in mine}
    seeds = [seed for seed in mine if len(rivals[seed]) == len(RIVALS)]  # a seed without both rivals proves nothing
    times = {engine: median_time_to_beat([r for r in runs if r["engine"] == engine and r["seed"] in seeds], target, budget)
             for engine in (ours, *RIVALS)} if seeds else {}
    tested = [seed for seed in seeds if mine[seed]["test"] is not None and all(r["test"] is not None for r in rivals[seed])]
    return {
        "engine": ours,
        "seeds": seeds,
        "median_time_to_beat": {engine: time for engine, (time, _) in times.items()},
        "never_beat": {engine: never for engine, (_, never) in times.items()},
        "ratio": {rival: times[ours][0] / times[rival][0] for rival in RIVALS} if seeds else {},
        "best_above_both": sum(mine[seed]["best"] > max(r["best"] for r in rivals[seed]) for seed in seeds),
        "test_at_least_better_rival": sum(mine[seed]["test"] >= max(r["test"] for r in rivals[seed]) for seed in tested),
        "tested_seeds": len(tested),
    }


def summary(results: list[dict], target: float, budget: float) -> str:
    lines = []
    for name, ours in CLASSES.items():
        if not any(r["engine"] == ours for r in results):
            continue
        found = compare(results, ours, target, budget)
        if not found["seeds"]:
            lines.append(f"{name} ({ours}): no seed has both KerasTuner runs to compare with")
            continue
        times = ", ".join(f"{engine} {found['median_time_to_beat'][engine]:.0f} s"
                          + (f" ({found['never_beat'][engine]} never)" if found["never_beat"][engine] else "")
                          for engine in (ours, *RIVALS))
        ratios = ", ".join(f"{found['ratio'][rival]:.2f}x {rival}'s" for rival in RIVALS)
        lines.append(f"{name} ({ours}): median time to beat the original CNN: {times}; ours is {ratios}")
        lines.append(f"{name} ({ours}): final best above both KerasTuner runs in {found['best_above_both']} of "
                     f"{len(found['seeds'])} seeds; retrained test >= the better KerasTuner run's in "
                     f"{found['test_at_least_better_rival']} of {found['tested_seeds']}")
    return "\n".join(lines)


def plot(results: list[dict], engines: list[str], target: float, opts, out: Path) -> Path:
    from tuning.plotting import pyplot, save

    figure, axis = pyplot().subplots(figsize=(9, 5))
    styles = ["-", "--", ":", "-."]
    for index, engine in enumerate(engines):
        for r in (r for r in results if r["engine"] == engine):
            xs, ys = zip(*r["curve"]) if r["curve"] else ((), ())
            axis.step(xs, ys, where="post", color=f"C{index}", linestyle=styles[r["seed"] % len(styles)],
                      label=f"{engine} seed {r['seed']}")
    axis.axhline(target, color="gray", linestyle=":", label=f"original CNN (val {target:.4f}, outside the clock)")
    axis.set_xlabel("wall time from process start, s")
    axis.set_ylabel("best validation accuracy so far")
    axis.set_ylim(bottom=max(0.0, target - 0.1))
    axis.set_title(f"{opts.split}: best so far per engine, {opts.budget} s each")
    axis.legend(fontsize=7, ncol=2)
    axis.grid(alpha=0.3)
    save(figure, out / "best_so_far.png")
    return out / "best_so_far.png"


def kept_runs(document: dict | None, opts) -> dict:
    """The runs and references of an earlier results.json of the same race (split, budget, epochs), so
    a race run seed by seed, on other machines or days, is reported whole; {} of each otherwise. A run
    whose folder is here is read from its folder instead."""
    same = document and (document["split"], document["budget"], document.get("max_epochs", 8)) == (
        opts.split, opts.budget, opts.max_epochs)
    if not same:
        return {"runs": [], "references": {}}
    return {"runs": document["runs"], "references": {int(seed): value for seed, value in document.get("references", {}).items()}}


def main() -> None:
    parser = Parser(prog="tuner_comparison.py", description=__doc__.splitlines()[0])
    parser.add_argument("--split", type=split_name, default="balanced")
    parser.add_argument("--budget", type=count(86_400), default=600, help="seconds per engine and seed")
    parser.add_argument("--seeds", type=seed_list, default=[0, 1, 2], help="comma list (default 0,1,2)")
    parser.add_argument("--max-epochs", type=count(1000), default=8)
    parser.add_argument("--out", default="reports/tuner_comparison")
    parser.add_argument("--data-dir", default=str(REPO.parent / "shared" / "emnist-dev"))
    parser.add_argument("--engines", type=choice_list(ENGINES), default=list(ENGINES), help=f"comma list of {', '.join(ENGINES)}")
    parser.add_argument("--no-retrain", dest="retrain", action="store_false",
                        help="skip retraining each run's best on test (saves a fit per run; a later run adds them)")
    opts = parser.parse_args()
    engines, seeds = opts.engines, opts.seeds
    out = Path(opts.out).resolve()
    if out.exists() and not out.is_dir():
        fail(f"--out {opts.out} is a file; give a folder")
    kept = kept_runs(read_results(out / "results.json", ("split", "budget", "reference", "runs")), opts)
    from data_pipeline import load_split

    load_split(opts.split, opts.data_dir)  # the split's files, checked before the first run
    references = {**kept["references"], **{seed: reference(seed, opts, out) for seed in seeds
                                           if seed not in kept["references"] or (out / f"reference-seed{seed}").exists()}}
    earlier = {(r["engine"], r["seed"]): r for r in kept["runs"]}
    racing = {(engine, seed) for engine in engines for seed in seeds}
    results = [r for key, r in earlier.items() if key not in racing]
    for seed in seeds:
        for engine in engines if seed % 2 == 0 else engines[::-1]:  # the order reversed every other seed
            before = earlier.get((engine, seed))
            folder = out / f"{engine}-seed{seed}"
            results.append(before if before and not folder.exists() and (before["test"] is not None or not opts.retrain)
                           else run(engine, seed, opts, out))
            target = statistics.mean(references[s] for s in {r["seed"] for r in results})
            (out / "results.json").write_text(json.dumps(  # after each run: a stopped race keeps what finished
                {"split": opts.split, "budget": opts.budget, "max_epochs": opts.max_epochs, "reference": target,
                 "references": references, "runs": results}, indent=2))
    engines = [e for e in ENGINES if any(r["engine"] == e for r in results)]
    picture = plot(results, engines, target, opts, out)
    print(f"{opts.split}, {opts.budget} s per run, original CNN val accuracy {target:.4f} "
          f"(mean of seeds {', '.join(f'{seed}: {value:.4f}' for seed, value in references.items())}; outside the clock)")
    print("| engine | seed | trials | best val acc | first beats the original CNN after | test acc of best (retrained) |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in results:
        beat = first_beat(r["curve"], target)
        test = f"{r['test']:.4f}" if r["test"] is not None else ("no trial completed" if opts.retrain else "not retrained")
        print(f"| {r['engine']} | {r['seed']} | {r['trials']} | {r['best']:.4f} | "
              f"{f'{beat:.0f} s' if beat is not None else 'never'} | {test} |")
    print(summary(results, target, opts.budget))
    for r in results:
        if r.get("search"):
            print(f"{r['engine']} seed {r['seed']}: {gain_line(r['search'])}")
    print(f"plot: {picture}")


if __name__ == "__main__":
    guarded(main)
