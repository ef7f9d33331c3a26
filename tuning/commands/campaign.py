"""`tune campaign`: the whole job in one resumable command: for every split and model family, tune
a study (warm started from the family's study of the split before), export its best configs, then
benchmark them all against the original baselines.

Each step is the same `tune` command a user would type, run as a child process (a study's memory is
freed when its process ends), so a rerun continues where it stopped: studies resume at their
trial count, exports are rewritten, and the benchmark keeps the cells it already has.
"""

from __future__ import annotations

import os
import signal
import time

from data_pipeline import load_split, parse_split_list, resolve_data_dir
from tuning.errors import UserError
from tuning.families import MODELS, registered
from tuning.settings import study_name
from tuning.storage import close_storage, open_storage, resolve_url
from tuning.workers.children import spawn, wait_or_stop
from tuning.workers.loop import raise_terminated, tune_argv


def step(argv: list[str], storage: str | None) -> None:
    env = {**os.environ, "TUNE_STORAGE": resolve_url(storage)}  # not argv: keeps passwords out of `ps`
    code = wait_or_stop(spawn([*tune_argv(), *argv], env))
    if code != 0:
        raise UserError(f"`tune {' '.join(argv[:3])} ...` stopped with exit {code} (its error is above); "
                        "fix it and run the same `tune campaign` again: it resumes")


#: `--splits all` runs the cheap splits first and each after a related one, so that every study after
#: the first of its family starts from the best configs of the one before (`tune start --warm-start`)
CAMPAIGN_ORDER = ("mnist", "digits", "balanced", "letters", "bymerge", "byclass")


def campaign_plan(splits_text: str, families: list[str]) -> list[tuple[str, str, str | None]]:
    """(split, family, study to warm start from or None) for every study of the campaign, in order."""
    names = [split.name for split in parse_split_list(splits_text)]
    if splits_text.strip() == "all":
        names.sort(key=CAMPAIGN_ORDER.index)
    return [(split, family, study_name(names[i - 1], family) if i else None)
            for i, split in enumerate(names) for family in families]


def unavailable(families: list[str], weights: str | None) -> dict[str, str]:
    """{family: why it cannot be tuned here}: a pretrained base (VGG16's) whose weights cannot be had."""
    pretrained = [registered(name) for name in families if registered(name).pretrained]
    if not pretrained:
        return {}
    from tuning._quiet import import_backend_quietly

    import_backend_quietly()  # the campaign's own process loads Keras only for this check
    import models
    from tuning.settings import WEIGHTS_OPTIONS, vgg_weights

    why = {}
    for family in pretrained:
        try:
            models.vgg16_weights_file({"family": family.name, "num_classes": 10, **family.weights_keys(vgg_weights(weights))})
        except models.WeightsUnavailable as exc:
            why[family.name] = f"{exc} ({WEIGHTS_OPTIONS})"
    return why


def check_inputs(splits: list[str], args) -> None:
    """What every step needs, checked before the first child starts: each split's files (parsed
    into the array cache the children then read), then the storage (made if it is new)."""
    for split in splits:
        load_split(split, args.data_dir).split.characters(resolve_data_dir(args.data_dir))
    close_storage(open_storage(args.storage))


def cmd_campaign(args) -> int:
    families = list(args.models)
    rows = [name for name in families if name in ("tuned", "default")]
    if rows:
        raise UserError(f"--models {rows[0]} is a benchmark row, not a family to tune; choose from {', '.join(MODELS)}")
    plan = campaign_plan(args.splits, families)
    splits = list(dict.fromkeys(split for split, _, _ in plan))  # the benchmark's, before any family is dropped
    check_inputs(splits, args)
    signal.signal(signal.SIGTERM, raise_terminated)  # passed on to the running step (children.wait_or_stop)
    for family, reason in unavailable(families, args.weights).items():
        print(f"{family}: not tuned, and skipped by the benchmark: {reason}", flush=True)
        plan = [(split, kept, source) for split, kept, source in plan if kept != family]
    data = ["--data-dir", str(args.data_dir)] if args.data_dir else []
    start = time.monotonic()
    for index, (split, family, source) in enumerate(plan, start=1):
        print(f"\n[{index}/{len(plan)}] {split} {family}: tune start ({args.trials} trials"
              + (f", warm start from {source}" if source else "")
              + f", {time.monotonic() - start:.0f} s into the campaign)", flush=True)
        tuning = ["start", "--split", split, "--model", family, "--trials", str(args.trials), "--seed", str(args.seed),
                  "--workers", str(args.workers), *(["--max-epochs", str(args.max_epochs)] if args.max_epochs else []),
                  *(["--warm-start", source] if source else []), *data]
        if registered(family).pretrained and args.weights:
            tuning += ["--weights", args.weights]
        step(tuning, args.storage)
        step(["export", "--split", split, "--model", family, "--top", "1"], args.storage)
    print(f"\n[benchmark] {len(splits)} split(s) x tuned + baselines x {args.seeds} seed(s)", flush=True)
    step(["benchmark", "--splits", ",".join(splits), "--models", ",".join(["tuned", "default", *MODELS]),
          "--seeds", str(args.seeds), "--out", args.out, *(["--weights", args.weights] if args.weights else []),
          *(["--epochs", str(args.benchmark_epochs)] if args.benchmark_epochs else []), *data],
         args.storage)
    print(f"\ncampaign done in {(time.monotonic() - start) / 60:.1f} min: {args.out}/benchmark.md")
    return 0
