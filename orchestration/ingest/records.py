"""A typed row sink with a reject list: what every non-billing reader fills, so a bad record
always lands somewhere with its file, row, column and reason."""

from __future__ import annotations

import pyarrow as pa

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
