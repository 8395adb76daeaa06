"""The project's own error types: every reader raises these, never a stray exception.

Every message is one sentence a user can act on: what is wrong (naming the file, column or
setting) and what to do about it.
"""

from __future__ import annotations

# What to do with a landing file that cannot be read, unless the reader knows better.
REDELIVER = "re-deliver the file or remove it from the landing folder"


class IngestError(Exception):
    """Base class for anything a landing file can do wrong."""


class BadFileError(IngestError):
    """A whole file cannot be read. The message names the file and, where known, the column,
    and ends with what to do (`fix`, by default: re-deliver or remove the file)."""

    def __init__(self, file: str, message: str, column: str | None = None, fix: str = REDELIVER):
        message = " ".join(str(message).split())  # one line, whatever the library said
        self.file = file
        self.column = column
        self.problem = message
        self.fix = fix
        where = f"{file}" + (f", column {column!r}" if column else "")
        super().__init__(f"{where}: {message}" + (f"; {fix}" if fix else ""))


class LandingError(IngestError):
    """The landing location itself is unusable (missing folder, bucket, credentials)."""
