"""What a finished study found, in the figures issue 14 asks for.

    python benchmarks/study_summary.py --storage sqlite:///random.db [--study emnist-mnist-cnn]

Per study: trials by state, the median *final* validation accuracy (each trial's last reported
epoch, pruned ones included: what a random draw from the space trains to), how many trials ended
below 0.5, the best value and trial, the original model's value, and the wall time from the first
trial's start to the last one's end, and trials per hour over it.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def summary(study) -> dict:
    from optuna.trial import TrialState

    trials = [t for t in study.get_trials(deepcopy=False) if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    finals = [t.intermediate_values[max(t.intermediate_values)] for t in trials if t.intermediate_values]
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    best = max(complete, key=lambda t: t.value) if complete else None
    original = next((t for t in trials if t.user_attrs.get("baseline")), None)
    starts = [t.datetime_start for t in trials if t.datetime_start]
    ends = [t.datetime_complete for t in trials if t.datetime_complete]
    return {
        "study": study.study_name,
        "finished": len(trials),
        "pruned": sum(t.state == TrialState.PRUNED for t in trials),
        "median_final_val": statistics.median(finals) if finals else None,
        "below_0.5": sum(value < 0.5 for value in finals),
        "best": best.value if best else None,
        "best_trial": best.number if best else None,
        "original": original.value if original else None,
        "wall_s": (max(ends) - min(starts)).total_seconds() if starts and ends else 0.0,
    }


def main() -> None:
    import optuna

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--storage", required=True)
    parser.add_argument("--study", help="one study (default: every study in the storage)")
    opts = parser.parse_args()
    names = [opts.study] if opts.study else optuna.get_all_study_names(opts.storage)
    for name in names:
        row = summary(optuna.load_study(study_name=name, storage=opts.storage))
        print(f"{row['study']}: {row['finished']} finished ({row['pruned']} pruned), median final val "
              f"{row['median_final_val']:.4f}, {row['below_0.5']} below 0.5, best {row['best']:.4f} (#{row['best_trial']}), "
              f"original model {row['original'] if row['original'] is None else round(row['original'], 4)}, "
              f"wall {row['wall_s'] / 60:.1f} min ({row['finished'] / max(row['wall_s'], 1) * 3600:.0f} trials/hour)")


if __name__ == "__main__":
    main()
