"""Errors the CLI answers with one line and exit code 2 (bad input) instead of a traceback."""


class UserError(ValueError):
    """A mistake in what the user asked for; the message says what and how to fix it."""


def env_int(name: str, default: int, low: int = 1) -> int:
    """The whole number in environment variable `name` (>= low), else `default`; a UserError naming
    the variable when it holds anything else."""
    import os

    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or value < low:
        raise UserError(f"{name}={text!r} must be a whole number >= {low} (default {default}); fix or unset it")
    return value
