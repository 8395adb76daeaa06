"""CUR -> FOCUS amortisation, tag flattening and GPU derivation on a hand-made CUR 2.0 file."""

import json
from datetime import datetime
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq

from tests.conftest import ingest_all

T0, T1 = datetime(2026, 11, 3, 10), datetime(2026, 11, 3, 11)
P0, P1 = datetime(2026, 11, 1), datetime(2026, 12, 1)

# (line item type, usage type, unblended, sp effective, sp total, sp used, ri effective, ri unused fee, tags)
ROWS = [
    ("Usage", "USE1-BoxUsage:p4d.24xlarge", 21.958, None, None, None, None, None, {"user_Team": "nlp", "user_project": "llm"}),
    ("SavingsPlanCoveredUsage", "USE1-BoxUsage:g5.12xlarge", 5.672, 4.08, None, None, None, None, {"user_team": "a", "Team": "b"}),
    ("SavingsPlanNegation", "USE1-BoxUsage:g5.12xlarge", -5.672, None, None, None, None, None, {}),
    ("SavingsPlanRecurringFee", "ComputeSP:1yrNoUpfront", 8.5, None, 8.5, 4.08, None, None, {}),
    ("DiscountedUsage", "USE1-BoxUsage:p3.2xlarge", 0.0, None, None, None, 1.9, None, {"user_JobType": "training"}),
    ("RIFee", "USE1-HeavyUsage:p3.2xlarge", 100.0, None, None, None, None, 5.0, {}),
    ("Credit", "", -20.0, None, None, None, None, None, {}),
    ("Tax", "", 3.0, None, None, None, None, None, {}),
    ("Usage", "ml.g5.2xlarge-Training", 1.515, None, None, None, None, None, {"user_env": "dev"}),
]


def write_cur2(path, rows=ROWS, payer="012345678901"):
    n = len(rows)
    col = lambda i: [r[i] for r in rows]  # noqa: E731
    tags = pa.array([list(r[8].items()) for r in rows], type=pa.map_(pa.string(), pa.string()))
    table = pa.table({
        "bill_payer_account_id": [payer] * n,
        "bill_billing_period_start_date": pa.array([P0] * n, pa.timestamp("ms")),
        "bill_billing_period_end_date": pa.array([P1] * n, pa.timestamp("ms")),
        "line_item_usage_account_id": ["210987654321"] * n,
        "line_item_line_item_type": col(0),
        "line_item_usage_type": col(1),
        "line_item_usage_start_date": pa.array([T0] * n, pa.timestamp("ms")),
        "line_item_usage_end_date": pa.array([T1] * n, pa.timestamp("ms")),
        "line_item_product_code": ["AmazonEC2"] * n,
        "line_item_resource_id": [f"i-{i:04d}" for i in range(n)],
        "line_item_unblended_cost": pa.array(col(2), pa.float64()),
        "line_item_usage_amount": pa.array([1.0] * n),
        "pricing_term": ["OnDemand"] * n,
        "savings_plan_savings_plan_effective_cost": pa.array(col(3), pa.float64()),
        "savings_plan_total_commitment_to_date": pa.array(col(4), pa.float64()),
        "savings_plan_used_commitment": pa.array(col(5), pa.float64()),
        "savings_plan_savings_plan_a_r_n": ["arn:sp" if "SavingsPlan" in r[0] else None for r in rows],
        "reservation_effective_cost": pa.array(col(6), pa.float64()),
        "reservation_unused_recurring_fee": pa.array(col(7), pa.float64()),
        "reservation_reservation_a_r_n": ["arn:ri" if r[0] in ("DiscountedUsage", "RIFee") else None for r in rows],
        "resource_tags": tags,
        "identity_line_item_id": [f"li-{i}" for i in range(n)],
    })
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)


def test_effective_cost_follows_aws_amortisation(tmp_path, con, tagging):
    write_cur2(tmp_path / "landing" / "billing" / "cur2" / "x-00001.snappy.parquet")
    loads = ingest_all(con, tmp_path / "landing", tagging)
    assert list(loads) == ["2026-11"]
    got = dict(con.execute(
        "SELECT x_line_item_type, EffectiveCost FROM raw.billing_line_items").fetchall())
    assert got["Usage"] in (Decimal("21.958"), Decimal("1.515"))
    assert got["SavingsPlanCoveredUsage"] == Decimal("4.08")
    assert got["SavingsPlanNegation"] == 0          # the negation must not count twice
    assert got["SavingsPlanRecurringFee"] == Decimal("4.42")  # unused commitment only
    assert got["DiscountedUsage"] == Decimal("1.9")
    assert got["RIFee"] == Decimal("5")             # unused recurring fee only
    assert got["Credit"] == Decimal("-20")          # credits stay negative
    billed, effective = con.execute("SELECT SUM(BilledCost), SUM(EffectiveCost) FROM raw.billing_line_items").fetchone()
    assert billed == Decimal("114.973")             # the invoice: sum of unblended cost
    assert effective == Decimal("21.958") + Decimal("4.08") + Decimal("4.42") + Decimal("1.9") + 5 - 20 + 3 + Decimal("1.515")
    cats = dict(con.execute("SELECT x_line_item_type, ChargeCategory FROM raw.billing_line_items").fetchall())
    assert cats["RIFee"] == "Purchase" and cats["Tax"] == "Tax" and cats["Credit"] == "Credit"


def test_tags_flattened_case_insensitively_with_precedence(tmp_path, con, tagging):
    write_cur2(tmp_path / "landing" / "billing" / "x.parquet")
    ingest_all(con, tmp_path / "landing", tagging)
    rows = {r[0]: r[1:] for r in con.execute(
        "SELECT ResourceId, team, project, job_type, env FROM raw.billing_line_items").fetchall()}
    assert rows["i-0000"][:2] == ("nlp", "llm")          # user_Team, user_project
    assert rows["i-0001"][0] == "a"                      # user_team wins over bare Team
    assert rows["i-0004"][2] == "training"               # user_JobType -> job_type
    assert rows["i-0008"][3] == "dev"


def test_gpu_derived_from_usage_type_through_catalog(tmp_path, con, tagging):
    write_cur2(tmp_path / "landing" / "billing" / "x.parquet")
    ingest_all(con, tmp_path / "landing", tagging)
    rows = {r[0]: r[1:] for r in con.execute(
        "SELECT ResourceId, x_instance_type, x_gpu_count, x_gpu_model FROM raw.billing_line_items").fetchall()}
    assert rows["i-0000"] == ("p4d.24xlarge", 8, "A100-40GB")
    assert rows["i-0008"] == ("ml.g5.2xlarge", 1, "A10G")
    assert rows["i-0006"] == (None, None, None)


def test_account_ids_keep_leading_zeros(tmp_path, con, tagging):
    write_cur2(tmp_path / "landing" / "billing" / "x.parquet", payer="012345678901")
    ingest_all(con, tmp_path / "landing", tagging)
    assert con.execute("SELECT DISTINCT BillingAccountId FROM raw.billing_line_items").fetchall() == [("012345678901",)]


LEGACY_CASE_VARIANTS = (
    "identity/LineItemId,bill/PayerAccountId,bill/BillingPeriodStartDate,bill/BillingPeriodEndDate,"
    "lineItem/UsageAccountId,lineItem/LineItemType,lineItem/UsageStartDate,lineItem/UsageEndDate,"
    "lineItem/ProductCode,lineItem/UsageType,lineItem/ResourceId,lineItem/UsageAmount,lineItem/UnblendedCost,"
    "resourceTags/user:TEAM,resourceTags/user:Team,resourceTags/user:team\n"
    "a1,098765432109,2026-11-01T00:00:00Z,2026-12-01T00:00:00Z,098765432109,Usage,2026-11-03T10:00:00Z,"
    "2026-11-03T11:00:00Z,AmazonEC2,BoxUsage:g5.2xlarge,i-1,1,1.212,,,vision\n"
    "a2,098765432109,2026-11-01T00:00:00Z,2026-12-01T00:00:00Z,098765432109,Usage,2026-11-03T10:00:00Z,"
    "2026-11-03T11:00:00Z,AmazonEC2,BoxUsage:g5.2xlarge,i-2,1,1.212,,Research,\n"
)


def test_legacy_cur_tag_columns_differing_only_in_case_are_all_read(tmp_path, con, tagging):
    """AWS writes one legacy column per tag-key spelling (`user:TEAM`, `user:Team`, `user:team`);
    DuckDB's names are case-insensitive, so each must still be read as its own column."""
    f = tmp_path / "billing" / "cur-legacy" / "r" / "20261101-20261201" / "asm" / "r-1.csv"
    f.parent.mkdir(parents=True)
    f.write_text(LEGACY_CASE_VARIANTS)
    ingest_all(con, tmp_path, tagging)
    rows = con.execute("SELECT ResourceId, team FROM raw.billing_line_items ORDER BY ResourceId").fetchall()
    assert rows == [("i-1", "vision"), ("i-2", "Research")]


def test_focus_tags_column_keeps_every_cur_tag_as_json(tmp_path, con, tagging):
    """FOCUS `Tags` carries all of a line's tags (CUR 2.0 MAP and legacy tag columns), not just the
    flattened ones: protected-tag rules read keys like `user_tier` from it."""
    write_cur2(tmp_path / "billing" / "cur2.parquet")
    f = tmp_path / "billing" / "cur-legacy" / "r" / "20261101-20261201" / "asm" / "r-1.csv"
    f.parent.mkdir(parents=True)
    f.write_text(LEGACY_CASE_VARIANTS)
    ingest_all(con, tmp_path, tagging)
    tags = dict(con.execute("SELECT x_source_format || ':' || COALESCE(ResourceId, x_line_item_type), Tags "
                            "FROM raw.billing_line_items WHERE Tags IS NOT NULL").fetchall())
    assert any('"user_Team":"nlp"' in t.replace(" ", "") for k, t in tags.items() if k.startswith("cur2"))
    assert json.loads(tags["cur_legacy:i-2"]) == {"user:Team": "Research"}
