"""The one error type users see. The CLI catches it and prints a single line (exit code 2)."""


class PetraError(ValueError):
    """A problem with the user's input (config, data, options), described in one line.

    A ValueError so that validators running inside pydantic (e.g. a language spec's own checks)
    surface as config errors that name the field and the file.
    """


class FieldError(PetraError):
    """A config error found by a check over several sections, where pydantic cannot tell which field
    is at fault: ``field`` names it (the config loader puts it in the one-line message)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class UnitsFailed(PetraError):
    """Units failed every retry and none finished, so nothing was written (the CLI exits 1, as when
    some finished: a rerun retries the failed ones)."""

    def __init__(self, failures: list[str]) -> None:
        super().__init__("no unit finished, so nothing was written: " + "; ".join(failures))
        self.failures = failures
