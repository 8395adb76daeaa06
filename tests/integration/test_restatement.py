"""A re-delivered billing period replaces the old one and changes nothing else; re-running a
period gives the same table bit for bit."""

import hashlib
import os
from datetime import datetime, timedelta

import pyarrow.compute as pc
import pyarrow.parquet as pq

from tests.conftest import ingest_all


def period_digest(con, period):
    rows = con.execute(
        "SELECT * FROM raw.billing_line_items WHERE x_billing_period = ? ORDER BY x_source_file, x_source_row",
        [period]).fetchall()
    return hashlib.sha256(repr(rows).encode()).hexdigest(), len(rows)


def test_sample_ingests_and_restated_legacy_month_is_not_double_counted(sample_landing, con, tagging):
    loads = ingest_all(con, sample_landing, tagging)
    assert sorted(loads) == ["2026-07", "2026-08", "2026-09", "2026-10", "2026-11"]
    nov = loads["2026-11"]
    assert len(nov.files_superseded) == 1 and "cur-legacy" in nov.files_superseded[0]
    for p, load in loads.items():
        assert load.billed_cost == load.landing_billed_cost, p
        assert load.rows_quarantined == 0
    formats = {r[0] for r in con.execute("SELECT DISTINCT x_source_format FROM raw.billing_line_items").fetchall()}
    assert formats == {"cur2", "cur_legacy", "focus-1.2"}


def test_redelivery_replaces_only_that_month_and_rerun_is_identical(sample_landing, con, tagging):
    ingest_all(con, sample_landing, tagging)
    before = {p: period_digest(con, p) for p in ("2026-08", "2026-09", "2026-10")}
    # AWS restates September: the overwrite-mode export rewrites the part file with new costs
    part = sample_landing / "billing/cur2/acme-ml-cur2/data/BILLING_PERIOD=2026-09/acme-ml-cur2-00001.snappy.parquet"
    table = pq.read_table(part)
    old_total = pc.sum(table["line_item_unblended_cost"]).as_py()
    table = table.set_column(table.schema.get_field_index("line_item_unblended_cost"), "line_item_unblended_cost",
                             pc.multiply(table["line_item_unblended_cost"], 1.1))
    pq.write_table(table, part)
    later = datetime(2026, 10, 15).timestamp()
    os.utime(part, (later, later))
    ingest_all(con, sample_landing, tagging, periods=["2026-09"])
    after = {p: period_digest(con, p) for p in ("2026-08", "2026-09", "2026-10")}
    assert after["2026-08"] == before["2026-08"] and after["2026-10"] == before["2026-10"]
    assert after["2026-09"] != before["2026-09"] and after["2026-09"][1] == before["2026-09"][1]
    cur2_total = con.execute(
        "SELECT SUM(BilledCost) FROM raw.billing_line_items WHERE x_billing_period = '2026-09' AND x_source_format = 'cur2'"
    ).fetchone()[0]
    assert round(float(cur2_total), 2) == round(old_total * 1.1, 2)
    # re-running the period without changes: identical, bit for bit
    ingest_all(con, sample_landing, tagging, periods=["2026-09"])
    assert period_digest(con, "2026-09") == after["2026-09"]


def test_newer_full_file_in_a_new_folder_supersedes_the_old(sample_landing, con, tagging):
    src = sample_landing / "billing/focus/gcp/focus-gcp-2026-10.csv.gz"
    copy = sample_landing / "billing/focus/gcp-redelivered/focus-gcp-2026-10.csv.gz"
    copy.parent.mkdir(parents=True)
    copy.write_bytes(src.read_bytes())
    t = (datetime(2026, 11, 5) + timedelta(hours=1)).timestamp()
    os.utime(copy, (t, t))
    load = ingest_all(con, sample_landing, tagging, periods=["2026-10"])["2026-10"]
    assert str(src) in load.files_superseded
    n = con.execute("SELECT COUNT(*) FROM raw.billing_line_items WHERE x_source_file = ?", [str(src)]).fetchone()[0]
    assert n == 0
    status = con.execute("SELECT DISTINCT status, superseded_by FROM raw.billing_files WHERE source_file = ?", [str(src)]).fetchall()
    assert status[0][0] == "superseded" and "gcp-redelivered" in status[0][1]
