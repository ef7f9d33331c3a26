"""The option types of `tune` (and of the scripts in benchmarks/): a value out of its bounds is an
argparse error, one line naming the option and what to give instead."""

from __future__ import annotations

import argparse

from tuning.settings import SCHEDULES


def whole(text: str, wanted: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number; give {wanted}") from None


def positive_int(text: str) -> int:
    value = whole(text, "one >= 1")
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not allowed; give a whole number >= 1")
    return value


#: the most trials one study may be asked to hold: a 100-trial byclass-dev study takes an hour on 2
#: cores, so more than this is a typo, not a plan (and a study that large makes every read slow)
MAX_TRIALS = 100_000


def trial_count(text: str) -> int:
    value = positive_int(text)
    if value > MAX_TRIALS:
        raise argparse.ArgumentTypeError(f"{value} is more than one study holds here; give 1..{MAX_TRIALS}")
    return value


def count(high: int, low: int = 1):
    """An option type: a whole number in low..high (epochs, seeds, top K, repeats: bounded, so a typo
    such as 1000000 is named at once, not found hours into a run)."""

    def parse(text: str) -> int:
        value = whole(text, f"{low}..{high}")
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is out of range; give {low}..{high}")
        return value

    return parse


#: the most seeds a benchmark repeats a model over (`tune benchmark --seeds`, the scripts' seed lists)
MAX_SEEDS = 100


def seed_int(text: str) -> int:
    """A seed every sampler and NumPy accept: 0 .. 2**31-1 (workers add their offsets below 2**32)."""
    value = whole(text, f"a seed in 0..{2**31 - 1}")
    if not 0 <= value < 2**31:
        raise argparse.ArgumentTypeError(f"{value} is not a seed; give a whole number in 0..{2**31 - 1}")
    return value


def fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number; give a fraction in (0, 1]") from None
    if not 0.0 < value <= 1.0:
        raise argparse.ArgumentTypeError(f"{value} is not in (0, 1]")
    return value


def schedule_list(text: str) -> tuple[str, ...]:
    names = [part.strip() for part in text.split(",") if part.strip()]
    if not names or any(name not in SCHEDULES for name in names) or len(set(names)) != len(names):
        raise argparse.ArgumentTypeError(f"{text!r}: give distinct schedules from {', '.join(SCHEDULES)} as a comma "
                                         "list, e.g. final,refit")
    return tuple(name for name in SCHEDULES if name in names)
