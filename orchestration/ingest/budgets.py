"""Reader for budgets.csv (`team,month,amount_usd`): what finance allots per team and month."""

from __future__ import annotations

import csv
import io
import re
from decimal import Context, Decimal, InvalidOperation

import pyarrow as pa

from .errors import BadFileError
from .records import RecordSink, csv_file, read_text

BUDGET_SCHEMA = pa.schema([
    ("team", pa.string()), ("month", pa.string()), ("amount_usd", pa.decimal128(38, 10)),
    ("source_file", pa.string()), ("source_row", pa.int64()),
])
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
MAX_AMOUNT = Decimal("1e28")  # DECIMAL(38, 10): 28 digits before the point


@csv_file
def read_budgets_csv(path: str, name: str | None = None) -> tuple[pa.Table, pa.Table]:
    name = name or path
    reader = csv.DictReader(io.StringIO(read_text(path, name, "CSV")))
    fields = [f.strip() for f in reader.fieldnames or []]
    for required in ("team", "month", "amount_usd"):
        if required not in fields:
            raise BadFileError(name, "budgets.csv without a required column", required)
    sink = RecordSink(BUDGET_SCHEMA, name)
    seen = set()
    for row, r in enumerate(reader, start=1):
        r = {k.strip(): (v or "").strip() for k, v in r.items() if k}
        if not r["team"]:
            sink.reject(row, "team", "empty team", None)
        elif not _MONTH.match(r["month"]):
            sink.reject(row, "month", "month must be YYYY-MM", r["month"])
        elif (r["team"], r["month"]) in seen:
            sink.reject(row, "team", "a second budget for the same team and month", f"{r['team']} {r['month']}")
        else:
            try:
                amount = Decimal(r["amount_usd"].replace(",", ""))
                if not amount.is_finite() or not 0 <= amount < MAX_AMOUNT:
                    raise InvalidOperation
                amount = amount.quantize(Decimal("1e-10"), context=Context(prec=38))  # the table's scale, as DECIMAL(38,10) rounds
            except InvalidOperation:
                sink.reject(row, "amount_usd", "amount must be a number >= 0 that fits DECIMAL(38,10)", r["amount_usd"])
                continue
            seen.add((r["team"], r["month"]))
            sink.add(row, {"team": r["team"], "month": r["month"], "amount_usd": amount})
    return sink.tables()
