"""`tune campaign`: the whole job in one resumable command: for every split and model family, tune
a study, export its best configs, then benchmark them all against the original baselines.

Each step is the same `tune` command a user would type, run as a child process (a study's memory is
freed when its process ends), so a rerun continues where it stopped: studies resume at their
trial count, exports are rewritten, and the benchmark keeps the cells it already has.
"""

from __future__ import annotations

import os
import subprocess
import time

from data_pipeline import parse_split_list
from tuning.errors import UserError
from tuning.options import MODELS
from tuning.study.storage import resolve_url
from tuning.workers.loop import tune_argv


def step(argv: list[str], storage: str | None) -> None:
    env = {**os.environ, "TUNE_STORAGE": resolve_url(storage)}  # not argv: keeps passwords out of `ps`
    result = subprocess.run([*tune_argv(), *argv], env=env)
    if result.returncode != 0:
        raise UserError(f"`tune {' '.join(argv[:3])} ...` stopped with exit {result.returncode} (its error is above); "
                        "fix it and run the same `tune campaign` again: it resumes")


def cmd_campaign(args) -> int:
    splits = parse_split_list(args.splits)
    families = [name.strip() for name in args.models.split(",") if name.strip()]
    unknown = sorted(set(families) - set(MODELS))
    if unknown or not families:
        raise UserError(f"unknown model {unknown[0] if unknown else args.models!r} in --models; choose from {', '.join(MODELS)}")
    data = ["--data-dir", str(args.data_dir)] if args.data_dir else []
    studies = [(split.name, family) for split in splits for family in families]
    start = time.monotonic()
    for index, (split, family) in enumerate(studies, start=1):
        print(f"\n[{index}/{len(studies)}] {split} {family}: tune start ({args.trials} trials, "
              f"{time.monotonic() - start:.0f} s into the campaign)", flush=True)
        tuning = ["start", "--split", split, "--model", family, "--trials", str(args.trials), "--seed", str(args.seed),
                  "--workers", str(args.workers), *(["--max-epochs", str(args.max_epochs)] if args.max_epochs else []), *data]
        if family == "vgg16" and args.weights:
            tuning += ["--weights", args.weights]
        step(tuning, args.storage)
        step(["export", "--split", split, "--model", family, "--top", "1"], args.storage)
    print(f"\n[benchmark] {len(splits)} split(s) x tuned + baselines x {args.seeds} seed(s)", flush=True)
    step(["benchmark", "--splits", ",".join(split.name for split in splits), "--models", ",".join(["tuned", *MODELS]),
          "--seeds", str(args.seeds), "--out", args.out, *(["--weights", args.weights] if args.weights else []),
          *(["--epochs", str(args.benchmark_epochs)] if args.benchmark_epochs else []), *data],
         args.storage)
    print(f"\ncampaign done in {(time.monotonic() - start) / 60:.1f} min: {args.out}/benchmark.md")
    return 0
