"""A finished study's figures: wall time, pruning, baseline vs best, worker memory over trials.

    python benchmarks/study_memory.py [--study emnist-balanced-cnn] [--storage sqlite:///studies/optuna.db]

Memory is each trial's worker RSS, recorded after the trial released its model
(`worker_rss_mb`). Goals: at least a third of trials pruned, the best clearly above the
baseline, memory at trial 30 within 1.2x of trial 3.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.contract import Parser, guarded  # noqa: E402

import optuna  # noqa: E402
from optuna.trial import TrialState  # noqa: E402

from tuning.storage import check_study_exists, open_storage  # noqa: E402


def main() -> None:
    parser = Parser(prog="study_memory.py", description=__doc__.splitlines()[0])
    parser.add_argument("--study", default="emnist-balanced-cnn")
    parser.add_argument("--storage")
    args = parser.parse_args()
    storage = open_storage(args.storage, create=False, writes=False)
    check_study_exists(storage, args.study)
    study = optuna.load_study(study_name=args.study, storage=storage)
    trials = sorted(study.get_trials(deepcopy=False), key=lambda t: t.number)
    finished = [t for t in trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    pruned = [t for t in finished if t.state == TrialState.PRUNED]
    complete = [t for t in finished if t.state == TrialState.COMPLETE]
    baseline = next((t for t in trials if t.user_attrs.get("baseline")), None)
    best = max(complete, key=lambda t: t.value)
    wall = max(t.datetime_complete for t in finished) - min(t.datetime_start for t in finished)
    print(f"{study.study_name}: {len(finished)} finished trials in {wall.total_seconds() / 60:.1f} min wall time")
    print(f"pruned: {len(pruned)} of {len(finished)} ({len(pruned) / len(finished):.0%}); failed: "
          f"{sum(t.state == TrialState.FAIL for t in trials)}")
    if baseline and baseline.value is not None:
        print(f"baseline (original study's model) trial #{baseline.number}: val accuracy {baseline.value:.4f}")
    print(f"best trial #{best.number}: val accuracy {best.value:.4f}"
          + (f" ({(best.value - baseline.value) * 100:+.2f} points over the baseline)" if baseline and baseline.value else ""))
    rss = [(t.number, t.user_attrs["worker_rss_mb"]) for t in finished if "worker_rss_mb" in t.user_attrs]
    if len(rss) >= 3:
        third, last = rss[2], rss[-1]
        print(f"worker RSS after trial #{third[0]} (3rd finished): {third[1]:.0f} MB; after trial #{last[0]} "
              f"(last): {last[1]:.0f} MB; ratio {last[1] / third[1]:.2f}x")
        print("RSS per trial (MB): " + ", ".join(f"#{n} {mb:.0f}" for n, mb in rss))


if __name__ == "__main__":
    guarded(main)
