"""What a finished study found, in the figures a search is judged by.

    python benchmarks/study_summary.py --storage sqlite:///random.db [--study emnist-mnist-cnn]

Per study: trials by state, the median *final* validation accuracy (each trial's last reported
epoch, pruned ones included: what a random draw from the space trains to), how many trials ended
below 0.5, the best value and trial, the original model's value and seconds (the run's own clock:
this VM's speed changes from day to day), the wall time (while some trial ran: a pause between
runs of the study is not counted) and trials per hour over it, how many sampled draws of the study's second half were
pruned at their first report (what the laggard rule costs exploration), and the search's gain: the
best sampled config against the best starting point at the highest rung both reached, and how many
sampled draws stopped at their first rung or reached the top 3. With `--bar X`,
the minutes until a trial first reached validation accuracy X.

    python benchmarks/study_summary.py --storage sqlite:///studies/optuna.db --bar 0.858
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.contract import Parser, guarded  # noqa: E402


def summary(study, bar: float | None = None) -> dict:
    from optuna.trial import TrialState

    from tuning.study.progress import busy_seconds
    from tuning.study.rungs import ranked, search_gain

    trials = [t for t in study.get_trials(deepcopy=False) if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    finals = [t.intermediate_values[max(t.intermediate_values)] for t in trials if t.intermediate_values]
    complete = ranked(trials)
    best = complete[0] if complete else None  # ranked at the study's highest rung
    original = next((t for t in trials if t.user_attrs.get("baseline")), None)
    starts = [t.datetime_start for t in trials if t.datetime_start]
    half = len(trials) // 2
    late = [t for t in trials[half:] if not t.user_attrs.get("baseline") and "starting_point" not in t.user_attrs]
    passed = sorted(t.datetime_complete for t in complete if bar is not None and t.value >= bar)
    return {
        "study": study.study_name,
        "finished": len(trials),
        "pruned": sum(t.state == TrialState.PRUNED for t in trials),
        "reports": sum(len(t.intermediate_values) for t in trials),  # the compute spent, whatever the VM's speed
        "median_final_val": statistics.median(finals) if finals else None,
        "below_0.5": sum(value < 0.5 for value in finals),
        "best": best.value if best else None,
        "best_trial": best.number if best else None,
        "original": original.value if original else None,
        "original_s": original.duration.total_seconds() if original and original.duration else None,
        "late_draws": len(late),
        "late_pruned_first": sum(t.state == TrialState.PRUNED and len(t.intermediate_values) == 1 for t in late),
        "bar_min": (passed[0] - min(starts)).total_seconds() / 60 if passed and starts else None,
        "search": search_gain(trials),
        "wall_s": busy_seconds(trials),
    }


def main() -> None:
    import optuna

    from tuning.study.rungs import gain_line

    from tuning.options import fraction
    from tuning.storage import check_study_exists, open_storage

    parser = Parser(prog="study_summary.py", description=__doc__.splitlines()[0])
    parser.add_argument("--storage", required=True)
    parser.add_argument("--study", help="one study (default: every study in the storage)")
    parser.add_argument("--bar", type=fraction, help="also say when a trial first reached this validation accuracy")
    opts = parser.parse_args()
    storage = open_storage(opts.storage, create=False, writes=False)  # read only: the study file stays as it is
    if opts.study:
        check_study_exists(storage, opts.study)
    names = [opts.study] if opts.study else optuna.get_all_study_names(storage)
    for name in names:
        row = summary(optuna.load_study(study_name=name, storage=storage), opts.bar)
        print(f"{row['study']}: {row['finished']} finished ({row['pruned']} pruned, {row['reports']} reports), median final val "
              f"{row['median_final_val']:.4f}, {row['below_0.5']} below 0.5, best {row['best']:.4f} (#{row['best_trial']}), "
              f"original model {row['original'] if row['original'] is None else round(row['original'], 4)} "
              f"in {row['original_s'] or 0:.0f} s, wall {row['wall_s'] / 60:.1f} min "
              f"({row['finished'] / max(row['wall_s'], 1) * 3600:.0f} trials/hour), "
              f"{row['late_pruned_first']} of the second half's {row['late_draws']} sampled draws pruned at their first report"
              + (f", {opts.bar} first reached at {row['bar_min']:.1f} min" if row["bar_min"] is not None else
                 f", {opts.bar} never reached" if opts.bar is not None else ""))
        print("  " + gain_line(row["search"]))


if __name__ == "__main__":
    guarded(main)
