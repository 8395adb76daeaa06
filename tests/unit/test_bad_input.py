"""Bad rows go to quarantine with file, row, column and reason; a bad file fails only its own
period; reconciliation still balances (landing = canonical + quarantine)."""

import gzip
from decimal import Decimal

import pytest

from orchestration.ingest.billing import PeriodFailed
from orchestration.ingest.pipeline import billing_checks
from tests.conftest import ingest_all

HEADER = "BillingAccountId,BillingPeriodStart,ChargePeriodStart,ChargePeriodEnd,ChargeCategory,BilledCost,EffectiveCost,ServiceName,Tags\n"


def focus_csv(path, rows, period="2026-10"):
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [HEADER] + [
        f"{acct},{period}-01T00:00:00Z,{start},{end},Usage,{cost},{cost},Compute Engine,\"{tags}\"\n"
        for acct, start, end, cost, tags in rows
    ]
    path.write_text("".join(lines))


def test_bad_rows_are_quarantined_with_row_column_and_reason(tmp_path, con, tagging):
    good = ("acct-1", "2026-10-02T00:00:00Z", "2026-10-02T01:00:00Z", "10.50", '{""team"":""nlp""}')
    focus_csv(tmp_path / "landing" / "billing" / "f.csv", [
        good,
        ("acct-1", "2026-10-02T00:00:00Z", "2026-10-02T01:00:00Z", "abc", "{}"),
        ("acct-1", "2026-10-02T00:00:00Z", "2026-10-02T01:00:00Z", "NaN", "{}"),
        ("acct-1", "2026-10-02T00:00:00Z", "2026-10-02T01:00:00Z", "1e308", "{}"),
        ("acct-1", "not a date", "2026-10-02T01:00:00Z", "2.00", "{}"),
        ("acct-1", "2026-10-02T05:00:00Z", "2026-10-02T01:00:00Z", "3.00", "{}"),
        ("acct-1", "2026-10-02T00:00:00Z", "2026-10-02T01:00:00Z", "4.00", "not json"),
        ("acct-1", "2026-10-02 03:00:00+02:00", "2026-10-02T02:00:00Z", "-1.25", "{}"),
    ])
    loads = ingest_all(con, tmp_path / "landing", tagging)
    assert loads["2026-10"].rows_loaded == 2
    q = con.execute("SELECT source_row, column_name, reason, raw_value, billed_cost FROM raw.billing_quarantine ORDER BY source_row").fetchall()
    assert [(r[0], r[1]) for r in q] == [
        (2, "BilledCost"), (3, "BilledCost"), (4, "BilledCost"), (5, "ChargePeriodStart"),
        (6, "ChargePeriodEnd"), (7, "Tags")]
    assert q[0][2].startswith("not a finite decimal") and q[0][3] == "abc"
    assert q[3][3] == "not a date"
    # the offset timestamp is converted to UTC, and the credit stays negative
    assert con.execute("SELECT ChargePeriodStart, BilledCost FROM raw.billing_line_items WHERE BilledCost < 0").fetchone() == (
        __import__("datetime").datetime(2026, 10, 2, 1, 0), Decimal("-1.25"))
    checks = {c.name: c for c in billing_checks(con, "2026-10")}
    assert checks["landing_reconciles"].passed, checks["landing_reconciles"].metadata


def test_truncated_gzip_fails_only_its_own_period(tmp_path, con, tagging):
    landing = tmp_path / "landing"
    focus_csv(landing / "billing" / "ok-2026-09.csv",
              [("acct-1", "2026-09-02T00:00:00Z", "2026-09-02T01:00:00Z", "5.00", "{}")], period="2026-09")
    good = landing / "billing" / "ok-2026-10.csv"
    focus_csv(good, [("acct-1", "2026-10-02T00:00:00Z", "2026-10-02T01:00:00Z", "7.00", "{}")] * 50)
    blob = gzip.compress(good.read_bytes())
    good.unlink()
    (landing / "billing" / "cut-2026-10.csv.gz").write_bytes(blob[: len(blob) // 2])
    ingest_all(con, landing, tagging, periods=["2026-09"])  # the other period is fine
    assert con.execute("SELECT SUM(BilledCost) FROM raw.billing_line_items").fetchone()[0] == Decimal("5")
    with pytest.raises(PeriodFailed, match=r"cut-2026-10\.csv\.gz"):
        ingest_all(con, landing, tagging, periods=["2026-10"])


def test_unreadable_csv_rows_are_quarantined_not_dropped(tmp_path, con, tagging):
    p = tmp_path / "landing" / "billing" / "f.csv"
    p.parent.mkdir(parents=True)
    p.write_text(HEADER + "acct-1,2026-10-01T00:00:00Z,2026-10-02T00:00:00Z,2026-10-02T01:00:00Z,Usage,1.00,1.00,X,\"{}\"\n"
                 + "acct-1,2026-10-01T00:00:00Z,too,few\n")
    ingest_all(con, tmp_path / "landing", tagging)
    assert con.execute("SELECT COUNT(*) FROM raw.billing_line_items").fetchone()[0] == 1
    reasons = [r[0] for r in con.execute("SELECT reason FROM raw.billing_quarantine").fetchall()]
    assert len(reasons) == 1 and reasons[0].startswith("CSV row cannot be parsed")
