"""The one error type users see. The CLI catches it and prints a single line (exit code 2)."""


class PetraError(Exception):
    """A problem with the user's input (config, data, options), described in one line."""
