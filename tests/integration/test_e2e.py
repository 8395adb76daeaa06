"""`make run` end to end: the CLI materializes the whole graph through Dagster on the generated
sample, every asset check passes, the exports land and reconcile with the bill."""

import os
import subprocess
import sys
from decimal import Decimal

import duckdb
import pytest
from dagster import AssetCheckKey, AssetKey, DagsterInstance

from orchestration.config import REPO_ROOT
from orchestration.ingest.pipeline import billing_checks, marts_reconcile

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def full_run(sample_landing_master, tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e")
    env = dict(os.environ,
               FINOPS_LANDING=str(sample_landing_master),
               FINOPS_WAREHOUSE=str(root / "warehouse" / "finops.duckdb"),
               FINOPS_EXPORTS=str(root / "exports"),
               DAGSTER_HOME=str(root / "dagster_home"))
    proc = subprocess.run([sys.executable, "-m", "orchestration.cli", "run"], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=900)
    return root, env, proc


def test_run_exits_zero_and_prints_the_summary(full_run):
    _, _, proc = full_run
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    for line in ("rows in (canonical line items) : 79,017", "billed total", "untagged share of usage", "exports"):
        assert line in proc.stdout


def test_every_asset_materialized_and_checks_passed_in_dagster(full_run):
    root, env, proc = full_run
    assert proc.returncode == 0
    os.environ["DAGSTER_HOME"] = env["DAGSTER_HOME"]
    instance = DagsterInstance.get()
    try:
        for key in (["raw", "billing_line_items"], ["staging", "stg_billing"], ["marts", "fct_daily_cost"],
                    ["marts", "dim_resource"], ["marts", "fct_untagged_spend"], ["exports", "focus_cost_and_usage"]):
            assert instance.get_latest_materialization_event(AssetKey(key)) is not None, key
        for asset, check in ((["raw", "billing_line_items"], "landing_reconciles"),
                             (["raw", "billing_line_items"], "no_duplicate_line_items"),
                             (["marts", "fct_daily_cost"], "marts_reconcile_to_canonical")):
            record = instance.event_log_storage.get_latest_asset_check_execution_by_key(
                [AssetCheckKey(AssetKey(asset), check)])[AssetCheckKey(AssetKey(asset), check)]
            assert record.status.value == "SUCCEEDED", (asset, check, record)
    finally:
        instance.dispose()


def test_warehouse_reconciles_and_exports_match(full_run):
    root, env, proc = full_run
    con = duckdb.connect(env["FINOPS_WAREHOUSE"], read_only=True)
    try:
        for (period,) in con.execute("SELECT DISTINCT x_billing_period FROM raw.billing_line_items").fetchall():
            assert all(c.passed for c in billing_checks(con, period)), period
        assert marts_reconcile(con).passed
        canonical = con.execute("SELECT SUM(BilledCost) FROM raw.billing_line_items").fetchone()[0]
    finally:
        con.close()
    exports = root / "exports"
    for name in ("daily_cost.parquet", "daily_cost.csv", "untagged_spend.csv", "resources.parquet",
                 "focus_cost_and_usage.parquet"):
        assert (exports / name).exists(), name
    mem = duckdb.connect()
    exported = mem.execute(f"SELECT SUM(billed_cost) FROM '{exports / 'daily_cost.parquet'}'").fetchone()[0]
    focus = mem.execute(f"SELECT SUM(BilledCost), COUNT(*) FROM '{exports / 'focus_cost_and_usage.parquet'}'").fetchone()
    assert Decimal(exported).quantize(Decimal("0.01")) == Decimal(canonical).quantize(Decimal("0.01"))
    assert focus == (canonical, 79017)
    untagged = mem.execute(f"SELECT COUNT(*), MAX(offender_rank) FROM '{exports / 'untagged_spend.csv'}'").fetchone()
    assert untagged[0] > 0


def test_second_run_changes_nothing(full_run):
    root, env, proc = full_run
    assert proc.returncode == 0

    def digest():
        con = duckdb.connect(env["FINOPS_WAREHOUSE"], read_only=True)
        try:
            raw = con.execute("SELECT md5(string_agg(CAST(t AS VARCHAR), '|' ORDER BY x_source_file, x_source_row)) "
                              "FROM raw.billing_line_items t").fetchone()[0]
            marts = [con.execute(f"SELECT md5(string_agg(CAST(t AS VARCHAR), '|' ORDER BY CAST(t AS VARCHAR))) FROM marts.{m} t").fetchone()[0]
                     for m in ("fct_daily_cost", "dim_resource", "fct_untagged_spend")]
            return raw, marts
        finally:
            con.close()

    before = digest()
    again = subprocess.run([sys.executable, "-m", "orchestration.cli", "run"], cwd=REPO_ROOT, env=env,
                           capture_output=True, text=True, timeout=900)
    assert again.returncode == 0, again.stdout[-3000:]
    assert digest() == before
