"""The one error type users see. The CLI catches it and prints a single line (exit code 2)."""


class PetraError(ValueError):
    """A problem with the user's input (config, data, options), described in one line.

    A ValueError so that validators running inside pydantic (e.g. a language spec's own checks)
    surface as config errors that name the field and the file.
    """
