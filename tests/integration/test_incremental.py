"""The nightly run is incremental and exact: after a full build, one more day lands (the current
month's CUR 2.0 part file re-delivered, as AWS Data Exports does each day), the period is
re-ingested and dbt rebuilds only that billing period of the incremental models; every table
then equals a full refresh bit for bit (doubles to 9 decimals)."""

import json
import os
import subprocess

import duckdb
import pytest

from orchestration.config import DBT_EXECUTABLE, DBT_PROJECT_DIR, DEFAULT_POLICY
from orchestration.ingest.folders import RAW_TABLES, load_raw_table
from orchestration.marts.dbt_vars import dbt_build_args, dbt_vars
from orchestration.policy import load_policy
from orchestration.sample_data.redelivery import land_next_day
from tests.conftest import ingest_all
from tests.mart_equality import compare_rows

pytestmark = pytest.mark.e2e

# incremental model -> an exact column a marker can be added to and taken off again
INCREMENTAL = {"intermediate.int_resource_period_hours_costed": "line_items",
               "intermediate.int_resource_billing_periods": "line_items",
               "marts.fct_daily_cost": "line_items",
               "intermediate.int_resource_hours_allocated": "billed_cost"}
MARK = 1_000_000
# `dbt build` without the data tests (`dbt run` would leave the seeds out); every build here
# leaves dbt's unit tests out, as the nightly run does (test_e2e runs them)
NO_TESTS = ("--exclude-resource-type", "test")
# tables whose rows carry the time of the run (first/last seen): compared without those columns
RUN_TIMESTAMPED = {"recommendations", "recommendations_current"}
# the recommendations' history accumulates over runs by design (a full refresh starts it again)
PATH_DEPENDENT = {"marts.recommendation_history"}
# the incremental models and what is built from them with exact (DECIMAL) arithmetic; marts that
# divide doubles summed in parallel can differ in the last digits from any build to the next
COMPARED = {*INCREMENTAL, "intermediate.int_billing_period_versions", "intermediate.int_allocation_period_versions",
            "marts.dim_resource", "marts.fct_untagged_spend", "marts.fct_k8s_cost", "marts.fct_inference_cost",
            "marts.fct_gpu_cost_distributed", "marts.fct_shared_gpu_cost",
            "marts.fct_shared_gpu_cost_distributed"}


def _dbt(warehouse, tmp_path, *extra, command="build"):
    env = dict(os.environ, FINOPS_WAREHOUSE=str(warehouse))
    policy = load_policy(DEFAULT_POLICY)
    # a build is the one the assets run (dbt_build_args); `run` takes the same vars
    args = dbt_build_args(policy) if command == "build" else [command, "--vars", json.dumps(dbt_vars(policy))]
    proc = subprocess.run(
        [DBT_EXECUTABLE, *args, "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
         "--target-path", str(tmp_path / "dbt_target"), "--log-path", str(tmp_path / "dbt_logs"),
         "--exclude", "source:ml+", *extra],
        env=env, cwd=DBT_PROJECT_DIR, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-5000:]


class TableState:
    """A table as the comparison sees it: an md5 of its exact columns (DECIMAL money, text, dates,
    integers, bit for bit) and its rows for the doubles, which are compared to a relative 1e-9 -
    doubles summed in parallel may differ in their last bits from one build to the next."""

    def __init__(self, exact: str, columns: list[str], rows: list[tuple] | None):
        self.exact, self.columns, self.rows = exact, columns, rows

    def __eq__(self, other) -> bool:
        return (self.exact == other.exact and self.columns == other.columns
                and (self.rows is None or not compare_rows(self.columns, self.rows, other.rows, limit=1)))

    def __repr__(self) -> str:
        return f"TableState({self.exact})"


def _digests(warehouse) -> dict[str, TableState]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        tables = con.execute("""
            SELECT table_schema, table_name FROM information_schema.tables
            WHERE table_schema IN ('intermediate', 'marts') AND table_type = 'BASE TABLE'
            ORDER BY ALL""").fetchall()
        out = {}
        for schema, name in tables:
            if f"{schema}.{name}" in PATH_DEPENDENT or f"{schema}.{name}" not in COMPARED:
                continue
            columns = [(c, t) for (c, t) in con.execute(
                "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = ? AND table_name = ? "
                "ORDER BY column_name", [schema, name]).fetchall()
                if not (name in RUN_TIMESTAMPED and c.endswith("_at"))]
            exact = ", ".join(f'"{c}"' for c, t in columns if t not in ("DOUBLE", "FLOAT"))
            digest = con.execute(
                f"SELECT COUNT(*) || ':' || COALESCE(md5(string_agg(CAST(row({exact}) AS VARCHAR), chr(10) "
                f"ORDER BY CAST(row({exact}) AS VARCHAR))), '') FROM {schema}.{name}").fetchone()[0]
            has_doubles = any(t in ("DOUBLE", "FLOAT") for _, t in columns)
            rows = con.execute(f"SELECT {', '.join(chr(34) + c + chr(34) for c, _ in columns)} FROM {schema}.{name}").fetchall() \
                if has_doubles else None
            out[f"{schema}.{name}"] = TableState(digest, [c for c, _ in columns], rows)
        return out
    finally:
        con.close()


def _ingest(warehouse, landing, tagging):
    con = duckdb.connect(str(warehouse))
    try:
        con.execute("SET TimeZone = 'UTC'")
        loads = ingest_all(con, landing, tagging)
        for spec in RAW_TABLES:
            load_raw_table(con, str(landing), spec, log=lambda m: None)
        return loads
    finally:
        con.close()


def _mark(warehouse, period, sign, tables=INCREMENTAL):
    con = duckdb.connect(str(warehouse))
    try:
        for table, column in tables.items():
            con.execute(f"UPDATE {table} SET {column} = {column} + {sign * MARK} WHERE billing_period = ?", [period])
    finally:
        con.close()


def _marked(warehouse, period, tables=INCREMENTAL) -> dict[str, bool]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return {table: con.execute(f"SELECT bool_and({column} >= {MARK}) FROM {table} WHERE billing_period = ?",
                                   [period]).fetchone()[0] for table, column in tables.items()}
    finally:
        con.close()


def test_nightly_run_rebuilds_only_the_new_days_period_and_equals_a_full_refresh(sample_landing, tagging, tmp_path):
    warehouse = tmp_path / "finops.duckdb"
    _ingest(warehouse, sample_landing, tagging)
    _dbt(warehouse, tmp_path, *NO_TESTS)  # the seed and models; the tests run on the nightly build below

    period, added = land_next_day(sample_landing)
    assert added > 0
    loads = _ingest(warehouse, sample_landing, tagging)
    untouched = min(loads)
    assert untouched != period
    # a marker on every row of an untouched period and of the new day's period: the nightly run
    # must rebuild the new day's period (marker gone) and leave the other alone (marker kept)
    _mark(warehouse, untouched, +1)
    _mark(warehouse, period, +1)
    _dbt(warehouse, tmp_path, command="run")  # the marker would fail the reconciliation tests
    assert all(_marked(warehouse, untouched).values()), _marked(warehouse, untouched)
    assert not any(_marked(warehouse, period).values()), _marked(warehouse, period)
    _mark(warehouse, untouched, -1)
    _dbt(warehouse, tmp_path)  # the nightly build with its tests: nothing left to rebuild, all green
    con = duckdb.connect(str(warehouse), read_only=True)
    new_day = con.execute("SELECT MAX(usage_date) FROM marts.fct_daily_cost WHERE billing_period = ?", [period]).fetchone()[0]
    billed = con.execute("SELECT SUM(billed_cost) FROM marts.fct_daily_cost").fetchone()[0]
    canonical = con.execute("SELECT SUM(BilledCost) FROM raw.billing_line_items").fetchone()[0]
    con.close()
    assert billed == canonical  # the new day is in, nothing twice

    # the telemetry of an old month changes (a late DCGM export): only that month is re-allocated
    con = duckdb.connect(str(warehouse))
    changed = con.execute("UPDATE raw.gpu_samples SET value = value / 2 WHERE strftime(sampled_at, '%Y-%m') = ?",
                          [untouched]).fetchone()[0]
    con.close()
    assert changed > 0
    allocation = {"intermediate.int_resource_hours_allocated": "billed_cost"}
    _mark(warehouse, untouched, +1, allocation)
    _mark(warehouse, period, +1, allocation)
    _dbt(warehouse, tmp_path, command="run")
    assert not any(_marked(warehouse, untouched, allocation).values())
    assert all(_marked(warehouse, period, allocation).values())
    _mark(warehouse, period, -1, allocation)
    _dbt(warehouse, tmp_path)  # the marts built over the marker are built again, with the tests

    incremental = _digests(warehouse)
    _dbt(warehouse, tmp_path, "--full-refresh", *NO_TESTS)
    full = _digests(warehouse)
    assert set(incremental) == set(full)
    different = sorted(t for t in full if incremental[t] != full[t])
    assert not different, different
    assert new_day is not None


def test_a_correction_billed_in_a_later_period_is_replaced_with_its_period_never_twice(tmp_path, tagging):
    """November's bill charges more usage for an October hour of one GPU box (a late correction). Re-delivering either month and
    running incrementally must leave each hour's cost equal to the line items (and to a full
    refresh): the hour's rows are kept per billing period, so a re-delivered period replaces only
    its own part of the hour."""
    from datetime import datetime

    from tests.unit import billing_corpus as bc

    landing = tmp_path / "landing"
    hour = datetime(2026, 10, 2, 5)

    def deliver(period: str, cost: str) -> None:
        if period == "2026-10":
            bc.write(landing, "cur2_csv", [bc.row(i, cost) for i in range(1, 7)], period=period)
        else:
            bc.write(landing, "cur2_csv", [bc.row(7, "3.00", period=period),
                                           bc.row(5, cost, period=period, start=hour, end=hour.replace(minute=59),
                                                  id="li-2026-11-correction")], period=period)

    select = ["--select", "+int_resource_hours_costed"]
    warehouse = tmp_path / "finops.duckdb"
    deliver("2026-10", "10.00")
    deliver("2026-11", "4.00")
    _ingest(warehouse, landing, tagging)
    _dbt(warehouse, tmp_path, *select, command="run")

    def hour_costs() -> tuple:
        con = duckdb.connect(str(warehouse), read_only=True)
        try:
            return con.execute("""
                SELECT (SELECT COUNT(*) FROM intermediate.int_resource_hours_costed WHERE resource_id = 'i-0005'),
                       (SELECT SUM(billed_cost) FROM intermediate.int_resource_hours_costed WHERE resource_id = 'i-0005'),
                       (SELECT SUM(billed_cost) FROM intermediate.int_resource_hours_costed),
                       (SELECT SUM(billed_cost) FROM intermediate.int_billing_line_items_classified
                        WHERE is_gpu AND is_allocatable AND resource_id IS NOT NULL)""").fetchone()
        finally:
            con.close()

    assert hour_costs()[:2] == (1, 14)  # one hour: October's 10 and November's 4
    # October re-delivered alone, then November alone: whichever period the hour was filed
    # under, the other period's part must neither vanish nor be counted twice
    for period, cost, expected in (("2026-10", "12.00", 16), ("2026-11", "5.00", 17)):
        deliver(period, cost)
        loads = _ingest(warehouse, landing, tagging)
        _dbt(warehouse, tmp_path, *select, command="run")
        rows, box, total, line_items = hour_costs()
        assert (rows, box) == (1, expected), (period, loads)
        assert total == line_items
    incremental = _digests(warehouse)
    _dbt(warehouse, tmp_path, *select, "--full-refresh", command="run")
    assert _digests(warehouse) == incremental
