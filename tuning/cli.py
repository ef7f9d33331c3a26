"""The `tune` command line. Only the console script imports this module."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

# TensorFlow's C++ start-up chatter (CUDA probing, CPU flags) is noise for a CLI user.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


class Parser(argparse.ArgumentParser):
    """argparse that reports a mistake in one line (and exit 2) instead of usage + error."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number; give one >= 1") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not allowed; give a whole number >= 1")
    return value


def seed_int(text: str) -> int:
    """A seed every sampler and NumPy accept: 0 .. 2**31-1 (workers add their offsets below 2**32)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number; give a seed in 0..{2**31 - 1}") from None
    if not 0 <= value < 2**31:
        raise argparse.ArgumentTypeError(f"{value} is not a seed; give a whole number in 0..{2**31 - 1}")
    return value


def add_data_commands(commands) -> None:
    data = commands.add_parser("data", help="download, verify and inspect the EMNIST files")
    sub = data.add_subparsers(dest="data_command", required=True, parser_class=Parser)
    download = sub.add_parser("download", help="fetch the official release, verified by sha256")
    download.add_argument("--splits", default="all", help="'all' or a comma list, e.g. mnist,balanced")
    download.add_argument("--data-dir", help="where to put the files (default $EMNIST_DATA_DIR or data/emnist)")
    download.add_argument("--url", help="a mirror of the official gzip.zip (default: NIST)")
    download.add_argument("--quiet", action="store_true", help="no progress bar")
    verify = sub.add_parser("verify", help="check every file against the official sha256")
    verify.add_argument("--data-dir")
    verify.add_argument("--json", action="store_true")
    info = sub.add_parser("info", help="counts, classes and a sample grid of one split")
    info.add_argument("--split", required=True)
    info.add_argument("--data-dir")
    info.add_argument("--json", action="store_true")
    info.add_argument("--grid", metavar="PNG", help="write a grid of upright samples labelled with their characters")


def fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number; give a fraction in (0, 1]") from None
    if not 0.0 < value <= 1.0:
        raise argparse.ArgumentTypeError(f"{value} is not in (0, 1]")
    return value


def add_study_commands(commands) -> None:
    from tuning.options import MODELS, PRUNERS, SAMPLERS

    storage_help = "study storage URL (default $TUNE_STORAGE or sqlite:///studies/optuna.db)"
    start = commands.add_parser("start", help="create or resume a study and run trials until it holds N")
    start.add_argument("--split", required=True, help="byclass, bymerge, balanced, letters, digits or mnist")
    start.add_argument("--model", default="cnn", choices=MODELS)
    start.add_argument("--trials", type=positive_int, default=20, help="finished trials the study should hold")
    start.add_argument("--timeout", type=positive_int, help="stop starting trials after SEC seconds")
    start.add_argument("--storage", help=storage_help)
    start.add_argument("--study", help="study name (default emnist-<split>-<model>)")
    start.add_argument("--engine", default="optuna", choices=("optuna", "kerastuner"))
    start.add_argument("--tuner", default="hyperband", choices=("hyperband", "bayesian", "random"),
                       help="KerasTuner's search strategy, with --engine kerastuner")
    start.add_argument("--sampler", default="tpe", choices=SAMPLERS)
    start.add_argument("--pruner", default="hyperband", choices=PRUNERS)
    start.add_argument("--seed", type=seed_int, default=0)
    start.add_argument("--max-epochs", type=positive_int, default=10)
    start.add_argument("--train-fraction", type=fraction, default=1.0, help="stratified share of train to use")
    start.add_argument("--workers", type=positive_int, default=1, help="worker processes on this machine (default 1 with all cores: "
                            "faster than one single-threaded worker per core, benchmarks/parallelism.py)")
    start.add_argument("--threads", type=positive_int, help="TensorFlow threads per worker (default: cores / workers)")
    start.add_argument("--weights",
                       help="vgg16: imagenet (Keras cache, the default), none (random init), or a VGG16 no-top weights file")
    start.add_argument("--feature-cache", choices=("on", "off"),
                       help="vgg16: compute the frozen base's features once and train only the rest (default on)")
    start.add_argument("--fine-tune-blocks", type=int, choices=range(6), metavar="K",
                       help="vgg16: let the search also train the last 0..K of VGG16's 5 conv blocks "
                            "(default 0: tune the head on the frozen base, at MLP speed)")
    start.add_argument("--warm-start", metavar="STUDY",
                       help="queue the best configs of another study of the same model (e.g. emnist-balanced-cnn)")
    start.add_argument("--warm-start-top", type=positive_int, default=3, metavar="K",
                       help="how many of its best configs --warm-start queues (default 3)")
    start.add_argument("--data-dir")
    worker = commands.add_parser("worker", help="join an existing study from any machine that reaches its storage")
    worker.add_argument("--study", required=True)
    worker.add_argument("--storage", help=storage_help)
    worker.add_argument("--trials", type=positive_int, help="finished trials to reach (default: the study's target)")
    worker.add_argument("--timeout", type=positive_int)
    worker.add_argument("--threads", type=positive_int)
    worker.add_argument("--data-dir")
    worker.add_argument("--quiet", action="store_true", help="no per-trial lines")
    worker.add_argument("--seed-offset", type=int, default=0, help=argparse.SUPPRESS)
    status = commands.add_parser("status", help="every study: trial counts, best value and params")
    status.add_argument("--storage", help=storage_help)
    status.add_argument("--json", action="store_true")
    dashboard = commands.add_parser("dashboard", help="optuna-dashboard on the same storage, with trial artifacts")
    dashboard.add_argument("--storage", help=storage_help)
    dashboard.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1 only)")
    dashboard.add_argument("--port", type=positive_int, default=8080)
    export = commands.add_parser("export", help="best trials as JSON configs for models.build / tune benchmark")
    export.add_argument("--split")
    export.add_argument("--model", default="cnn", choices=MODELS)
    export.add_argument("--study", help="study name (default emnist-<split>-<model>)")
    export.add_argument("--storage", help=storage_help)
    export.add_argument("--top", type=positive_int, default=3, help="how many of the best trials (default 3)")
    export.add_argument("--out", help="file to write (default studies/best/<split>-<model>.json)")
    export.add_argument("--all", action="store_true", help="export every study in the storage")
    bench = commands.add_parser("benchmark", help="retrain best configs and baselines, timed; writes a report")
    bench.add_argument("--splits", default="all", help="'all' or a comma list, e.g. mnist,balanced")
    bench.add_argument("--from", dest="source", default="studies/best", help="exported configs: a folder or one file")
    bench.add_argument("--models", default="tuned,cnn,mlp,vgg16", help="any of tuned, cnn, mlp, vgg16")
    bench.add_argument("--seeds", type=positive_int, default=3)
    bench.add_argument("--epochs", type=positive_int, help="override every model's epochs")
    bench.add_argument("--out", default="reports", help="report folder (default reports/)")
    bench.add_argument("--weights", default="imagenet", help="vgg16: imagenet, or none for random init")
    bench.add_argument("--data-dir")


def build_parser() -> Parser:
    parser = Parser(prog="tune", description="Hyperparameter tuning of EMNIST models with Optuna and Keras.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    add_data_commands(commands)
    add_study_commands(commands)
    return parser


def tune_argv() -> list[str]:
    """How to run this same `tune` again in a child process."""
    return [sys.executable, "-m", "tuning.cli"]


def dispatch(args) -> int:
    from tuning import data_commands

    if args.command == "data":
        handlers = {"download": data_commands.cmd_download, "verify": data_commands.cmd_verify, "info": data_commands.cmd_info}
        return handlers[args.data_command](args)
    from tuning._quiet import import_tensorflow_quietly

    import_tensorflow_quietly()
    from tuning import dashboard, export, study_commands

    handlers = {
        "start": study_commands.cmd_start,
        "worker": study_commands.cmd_worker,
        "status": study_commands.cmd_status,
        "dashboard": dashboard.cmd_dashboard,
        "export": export.cmd_export,
        "benchmark": cmd_benchmark,
    }
    return handlers[args.command](args)


def cmd_benchmark(args) -> int:
    from tuning.benchmark import run_benchmark
    from tuning.report import write_report

    cells = run_benchmark(args)
    print(f"report: {write_report(cells, Path(args.out), args.seeds)}")
    return 0


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
