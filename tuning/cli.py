"""The `tune` command line: one table of commands, options shared by several declared once.
Only the console script imports this module; handlers are imported when their command runs, so
`--help` and argument errors come back without loading TensorFlow."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from dataclasses import dataclass
from typing import Callable

from data_pipeline import SPLITS
from tuning.engines import ENGINES, TUNERS
from tuning.families import MODELS
from tuning.study.pruners import PRUNERS
from tuning.study.samplers import SAMPLERS
from tuning.settings import DEFAULT_SCHEDULES, IMAGES_PER_TRIAL
from tuning.options import MAX_SEEDS, MAX_TRIALS, count, fraction, positive_int, schedule_list, seed_int, trial_count

# TensorFlow's C++ start-up chatter (CUDA probing, CPU flags) is noise for a CLI user.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


class Parser(argparse.ArgumentParser):
    """argparse that reports a mistake in one line (and exit 2) instead of usage + error."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def model_list(text: str) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(name.strip() for name in text.split(",") if name.strip()))
    unknown = [name for name in names if name not in ("tuned", "default", *MODELS)]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown model {unknown[0] if unknown else text!r}; "
                                         f"choose from tuned, default, {', '.join(MODELS)}")
    return names


#: options that several commands take, declared once (a command's table row names the ones it takes)
SHARED = {
    "--storage": {"help": "study storage URL (default $TUNE_STORAGE or sqlite:///studies/optuna.db)"},
    "--data-dir": {"help": "folder with the emnist-*.gz files (default $EMNIST_DATA_DIR or data/emnist)"},
    "--split": {"help": ", ".join(SPLITS)},
    "--splits": {"default": "all", "help": "'all' or a comma list, e.g. mnist,balanced"},
    "--model": {"default": "cnn", "choices": MODELS},
    "--study": {"help": "study name (default emnist-<split>-<model>)"},
    "--trials": {"type": trial_count, "help": f"finished trials the study should hold (1..{MAX_TRIALS:,})"},
    "--timeout": {"type": positive_int, "help": "stop starting trials after SEC seconds"},
    "--threads": {"type": positive_int, "help": "TensorFlow threads per worker (default: cores / workers)"},
    "--json": {"action": "store_true", "help": "machine-readable output"},
    "--gpus": {"help": "GPU indices to use, e.g. 0,1: worker i gets GPU i mod their number (default: all visible)"},
    "--precision": {"default": "float32", "choices": ("float32", "mixed"),
                    "help": "mixed: float16 (GPU) or bfloat16 (CPU) compute, float32 weights and outputs"},
    "--seed": {"type": seed_int, "default": 0, "help": "seed of the sampler and of every trial (default 0)"},
    "--seeds": {"type": count(MAX_SEEDS), "default": 3, "help": "benchmark seeds per model (default 3)"},
    "--max-epochs": {"type": count(1000), "help": "most epochs a trial trains (default: 10, fewer where an epoch is "
                     f"large, about {IMAGES_PER_TRIAL // 1000}k images a trial: byclass-dev 3, the full byclass 2)"},
    "--workers": {"type": positive_int, "default": 1, "help": "worker processes on this machine (default 1 with all "
                  "cores: faster than one single-threaded worker per core, benchmarks/parallelism.py)"},
    "--weights": {"help": "vgg16: imagenet (Keras cache, the default), random (one fixed seeded random base, where "
                  "ImageNet's cannot be had), none (random init per model), or a VGG16 no-top weights file"},
    "--models": {"type": model_list, "help": "comma list of tuned (the exported configs), default (each tuned "
                  "family's untuned default, trained alike), cnn, mlp, vgg16 (the original study's models)"},
    "--out": {"default": "reports", "help": "report folder (default reports/)"},
    "--quiet": {"action": "store_true", "help": "print less: no per-trial lines, no progress bar"},
}


def start_options(p) -> None:
    p.add_argument("--engine", default="optuna", choices=ENGINES)
    p.add_argument("--tuner", choices=TUNERS,
                   help="KerasTuner's search strategy, with --engine kerastuner (default hyperband)")
    p.add_argument("--sampler", choices=SAMPLERS, help="Optuna's sampler (default tpe)")
    p.add_argument("--pruner", choices=PRUNERS, help="Optuna's pruner (default hyperband)")
    p.add_argument("--train-fraction", type=fraction, default=1.0, help="stratified share of train to use")
    p.add_argument("--feature-cache", choices=("on", "off"),
                   help="vgg16: compute the frozen base's features once and train only the rest (default on)")
    p.add_argument("--fine-tune-blocks", type=int, choices=range(6), metavar="K",
                   help="vgg16: let the search also train the last 0..K of VGG16's 5 conv blocks "
                        "(default 0: tune the head on the frozen base, at MLP speed)")
    p.add_argument("--no-reference", dest="reference", action="store_false",
                   help="leave out trial 0, the original study's model (the dashboard's reference; default: trained first)")
    p.add_argument("--no-starting-points", dest="starting_points", action="store_false",
                   help="leave out the known-good configs queued after it: the sampler draws every trial")
    p.add_argument("--warm-start", metavar="STUDY|FILE",
                   help="queue the best configs of another study of the same model (e.g. emnist-balanced-cnn) "
                        "or of a `tune export` file (e.g. studies/best/balanced-cnn.json)")
    p.add_argument("--warm-start-top", type=count(1000), metavar="K",
                   help="how many of its best configs --warm-start queues (default 3)")


def worker_options(p) -> None:
    p.add_argument("--seed-offset", type=int, default=0, help=argparse.SUPPRESS)


def dashboard_options(p) -> None:
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1 only)")
    p.add_argument("--port", type=positive_int, default=8080)


def serve_options(p) -> None:
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1 only)")
    p.add_argument("--port", type=positive_int, default=13000)


def export_options(p) -> None:
    p.add_argument("--top", type=count(1000), default=3, help="how many of the best trials (default 3)")
    p.add_argument("--out", help="file to write (default studies/best/<split>-<model>.json)")
    p.add_argument("--all", action="store_true", help="export every study in the storage")
    p.add_argument("--ensemble", type=positive_int, metavar="K", help="write one config that joins the K best "
                   "trials (default file studies/best/<split>-<model>-ensemble.json; K 2..10)")
    p.add_argument("--ensemble-select", choices=("greedy", "mean"), default="greedy",
                   help="how a trained ensemble weighs its members: greedy (default: forward selection over their "
                        "validation predictions, a member joins only where it helps) or mean (all alike)")


def benchmark_options(p) -> None:
    p.add_argument("--from", dest="source", default="studies/best", help="exported configs: a folder or one file")
    p.add_argument("--epochs", type=count(1000), help="override every model's epochs")
    p.add_argument("--schedule", type=schedule_list, default=DEFAULT_SCHEDULES,
                   help="tuned configs, a comma list: trial (as their trial ran), final (the final-training policy, "
                        "at least the original study's 10 epochs: a row '-final' where that differs), refit (the "
                        "final policy on training + validation images: a row '-refit'); default final,refit; both = trial,final")


def campaign_options(p) -> None:
    p.add_argument("--benchmark-epochs", type=count(1000), help="override every benchmarked model's epochs (a quick look)")


def download_options(p) -> None:
    p.add_argument("--url", help="a mirror of the official gzip.zip (default: NIST)")


def info_options(p) -> None:
    p.add_argument("--grid", metavar="PNG", help="write a grid of upright samples labelled with their characters")


@dataclass(frozen=True)
class Command:
    name: str  # "data download" for a data subcommand
    help: str
    handler: str  # "module:function", imported when the command runs
    shared: tuple[str, ...] = ()  # options from SHARED; a trailing "!" makes one required
    options: Callable | None = None  # adds the command's own options
    defaults: tuple[tuple[str, object], ...] = ()  # per-command defaults of shared options
    backend: bool = True  # loads Keras and its backend (the commands that only read do not)
    check: str | None = None  # "module:function" run before the backend loads; its result is the handler's 2nd argument


GROUPS = {"data": "download, verify and inspect the EMNIST files",
          "storage": "serve a study storage to many workers (Optuna's gRPC proxy)"}

COMMANDS = (
    Command("start", "create or resume a study and run trials until it holds N", "tuning.commands.study:cmd_start",
            ("--split!", "--model", "--trials", "--timeout", "--storage", "--study", "--threads", "--data-dir", "--gpus",
             "--precision", "--seed", "--max-epochs", "--workers", "--weights"), start_options, (("trials", 20),),
            check="tuning.commands.preflight:check_start"),
    Command("worker", "join an existing study from any machine that reaches its storage", "tuning.commands.study:cmd_worker",
            ("--study!", "--storage", "--trials", "--timeout", "--threads", "--data-dir", "--gpus", "--precision", "--quiet"),
            worker_options, check="tuning.commands.preflight:check_worker"),
    Command("status", "every study: trial counts, best value and params", "tuning.commands.status:cmd_status",
            ("--storage", "--json"), backend=False),
    Command("dashboard", "optuna-dashboard on the same storage, with trial artifacts", "tuning.commands.dashboard:cmd_dashboard",
            ("--storage",), dashboard_options, backend=False),
    Command("export", "best trials as JSON configs for models.build / tune benchmark", "tuning.commands.export:cmd_export",
            ("--split", "--model", "--study", "--storage"), export_options),
    Command("benchmark", "retrain best configs and baselines, timed; writes a report", "tuning.commands.benchmark:cmd_benchmark",
            ("--splits", "--data-dir", "--gpus", "--precision", "--models", "--seeds", "--out", "--weights"), benchmark_options,
            (("models", ("tuned", "default", *MODELS)),)),
    Command("campaign", "every split and family: tune, export, then benchmark; a rerun resumes",
            "tuning.commands.campaign:cmd_campaign", ("--splits", "--trials", "--storage", "--data-dir", "--models",
                                                      "--max-epochs", "--seed", "--workers", "--seeds", "--out", "--weights"),
            campaign_options, (("trials", 100), ("models", MODELS)), backend=False),
    Command("storage serve", "serve a storage over gRPC: workers and the dashboard use --storage grpc://HOST:PORT",
            "tuning.commands.storage:cmd_serve", ("--storage",), serve_options, backend=False),
    Command("data download", "fetch the official release, verified by sha256", "tuning.commands.data:cmd_download",
            ("--splits", "--data-dir", "--quiet"), download_options, backend=False),
    Command("data verify", "check every file against the official sha256", "tuning.commands.data:cmd_verify",
            ("--data-dir", "--json"), backend=False),
    Command("data info", "counts, classes and a sample grid of one split", "tuning.commands.data:cmd_info",
            ("--split!", "--data-dir", "--json"), info_options, backend=False),
)


def build_parser() -> Parser:
    parser = Parser(prog="tune", description="Hyperparameter tuning of EMNIST models with Optuna and Keras.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    groups = {"": commands}
    for group, help_text in GROUPS.items():
        groups[group] = commands.add_parser(group, help=help_text).add_subparsers(
            dest=f"{group}_command", required=True, parser_class=Parser)
    for command in COMMANDS:
        group, _, name = command.name.rpartition(" ")
        sub = groups[group].add_parser(name, help=command.help)
        for flag in command.shared:
            sub.add_argument(flag.rstrip("!"), required=flag.endswith("!"), **SHARED[flag.rstrip("!")])
        if command.options:
            command.options(sub)
        sub.set_defaults(handler=command.handler, backend=command.backend, check=command.check, **dict(command.defaults))
    return parser


def call(target: str, *arguments):
    module, _, function = target.partition(":")
    return getattr(importlib.import_module(module), function)(*arguments)


def dispatch(args) -> int:
    if args.backend:  # a bad KERAS_BACKEND, --gpus or --threads is one line, before anything loads
        from tuning import backend

        backend.backend_name()
        gpus = backend.parse_gpus(getattr(args, "gpus", None))
        backend.check_gpus(gpus)
        backend.check_threads(getattr(args, "threads", None))
    checked = call(args.check, args) if args.check else None
    if args.backend:
        from tuning._quiet import import_backend_quietly

        parent_of_workers = getattr(args, "workers", 1) > 1  # pins each child instead (workers/parallel.py)
        backend.prepare_process(0, None if parent_of_workers else gpus)
        import_backend_quietly()
        if hasattr(args, "precision"):
            backend.set_precision(args.precision)
    # a handler with a check gets what it found (settings, data, storage) instead of doing that work again
    return call(args.handler, args, checked) if args.check else call(args.handler, args)


def is_user_error(exc: Exception) -> bool:
    """Bad input (exit 2, one line) as opposed to a failure while running (traceback, exit 1)."""
    from data_pipeline import DataError
    from tuning.errors import UserError

    models = sys.modules.get("models")  # not imported: then no ConfigError can have been raised
    return isinstance(exc, (DataError, UserError)) or (models is not None and isinstance(exc, models.ConfigError))


def main(argv: list[str] | None = None) -> int:
    from tuning.storage import scrub

    args = build_parser().parse_args(argv)
    urls = [getattr(args, "storage", None), os.environ.get("TUNE_STORAGE")]  # no password in any output
    try:
        return dispatch(args)
    except Exception as exc:
        if not is_user_error(exc):
            import traceback

            print(scrub(traceback.format_exc(), urls), file=sys.stderr, end="")
            return 1
        print(scrub(f"tune: error: {exc}", urls), file=sys.stderr)
        return 2
    except KeyboardInterrupt as interrupt:
        terminated = type(interrupt).__name__ == "Terminated"
        print(f"tune: {'terminated' if terminated else 'interrupted'}; the running trial is recorded as failed. "
              "Run the same command again to resume.", file=sys.stderr)
        return 143 if terminated else 130


if __name__ == "__main__":
    sys.exit(main())
