"""The next daily CUR 2.0 refresh, for tests and benchmarks of the nightly (incremental) run:
AWS Data Exports rewrites the current month's part files each day with one more day in them."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb


def land_next_day(landing: str | Path) -> tuple[str, int]:
    """Re-deliver the latest CUR 2.0 billing period's last part file with one more day of usage
    (the last day's line items a day later, with new line item ids). The file is written beside
    the old one and renamed over it (a hard-linked copy of a landing keeps its original).
    Returns (billing period, line items added)."""
    parts = sorted(Path(landing).rglob("BILLING_PERIOD=*/*.parquet"))
    if not parts:
        raise FileNotFoundError(f"no CUR 2.0 part files under {landing}")
    latest = max(p.parent.name for p in parts)
    target = [p for p in parts if p.parent.name == latest][-1]
    src = str(target).replace("'", "''")
    staged = target.with_name(target.name + ".next-day")
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        last_day = con.execute(
            f"SELECT MAX(CAST(line_item_usage_start_date AS DATE)) FROM read_parquet('{src}')").fetchone()[0]
        next_day = f"""
            SELECT * REPLACE (identity_line_item_id || '-next' AS identity_line_item_id,
                              line_item_usage_start_date + INTERVAL 1 DAY AS line_item_usage_start_date,
                              line_item_usage_end_date + INTERVAL 1 DAY AS line_item_usage_end_date)
            FROM read_parquet('{src}')
            WHERE CAST(line_item_usage_start_date AS DATE) = DATE '{last_day}'"""
        added = con.execute(f"SELECT COUNT(*) FROM ({next_day})").fetchone()[0]
        con.execute(f"COPY (SELECT * FROM read_parquet('{src}') UNION ALL {next_day}) "
                    f"TO '{str(staged).replace(chr(39), chr(39) * 2)}' (FORMAT parquet)")
    finally:
        con.close()
    os.replace(staged, target)
    return latest.split("=", 1)[1], added
