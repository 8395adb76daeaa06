"""A typed row sink with a reject list: what every non-billing reader fills, so a bad record
always lands somewhere with its file, row, column and reason."""

from __future__ import annotations

import csv
import functools
import json
from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa

from .errors import BadFileError

# A value up to 16 MB is data (as DuckDB's max_line_size for billing), not a broken CSV: the csv
# module's default limit (128 KB) would fail a file over one long MLflow param or tag.
csv.field_size_limit(16 * 1024 * 1024)

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
        try:
            good = pa.table(self.rows, schema=self.schema)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, TypeError, ValueError):
            good = self._without_unconvertible()
        return good, pa.table(self.rejects, schema=REJECT_SCHEMA)

    def _without_unconvertible(self) -> pa.Table:
        """The slow path, for files whose values do not fit the schema (a JSON object where text
        belongs, a count beyond int64, an amount beyond DECIMAL(38,10)): such a record is
        rejected with its column, the rest kept. Clean files never come here."""
        n = len(next(iter(self.rows.values()), []))
        bad: dict[int, tuple[str, str, object]] = {}
        for f in self.schema:
            for i, value in enumerate(self.rows[f.name]):
                if i in bad or value is None:
                    continue
                try:
                    pa.array([value], f.type)
                except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, TypeError, ValueError):
                    bad[i] = (f.name, f"not a value of type {f.type} ({type(value).__name__})", value)
        rows_col = self.rows.get("source_row") or [None] * n
        for i, (column, reason, value) in sorted(bad.items()):
            self.reject(rows_col[i], column, reason, value)
        keep = [i for i in range(n) if i not in bad]
        return pa.table({k: [v[i] for i in keep] for k, v in self.rows.items()}, schema=self.schema)


def csv_file(reader):
    """A CSV reader whose file the csv module cannot split (a bare carriage return inside a value,
    a field beyond 16 MB) fails as a whole with BadFileError naming it, never csv.Error."""
    @functools.wraps(reader)
    def read(path: str, name: str | None = None, *args, **kwargs):
        try:
            return reader(path, name, *args, **kwargs)
        except csv.Error as exc:
            raise BadFileError(name or path, f"not a readable CSV ({exc})") from None
    return read


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
        try:
            return datetime.fromtimestamp(ts / 1000.0 if ts > 1e11 else ts, tz=timezone.utc)
        except (OverflowError, OSError, ValueError):  # NaN, or beyond the years datetime holds
            raise ValueError(f"{value!r} is not a Unix time") from None
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
