"""The parquet landing of the `spark` target: every dbt source, billing partitioned by period."""

from decimal import Decimal

import duckdb
import pytest

from orchestration.config import ConfigError
from orchestration.ingest.parquet_export import dbt_source_tables, export_sources


@pytest.fixture
def warehouse():
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("CREATE SCHEMA raw")
    con.execute("""CREATE TABLE raw.billing_line_items AS SELECT * FROM (VALUES
        ('2026-10', 'i-a', CAST(1.2345678901 AS DECIMAL(38, 10)), CAST('2026-10-31 23:00:00' AS TIMESTAMP_NS)),
        ('2026-11', 'i-a', CAST(-0.0000000001 AS DECIMAL(38, 10)), CAST('2026-11-01 00:00:00' AS TIMESTAMP_NS)),
        ('2026-11', 'i-b', CAST(99999999.9999999999 AS DECIMAL(38, 10)), CAST('2026-11-02 10:30:00' AS TIMESTAMP_NS))
        ) AS t(x_billing_period, ResourceId, BilledCost, ChargePeriodStart)""")
    con.execute("CREATE TABLE raw.budgets (team VARCHAR, month VARCHAR, amount_usd DECIMAL(38, 10))")
    yield con
    con.close()


def test_every_dbt_source_is_exported():
    tables = dbt_source_tables()
    assert ("raw", "billing_line_items") in tables and ("ml", "spend_forecast") in tables
    assert len(tables) == len(set(tables)) >= 15


def test_billing_is_partitioned_by_period_and_money_and_time_survive(warehouse, tmp_path):
    tables = [("raw", "billing_line_items"), ("raw", "budgets")]
    exported = {e.table: e for e in export_sources(warehouse, tmp_path, tables)}
    billing = tmp_path / "raw" / "billing_line_items"
    assert sorted(p.name for p in billing.iterdir()) == ["x_billing_period=2026-10", "x_billing_period=2026-11"]
    assert exported["billing_line_items"].partition_by == "x_billing_period"
    assert exported["billing_line_items"].rows == 3

    back = duckdb.connect()
    rel = back.sql(f"SELECT * FROM read_parquet('{billing}/*/*.parquet', hive_partitioning = true) ORDER BY ResourceId, ChargePeriodStart")
    types = dict(zip(rel.columns, map(str, rel.types)))
    assert types["BilledCost"] == "DECIMAL(38,10)"
    assert types["ChargePeriodStart"] == "TIMESTAMP"          # microseconds: Spark rejects parquet nanoseconds
    rows = rel.fetchall()
    assert [r[rel.columns.index("BilledCost")] for r in rows] == [
        Decimal("1.2345678901"), Decimal("-0.0000000001"), Decimal("99999999.9999999999")]
    assert [str(r[rel.columns.index("x_billing_period")]) for r in rows] == ["2026-10", "2026-11", "2026-11"]

    # an empty table still lands as a file with its schema, for the engine to read
    empty = back.sql(f"SELECT * FROM read_parquet('{tmp_path}/raw/budgets/*.parquet')")
    assert empty.columns == ["team", "month", "amount_usd"] and empty.fetchall() == []


def test_a_new_export_replaces_the_old_one(warehouse, tmp_path):
    tables = [("raw", "billing_line_items")]
    export_sources(warehouse, tmp_path, tables)
    warehouse.execute("DELETE FROM raw.billing_line_items WHERE x_billing_period = '2026-10'")
    export_sources(warehouse, tmp_path, tables)
    billing = tmp_path / "raw" / "billing_line_items"
    assert [p.name for p in billing.iterdir()] == ["x_billing_period=2026-11"]
    n = duckdb.connect().execute(f"SELECT COUNT(*) FROM read_parquet('{billing}/*/*.parquet')").fetchone()[0]
    assert n == 2


def test_a_missing_source_says_to_run_first(warehouse, tmp_path):
    with pytest.raises(ConfigError, match="raw.jobs is not in the warehouse"):
        export_sources(warehouse, tmp_path, [("raw", "jobs")])
