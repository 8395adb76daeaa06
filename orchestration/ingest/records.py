"""A typed row sink with a reject list: what every non-billing reader fills, so a bad record
always lands somewhere with its file, row, column and reason."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa

from .errors import BadFileError

REJECT_SCHEMA = pa.schema([
    ("source_file", pa.string()), ("source_row", pa.int64()), ("column_name", pa.string()),
    ("reason", pa.string()), ("raw_value", pa.string()),
])


class RecordSink:
    def __init__(self, schema: pa.Schema, source_file: str):
        self.schema = schema
        self.source_file = source_file
        self.rows: dict[str, list] = {f.name: [] for f in schema}
        self.rejects: dict[str, list] = {f.name: [] for f in REJECT_SCHEMA}

    def add(self, row: int, record: dict) -> None:
        record = dict(record, source_file=self.source_file, source_row=row)
        for name in self.rows:
            self.rows[name].append(record.get(name))

    def reject(self, row: int, column: str, reason: str, raw=None) -> None:
        for name, value in (("source_file", self.source_file), ("source_row", row), ("column_name", column),
                            ("reason", reason), ("raw_value", None if raw is None else str(raw)[:500])):
            self.rejects[name].append(value)

    def tables(self) -> tuple[pa.Table, pa.Table]:
        return pa.table(self.rows, schema=self.schema), pa.table(self.rejects, schema=REJECT_SCHEMA)


def read_text(path: str, name: str, what: str) -> str:
    """A UTF-8 text file (a BOM is dropped); a file that cannot be read names itself."""
    try:
        return Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise BadFileError(name, f"not a readable {what} ({exc})") from None


def read_json(path: str, name: str, what: str):
    try:
        return json.loads(read_text(path, name, what))
    except json.JSONDecodeError as exc:
        raise BadFileError(name, f"not a readable {what} ({exc})") from None


def parse_instant(value) -> datetime | None:
    """A point in time as tools write it: ISO-8601 with or without an offset (UTC assumed
    without), `YYYY-MM-DD HH:MM:SS[.f][+00:00]`, or epoch seconds / milliseconds. Aware UTC with
    its sub-second part; None when empty. Raises ValueError when it is not a time."""
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        ts = float(value)
        return datetime.fromtimestamp(ts / 1000.0 if ts > 1e11 else ts, tz=timezone.utc)
    text = str(value).strip()
    if not text or text.lower() in ("nan", "nat", "none", "null"):
        return None
    try:
        return parse_instant(float(text))
    except ValueError:
        pass
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)


def parse_time(value) -> datetime | None:
    """parse_instant as naive UTC, to the second: what the raw tables store."""
    dt = parse_instant(value)
    return None if dt is None else dt.replace(tzinfo=None, microsecond=0)
