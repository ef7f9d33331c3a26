"""What every script in benchmarks/ shares with `tune`: bad input is one line naming the problem and
the fix, exit code 2, before any work, and no file is replaced by a run that could not start."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tuning.cli import Parser  # noqa: E402,F401
from tuning.options import MAX_SEEDS, count, seed_int  # noqa: E402,F401  (the scripts' option types)


def seed_list(text: str) -> list[int]:
    """A comma list of distinct seeds, e.g. 0,1,2."""
    seeds = [seed_int(part.strip()) for part in text.split(",") if part.strip()]
    if not seeds or len(set(seeds)) != len(seeds) or len(seeds) > MAX_SEEDS:
        raise argparse.ArgumentTypeError(f"{text!r}: give 1..{MAX_SEEDS} distinct seeds as a comma list, e.g. 0,1,2")
    return seeds


def seconds(high: float):
    """An option type: a time in seconds, above 0 and at most `high`."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds; give one in (0, {high:g}]") from None
        if not 0 < value <= high:
            raise argparse.ArgumentTypeError(f"{value:g} is out of range; give seconds in (0, {high:g}]")
        return value

    return parse


def choice_list(choices) -> callable:
    """An option type: a comma list of distinct names, each one of `choices`."""

    def parse(text: str) -> list[str]:
        names = [part.strip() for part in text.split(",") if part.strip()]
        unknown = [name for name in names if name not in choices]
        if unknown or not names or len(set(names)) != len(names):
            raise argparse.ArgumentTypeError(f"{unknown[0] if unknown else text!r}: give distinct names from "
                                             f"{', '.join(choices)} as a comma list")
        return names

    return parse


def existing_file(text: str) -> str:
    path = Path(text)
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"{text}: {'a folder' if path.is_dir() else 'no such file'}; give a file")
    return text


def family_name(text: str) -> str:
    from tuning.families import FAMILIES

    if text not in FAMILIES:
        raise argparse.ArgumentTypeError(f"unknown model family {text!r}; choose from {', '.join(FAMILIES)}")
    return text


def postgres_admin(url: str):
    """An autocommit connection to the PostgreSQL server of `url`, or one line saying it cannot be reached."""
    import psycopg

    try:
        return psycopg.connect(url.replace("+psycopg", ""), autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        fail(f"cannot reach PostgreSQL at {url} ({str(exc).strip().splitlines()[0]}); start it or pass --postgres")


def check_split_files(split: str, data_dir) -> None:
    """The split's files in `data_dir`, checked (and parsed into the array cache) before any work."""
    from data_pipeline import load_split

    load_split(split, data_dir)


def split_name(text: str) -> str:
    from data_pipeline import SPLITS

    if text not in SPLITS:
        raise argparse.ArgumentTypeError(f"unknown split {text!r}; choose from {', '.join(SPLITS)}")
    return text


def read_results(path: Path, required: tuple[str, ...]) -> dict | None:
    """A results file a script writes and reads back: None when it is not there yet; one line and exit 2
    when it is not whole (hand-edited, truncated, foreign), leaving it as it is."""
    if not path.exists():
        return None
    try:
        document = json.loads(path.read_text())
        if not isinstance(document, dict) or not all(key in document for key in required):
            raise ValueError(f"it lacks {', '.join(key for key in required if key not in (document or {}))}")
    except (OSError, ValueError, UnicodeDecodeError) as exc:  # json.JSONDecodeError is a ValueError
        fail(f"{path} is not a whole results file of this script ({str(exc).splitlines()[0]}); it is left as it is: "
             "move it away or pass another --out")
    return document


def fail(message: str) -> None:
    print(f"{Path(sys.argv[0]).name}: error: {message}", file=sys.stderr)
    raise SystemExit(2)


def guarded(main) -> None:
    """Run `main`, answering bad input that surfaces later (a UserError, a DataError) like `tune` does."""
    from data_pipeline import DataError
    from tuning.errors import UserError

    try:
        main()
    except (UserError, DataError) as exc:
        fail(str(exc))
