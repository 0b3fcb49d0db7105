"""The one kind of error a user sees: what went wrong, what to do, and an exit code."""

from __future__ import annotations

USAGE = 2  # bad command line or config
FAILURE = 1  # the command was fine, the work failed


class UserError(Exception):
    """An error caused by input or environment, shown as one line without a traceback."""

    def __init__(self, message: str, hint: str | None = None, exit_code: int = FAILURE):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.exit_code = exit_code

    def one_line(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class ConfigError(UserError):
    """A usage or configuration mistake: exit code 2."""

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message, hint, exit_code=USAGE)
