"""Errors the CLI answers with one line and exit code 2 (bad input) instead of a traceback."""


class UserError(ValueError):
    """A mistake in what the user asked for; the message says what and how to fix it."""
