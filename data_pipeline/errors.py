"""The one error type of the data pipeline: a message a person can act on."""


class DataError(ValueError):
    """Bad or missing EMNIST data. The message names the file, what was wrong and the fix."""
