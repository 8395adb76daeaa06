"""The project's own error types: every reader raises these, never a stray exception."""

from __future__ import annotations


class IngestError(Exception):
    """Base class for anything a landing file can do wrong."""


class BadFileError(IngestError):
    """A whole file cannot be read. The message names the file and, where known, the column."""

    def __init__(self, file: str, message: str, column: str | None = None):
        self.file = file
        self.column = column
        where = f"{file}" + (f", column {column!r}" if column else "")
        super().__init__(f"{where}: {message}")


class LandingError(IngestError):
    """The landing location itself is unusable (missing folder, bucket, credentials)."""
