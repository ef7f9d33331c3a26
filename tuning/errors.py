"""Errors the CLI answers with one line and exit code 2 (bad input) instead of a traceback."""


class UserError(ValueError):
    """A mistake in what the user asked for; the message says what and how to fix it."""


class NotRun(Exception):
    """A trial a worker started but did not run (its fail_reason says why: "not run: ...")."""


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


def check_writable_folder(path, what: str) -> None:
    """Fail now, in one line, if `path` cannot become a folder that takes files (`what` names the
    option or variable that chose it). Nothing is left behind: a probe folder is made and removed
    in the nearest existing ancestor."""
    import tempfile
    from pathlib import Path

    path = Path(path)
    ancestor = next(p for p in (path, *path.parents) if p.exists())
    if not ancestor.is_dir():
        raise UserError(f"{what} {path}: {ancestor} is a file, not a folder; choose another path")
    try:
        tempfile.TemporaryDirectory(dir=ancestor).cleanup()
    except OSError as exc:
        raise UserError(f"{what} {path}: cannot write into {ancestor} ({exc.strerror or exc}); choose a writable folder") from None
