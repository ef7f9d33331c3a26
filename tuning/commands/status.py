"""`tune status`: every study in a storage, its counts and best trial. Reads only: it loads no
Keras backend (about a second, where a command that trains takes several to start)."""

from __future__ import annotations

import json

import optuna

from tuning.study.progress import best_trial, busy_seconds, counts, printable
from tuning.study.rungs import gain_line, rung_of, search_gain
from tuning.storage import open_storage


def study_status(study) -> dict:
    trials = study.get_trials(deepcopy=False)
    best = best_trial(study)
    tally = counts(study)
    return {
        "study": study.study_name,
        "split": study.user_attrs.get("split"),
        "model": study.user_attrs.get("model"),
        **{state: tally[state] for state in ("complete", "pruned", "fail", "running", "waiting")},
        "best_value": best.value if best else None,
        "best_trial": best.number if best else None,
        "best_params": best.params if best else None,
        "best_rung": rung_of(best) if best else None,
        "search_gain": search_gain(trials),
        "wall_seconds": round(busy_seconds(trials), 1),  # a pause between runs of the study not counted
    }


def cmd_status(args) -> int:

    storage = open_storage(args.storage, create=False, writes=False)
    rows = [study_status(optuna.load_study(study_name=name, storage=storage)) for name in optuna.get_all_study_names(storage)]
    if args.json:
        print(json.dumps(rows, indent=2, default=str))
        return 0
    if not rows:
        print("no studies yet; start one with `tune start --split mnist`")
    for row in rows:
        best = f"best {row['best_value']:.4f} (#{row['best_trial']}, {row['best_rung']} rung)" if row["best_value"] is not None else "no complete trial"
        print(printable(f"{row['study']}: {row['complete']} complete, {row['pruned']} pruned, {row['fail']} failed, "
              f"{row['running']} running; {best}; {row['wall_seconds'] / 60:.1f} min"))
        if row["best_params"]:
            print(printable("  " + ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                                             for k, v in row["best_params"].items())))
            print("  " + gain_line(row["search_gain"]))
    return 0
