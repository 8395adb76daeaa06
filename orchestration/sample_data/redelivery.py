"""The next daily CUR 2.0 refresh, for tests and benchmarks of the nightly (incremental) run:
AWS Data Exports rewrites the current month's part files each day with one more day in them."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb


def land_next_day(landing: str | Path) -> tuple[str, int]:
    """Re-deliver the latest CUR 2.0 billing period with one more day of usage: every line item
    that started on the period's last day, a day later and with new line item ids, appended to the
    period's last part file. The file is written beside the old one and renamed over it (a
    hard-linked copy of a landing keeps its original). Returns (billing period, line items added)."""
    parts = sorted(Path(landing).rglob("BILLING_PERIOD=*/*.parquet"))
    if not parts:
        raise FileNotFoundError(f"no CUR 2.0 part files under {landing}")
    latest = max(p.parent.name for p in parts)
    period_parts = [str(p) for p in parts if p.parent.name == latest]
    target = Path(period_parts[-1])
    staged = target.with_name(target.name + ".next-day")
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        last_day, next_month = con.execute(
            "SELECT MAX(CAST(line_item_usage_start_date AS DATE)), "
            "       MAX(CAST(line_item_usage_start_date AS DATE)) + 1 >= date_trunc('month', MAX(line_item_usage_start_date)) + INTERVAL 1 MONTH "
            "FROM read_parquet(?)", [period_parts]).fetchone()
        if next_month:
            raise ValueError(f"{latest} already ends on its last day ({last_day}): there is no next day in that month to land")
        con.execute("CREATE TEMP TABLE next_day AS "
                    "SELECT * REPLACE (identity_line_item_id || '-next' AS identity_line_item_id, "
                    "                  line_item_usage_start_date + INTERVAL 1 DAY AS line_item_usage_start_date, "
                    "                  line_item_usage_end_date + INTERVAL 1 DAY AS line_item_usage_end_date) "
                    "FROM read_parquet(?) WHERE CAST(line_item_usage_start_date AS DATE) = ?", [period_parts, last_day])
        added = con.execute("SELECT COUNT(*) FROM next_day").fetchone()[0]
        src = str(target).replace("'", "''")
        con.execute(f"COPY (SELECT * FROM read_parquet('{src}') UNION ALL BY NAME SELECT * FROM next_day) "
                    f"TO '{str(staged).replace(chr(39), chr(39) * 2)}' (FORMAT parquet)")
    finally:
        con.close()
    os.replace(staged, target)
    return latest.split("=", 1)[1], added
