"""Billing files written the way the exporting tools write them, from a few plain rows, so the
bad-input corpus (test_bad_billing_corpus.py) and the property tests (test_properties.py) can
break them one way at a time.

A row is a dict: account, bp (billing period start), start, end (datetimes or raw text), cost and
usage (text, as the file states them), lit (line item type), rid (resource id), desc, tags
(key -> value), id (line item id). Text formats write every value as text; parquet writes typed
columns (timestamps, doubles) unless a value in the column is raw text, then the whole column is
text, as a tool that exports strings would write it.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

FORMATS = ("cur2_parquet", "cur2_csv", "cur_legacy", "focus_csv", "focus_parquet")
CSV_FORMATS = ("cur2_csv", "cur_legacy", "focus_csv")
PARQUET_FORMATS = ("cur2_parquet", "focus_parquet")
ACCOUNT = "012345678901"


def row(i: int, cost: str = "10.50", period: str = "2026-10", **over) -> dict:
    y, m = map(int, period.split("-"))
    r = {"account": ACCOUNT, "bp": datetime(y, m, 1), "start": datetime(y, m, 2, i % 24),
         "end": datetime(y, m, 2, i % 24) .replace(minute=59, second=59), "cost": cost, "usage": "1.0",
         "lit": "Usage", "rid": f"i-{i:04d}", "desc": f"line {i}", "tags": {"user_team": "nlp"}, "id": f"li-{period}-{i}"}
    r.update(over)
    return r


def clean_rows(period: str = "2026-10") -> list[dict]:
    return [row(1, "10.50", period), row(2, "2.25", period, tags={}), row(3, "-1.25", period, lit="Credit", usage="0")]


def _text(v) -> str:
    if v is None:
        return ""
    if isinstance(v, datetime):
        return v.strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(v)


def _typed(values: list, kind: str) -> pa.Array:
    """A typed parquet column unless some value is raw text that is not of that type."""
    if kind == "time" and all(v is None or isinstance(v, datetime) for v in values):
        return pa.array(values, pa.timestamp("ms"))
    if kind == "double":
        try:
            return pa.array([None if v in (None, "") else float(v) for v in values], pa.float64())
        except ValueError:
            pass
    return pa.array([None if v is None else _text(v) for v in values], pa.string())


# --- CUR 2.0 ---------------------------------------------------------------------------------

def cur2_columns(rows: list[dict], typed: bool, extra: dict | None = None) -> dict:
    col = lambda k: [r.get(k) for r in rows]  # noqa: E731
    t = (lambda k, kind: _typed(col(k), kind)) if typed else (lambda k, kind: [_text(v) for v in col(k)])
    cols = {
        "bill_billing_period_start_date": t("bp", "time"),
        "bill_payer_account_id": t("account", "text"),
        "identity_line_item_id": t("id", "text"),
        "line_item_usage_account_id": [ACCOUNT] * len(rows),
        "line_item_line_item_type": t("lit", "text"),
        "line_item_usage_start_date": t("start", "time"),
        "line_item_usage_end_date": t("end", "time"),
        "line_item_product_code": ["AmazonEC2"] * len(rows),
        "line_item_usage_type": ["USE1-BoxUsage:g5.xlarge"] * len(rows),
        "line_item_resource_id": t("rid", "text"),
        "line_item_line_item_description": t("desc", "text"),
        "line_item_usage_amount": t("usage", "double"),
        "line_item_unblended_cost": t("cost", "double"),
    }
    tags = [list((r.get("tags") or {}).items()) for r in rows]
    product = [[("instance_type", "g5.xlarge"), ("region", "us-east-1")]] * len(rows)
    if typed:
        cols["resource_tags"] = pa.array(tags, pa.map_(pa.string(), pa.string()))
        cols["product"] = pa.array(product, pa.map_(pa.string(), pa.string()))
    else:
        cols["resource_tags"] = [json.dumps(dict(x)) for x in tags]
        cols["product"] = [json.dumps(dict(x)) for x in product]
    cols.update(extra or {})
    return cols


# --- legacy CUR ------------------------------------------------------------------------------

def legacy_columns(rows: list[dict], extra: dict | None = None) -> dict:
    col = lambda k: [_text(r.get(k)) for r in rows]  # noqa: E731
    cols = {
        "identity/LineItemId": col("id"),
        "bill/PayerAccountId": col("account"),
        "bill/BillingPeriodStartDate": col("bp"),
        "lineItem/UsageAccountId": [ACCOUNT] * len(rows),
        "lineItem/LineItemType": col("lit"),
        "lineItem/UsageStartDate": col("start"),
        "lineItem/UsageEndDate": col("end"),
        "lineItem/ProductCode": ["AmazonEC2"] * len(rows),
        "lineItem/UsageType": ["USE1-BoxUsage:g5.xlarge"] * len(rows),
        "lineItem/ResourceId": col("rid"),
        "lineItem/LineItemDescription": col("desc"),
        "lineItem/UsageAmount": col("usage"),
        "lineItem/UnblendedCost": col("cost"),
        "product/instanceType": ["g5.xlarge"] * len(rows),
    }
    # one column per tag key, as legacy CUR writes them: `resourceTags/user:team`
    keys = sorted({k for r in rows for k in (r.get("tags") or {})})
    for k in keys:
        name = k[len("user_"):] if k.startswith("user_") else k
        cols[f"resourceTags/user:{name}"] = [(r.get("tags") or {}).get(k, "") for r in rows]
    cols.update(extra or {})
    return cols


# --- FOCUS -----------------------------------------------------------------------------------

def focus_columns(rows: list[dict], typed: bool, extra: dict | None = None) -> dict:
    col = lambda k: [r.get(k) for r in rows]  # noqa: E731
    t = (lambda k, kind: _typed(col(k), kind)) if typed else (lambda k, kind: [_text(v) for v in col(k)])
    cols = {
        "BillingAccountId": t("account", "text"),
        "BillingPeriodStart": t("bp", "time"),
        "ChargePeriodStart": t("start", "time"),
        "ChargePeriodEnd": t("end", "time"),
        "ChargeCategory": ["Credit" if r.get("lit") == "Credit" else "Usage" for r in rows],
        "BilledCost": t("cost", "double"),
        "EffectiveCost": t("cost", "double"),
        "ConsumedQuantity": t("usage", "double"),
        "ServiceName": ["Compute Engine"] * len(rows),
        "ResourceId": t("rid", "text"),
        "ChargeDescription": t("desc", "text"),
        "Tags": [json.dumps(r.get("tags") or {}) if r.get("tags") else "" for r in rows],
    }
    cols.update(extra or {})
    return cols


# --- files -----------------------------------------------------------------------------------

def csv_text(cols: dict, newline: str = "\n") -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator=newline)
    w.writerow(list(cols))
    n = len(next(iter(cols.values()))) if cols else 0
    for i in range(n):
        w.writerow([cols[c][i] for c in cols])
    return buf.getvalue()


def columns_of(fmt: str, rows: list[dict], extra: dict | None = None) -> dict:
    if fmt == "cur2_parquet":
        return cur2_columns(rows, True, extra)
    if fmt == "cur2_csv":
        return cur2_columns(rows, False, extra)
    if fmt == "cur_legacy":
        return legacy_columns(rows, extra)
    if fmt == "focus_csv":
        return focus_columns(rows, False, extra)
    return focus_columns(rows, True, extra)


def data_path(landing: Path, fmt: str, period: str = "2026-10", name: str | None = None) -> Path:
    """Where the exporting tool puts a period's file."""
    billing = Path(landing) / "billing"
    y, m = map(int, period.split("-"))
    nxt = f"{y + m // 12}{m % 12 + 1:02d}01"
    if fmt == "cur2_parquet":
        return billing / "cur2" / "acme" / "data" / f"BILLING_PERIOD={period}" / (name or "acme-00001.snappy.parquet")
    if fmt == "cur2_csv":
        return billing / "cur2csv" / "acme" / "data" / f"BILLING_PERIOD={period}" / (name or "acme-00001.csv.gz")
    if fmt == "cur_legacy":
        return billing / "cur-legacy" / "rep" / f"{y}{m:02d}01-{nxt}" / "7a1c0e2f" / (name or "rep-1.csv.gz")
    if fmt == "focus_csv":
        return billing / "focus" / (name or f"focus-{period}.csv")
    return billing / "focus-pq" / (name or f"focus-{period}.parquet")


def file_bytes(fmt: str, cols: dict, newline: str = "\n") -> bytes:
    if fmt in PARQUET_FORMATS:
        sink = io.BytesIO()
        pq.write_table(pa.table(cols), sink)
        return sink.getvalue()
    text = csv_text(cols, newline).encode("utf-8")
    return gzip.compress(text, mtime=0) if fmt in ("cur2_csv", "cur_legacy") else text


def write(landing: Path, fmt: str, rows: list[dict], period: str = "2026-10", name: str | None = None,
          extra: dict | None = None, newline: str = "\n") -> Path:
    path = data_path(landing, fmt, period, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(file_bytes(fmt, columns_of(fmt, rows, extra), newline))
    return path


def cost_column(fmt: str) -> str:
    return {"cur2_parquet": "line_item_unblended_cost", "cur2_csv": "line_item_unblended_cost",
            "cur_legacy": "lineItem/UnblendedCost"}.get(fmt, "BilledCost")


def start_column(fmt: str) -> str:
    return {"cur2_parquet": "line_item_usage_start_date", "cur2_csv": "line_item_usage_start_date",
            "cur_legacy": "lineItem/UsageStartDate"}.get(fmt, "ChargePeriodStart")


def account_column(fmt: str) -> str:
    return {"cur2_parquet": "bill_payer_account_id", "cur2_csv": "bill_payer_account_id",
            "cur_legacy": "bill/PayerAccountId"}.get(fmt, "BillingAccountId")


def tags_column(fmt: str) -> str:
    return {"cur2_parquet": "resource_tags", "cur2_csv": "resource_tags"}.get(fmt, "Tags")
