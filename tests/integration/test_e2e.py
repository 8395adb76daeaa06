"""`make run` end to end: the CLI materializes the whole graph through Dagster on the generated
sample, every asset check passes, the exports land and reconcile with the bill."""

import json
import os
import subprocess
import sys
from decimal import Decimal

import duckdb
import pytest
from dagster import AssetCheckKey, AssetKey, DagsterInstance

from orchestration.config import DBT_EXECUTABLE, DBT_PROJECT_DIR, DEFAULT_POLICY, REPO_ROOT
from orchestration.ingest.pipeline import billing_checks, marts_reconcile
from orchestration.marts.dbt_vars import dbt_vars
from orchestration.policy import load_policy

pytestmark = pytest.mark.e2e


def test_run_exits_zero_and_prints_the_summary(full_run):
    _, _, proc = full_run
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    for line in ("rows in (canonical line items) : 100,559", "billed total", "untagged share of usage", "exports"):
        assert line in proc.stdout


def test_dbt_unit_tests_pass_in_ci(full_run):
    """The runs on data skip dbt's unit tests (fixed inputs, dbt_build_args); CI runs every one
    of them here, against the relations `make run` built."""
    root, env, proc = full_run
    assert proc.returncode == 0
    target = root / "dbt_unit_target"
    done = subprocess.run([DBT_EXECUTABLE, "test", "--select", "test_type:unit", "--project-dir", str(DBT_PROJECT_DIR),
                           "--profiles-dir", str(DBT_PROJECT_DIR), "--target-path", str(target), "--log-path",
                           str(root / "dbt_unit_logs"), "--vars", json.dumps(dbt_vars(load_policy(DEFAULT_POLICY)))],
                          env=env, cwd=DBT_PROJECT_DIR, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-4000:]
    results = json.loads((target / "run_results.json").read_text())["results"]
    unit = [r for r in results if r["unique_id"].startswith("unit_test.")]
    manifest = json.loads((target / "manifest.json").read_text())
    assert len(unit) == len(manifest["unit_tests"]) > 10
    assert {r["status"] for r in unit} == {"pass"}


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
    assert focus == (canonical, 100559)
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
            # the same findings keep the same ids run after run
            ids = con.execute("SELECT string_agg(recommendation_id, ',' ORDER BY recommendation_id) FROM marts.recommendations").fetchone()[0]
            return raw, marts, ids
        finally:
            con.close()

    before = digest()
    again = subprocess.run([sys.executable, "-m", "orchestration.cli", "run"], cwd=REPO_ROOT, env=env,
                           capture_output=True, text=True, timeout=900)
    assert again.returncode == 0, again.stdout[-3000:]
    assert digest() == before


UNIT_ECONOMICS_MARTS = ("fct_training_run_cost", "fct_inference_cost", "fct_effective_cost", "fct_gpu_efficiency",
                        "fct_waste", "fct_unattributed_usage", "fct_unit_costs")


def test_every_unit_economics_mart_is_filled(full_run):
    root, env, proc = full_run
    assert proc.returncode == 0
    con = duckdb.connect(env["FINOPS_WAREHOUSE"], read_only=True)
    try:
        for mart in UNIT_ECONOMICS_MARTS:
            assert con.execute(f"SELECT COUNT(*) FROM marts.{mart}").fetchone()[0] > 0, mart
        categories = {r[0] for r in con.execute("SELECT DISTINCT waste_category FROM marts.fct_waste").fetchall()}
        assert categories == {"idle", "over_provisioned", "failed_runs", "untagged"}
        bands = {r[0] for r in con.execute("SELECT DISTINCT efficiency_band FROM marts.fct_gpu_efficiency").fetchall()}
        assert {"poor", "good"} <= bands
        # the planted host with no inventory mapping is reported, for its samples and its jobs
        reported = con.execute("SELECT record_type FROM marts.fct_unattributed_usage "
                               "WHERE identifier = 'ip-10-0-77-12.ec2.internal' OR reason LIKE '%ip-10-0-77-12%'").fetchall()
        assert {"gpu_telemetry", "job"} <= {r[0] for r in reported}
        # the record whose end precedes its start is quarantined with its reason, not dropped
        assert con.execute("SELECT COUNT(*) FROM raw.jobs_rejects WHERE reason = 'job ends before it starts'").fetchone()[0] == 1
    finally:
        con.close()


def test_allocated_idle_unattributed_and_inference_cost_equal_the_bill_to_the_cent(full_run):
    """Computed from the canonical table, independently of the allocation models."""
    root, env, proc = full_run
    con = duckdb.connect(env["FINOPS_WAREHOUSE"], read_only=True)
    try:
        billed = con.execute("""
            SELECT SUM(BilledCost), SUM(EffectiveCost) FROM raw.billing_line_items
            WHERE ChargeCategory = 'Usage' AND x_gpu_count > 0 AND ResourceId IS NOT NULL""").fetchone()
        runs = con.execute("SELECT SUM(billed_cost), SUM(effective_cost) FROM marts.fct_training_run_cost").fetchone()
        rest = dict((t, (b, e)) for t, b, e in con.execute("""
            SELECT allocation_type, SUM(billed_cost), SUM(effective_cost)
            FROM intermediate.int_resource_hours_allocated WHERE allocation_type <> 'training_job' GROUP BY 1""").fetchall())
        served = con.execute("SELECT SUM(billed_cost), SUM(effective_cost) FROM marts.fct_inference_cost").fetchone()
        unattributed = con.execute("SELECT SUM(effective_cost) FROM marts.fct_unattributed_usage WHERE record_type = 'gpu_cost'").fetchone()[0]
    finally:
        con.close()
    cent = Decimal("0.01")
    for k in (0, 1):  # billed, then amortised
        total = runs[k] + rest["idle"][k] + rest["unattributed"][k] + served[k]
        assert total.quantize(cent) == billed[k].quantize(cent)
    assert abs(served[1] - rest["inference"][1]) < cent
    assert unattributed.quantize(cent) == rest["unattributed"][1].quantize(cent)


def test_unit_costs_export_matches_the_mart(full_run):
    root, env, proc = full_run
    exports = root / "exports"
    mem = duckdb.connect()
    parquet = mem.execute(f"SELECT COUNT(*), SUM(effective_cost) FROM '{exports / 'unit_costs.parquet'}'").fetchone()
    csv_rows = mem.execute(f"SELECT COUNT(*) FROM read_csv('{exports / 'unit_costs.csv'}')").fetchone()[0]
    con = duckdb.connect(env["FINOPS_WAREHOUSE"], read_only=True)
    try:
        mart = con.execute("SELECT COUNT(*), SUM(effective_cost) FROM marts.fct_unit_costs").fetchone()
    finally:
        con.close()
    assert parquet == mart and csv_rows == mart[0]
    workloads = {r[0] for r in mem.execute(f"SELECT DISTINCT workload FROM '{exports / 'unit_costs.parquet'}'").fetchall()}
    assert workloads == {"training", "inference"}


def test_ml_assets_train_evaluate_predict_and_export(full_run):
    """`make run` trains, evaluates and predicts: every model's output sits beside its backtest."""
    root, env, proc = full_run
    assert proc.returncode == 0
    for line in ("runtime model MAPE (baseline)", "forecast 30-day total MAPE", "spend anomalies"):
        assert line in proc.stdout, line
    con = duckdb.connect(env["FINOPS_WAREHOUSE"], read_only=True)
    try:
        mape, baseline, coverage = con.execute("SELECT mape, baseline_mape, p90_coverage FROM ml.runtime_model_evaluation").fetchone()
        assert mape < baseline / 3 and coverage > 0.75
        open_runs = con.execute("SELECT COUNT(*) FROM marts.fct_training_run_cost WHERE status = 'RUNNING'").fetchone()[0]
        predicted = con.execute("SELECT COUNT(*), MIN(recommended_gpu_hours / p90_gpu_hours) FROM ml.runtime_predictions").fetchone()
        assert predicted[0] == open_runs > 0 and abs(predicted[1] - 1.15) < 1e-9  # policy.yaml runtime.capacity_margin
        series, horizon, missing_error = con.execute("""
            SELECT COUNT(DISTINCT unique_id), MAX(ds) - MIN(ds), COUNT(*) FILTER (WHERE NOT is_fallback AND backtest_daily_smape IS NULL)
            FROM ml.spend_forecast""").fetchone()
        assert series > 10 and horizon.days == 29 and missing_error == 0
        # the planted runaway sweep (research, Compute Engine, 6 days before the data ends) is found
        spike = con.execute("""SELECT severity_usd FROM ml.spend_anomalies
                               WHERE unique_id = 'team=research|service=Compute Engine' AND ds = DATE '2026-11-14'""").fetchone()
        assert spike and spike[0] > 300
        over = con.execute("SELECT team FROM marts.fct_budget_projection WHERE projected_share_of_budget > 1").fetchall()
        assert ("nlp",) in over  # the sample plans nlp's budget too tight
    finally:
        con.close()
    assert list((root / "models" / "runtime").glob("*/model_card.json"))
    for name in ("spend_forecast.parquet", "spend_forecast.csv", "runtime_predictions.parquet", "runtime_predictions.csv"):
        assert (root / "exports" / name).exists(), name
    assert (root / "exports" / "spend_forecast.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plots_and_the_data_dictionary_land_beside_the_exports(full_run):
    """The charts people look at are PNGs in the exports, and DATA_DICTIONARY.md documents every
    column of every exported parquet file with a type and a description."""
    import re

    root, env, proc = full_run
    assert proc.returncode == 0
    exports = root / "exports"
    for name in ("savings_by_category.png", "spend_by_team.png", "spend_forecast.png"):
        png = (exports / name).read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000, name
    dictionary = (exports / "DATA_DICTIONARY.md").read_text()
    sections = dict(re.findall(r"^## (\w+)\n(.*?)(?=^## |\Z)", dictionary, flags=re.S | re.M))
    mem = duckdb.connect()
    parquets = sorted(exports.glob("*.parquet"))
    assert len(parquets) >= 8
    for parquet in parquets:
        table = parquet.stem
        assert table in sections, table
        assert f"`{parquet.name}`" in sections[table]
        rows = {m[0]: (m[1], m[2]) for m in re.findall(r"^\| `([^`]+)` \| ([^|]+) \| (.*) \|$", sections[table], flags=re.M)}
        for column, *_ in mem.execute(f"DESCRIBE SELECT * FROM '{parquet}'").fetchall():
            assert column in rows, (table, column)
            typ, description = rows[column]
            assert typ.strip() != "UNKNOWN", (table, column)
            assert description.strip() and "undocumented" not in description, (table, column)
    # the assets show the charts inline in the UI
    os.environ["DAGSTER_HOME"] = env["DAGSTER_HOME"]
    instance = DagsterInstance.get()
    try:
        for key in (["exports", "savings_by_category_plot"], ["exports", "spend_by_team_plot"], ["exports", "data_dictionary"]):
            event = instance.get_latest_materialization_event(AssetKey(key))
            assert event is not None, key
            metadata = event.asset_materialization.metadata
            if key[1].endswith("_plot"):
                assert metadata["plot"].value.startswith("![") and "data:image/png;base64," in metadata["plot"].value
                assert metadata["rows_plotted"].value > 0
    finally:
        instance.dispose()


def _planted():
    """The resources the generator plants for the recommendation engine, found in its world."""
    from orchestration.sample_data.world import build_world

    world = build_world()
    pick = lambda f: next(r.resource_id for r in world.resources if f(r))  # noqa: E731
    return {
        "forgotten": pick(lambda r: r.account.source == "cur2" and r.instance_type == "g5.xlarge" and r.job_type is None),
        "legacy_forgotten": pick(lambda r: r.account.source == "cur_legacy" and r.job_type is None),
        "one_gpu_jobs": pick(lambda r: r.notes.get("job_gpus") == 1),
        "protected": pick(lambda r: r.notes.get("tags", {}).get("tier") == "critical"),
        "working_hours_endpoint": pick(lambda r: r.notes.get("traffic") == "business_hours"),
        "quiet_research_box": pick(lambda r: r.notes.get("quiet_last_hours") == 72),
        "idle_notebook": pick(lambda r: r.kind == "sagemaker_notebook"),
        "idle_endpoint": pick(lambda r: "traffic_stops_hours_before_end" in r.notes),
    }


def test_recommendations_find_every_planted_case_and_spare_protected_and_busy_resources(full_run):
    root, env, proc = full_run
    assert proc.returncode == 0
    planted = _planted()
    con = duckdb.connect(env["FINOPS_WAREHOUSE"], read_only=True)
    try:
        recs = con.execute("SELECT category, resource_id, action, requires_approval, estimated_monthly_savings_usd, "
                           "reason, evidence, policy, first_seen_at, last_seen_at FROM marts.recommendations").fetchall()
        by = {}
        for r in recs:
            by.setdefault(r[0], []).append(r)
        found = lambda cat, rid: [r for r in by.get(cat, []) if r[1] == rid]  # noqa: E731
        assert found("idle_archive", planted["forgotten"])          # idle the whole window, measured by DCGM
        assert found("idle_delete", planted["legacy_forgotten"])    # idle for the 14 days nvidia-smi saw
        assert found("idle_pause", planted["quiet_research_box"])   # 72 h without a job, research tier pauses after 24
        notebook = found("idle_pause", planted["idle_notebook"])      # billed 10 days, nothing shows any activity
        assert notebook and "notebook instance" in notebook[0][2]
        endpoint = found("idle_pause", planted["idle_endpoint"])      # zero invocations for 5 days, measured by CloudWatch
        assert endpoint and endpoint[0][3]                            # production inference: a person approves
        rightsized = found("rightsize_gpu", planted["one_gpu_jobs"])
        assert rightsized and "g5.xlarge" in rightsized[0][2]
        assert found("autoscale_inference", planted["working_hours_endpoint"])
        assert found("network_locality", "acme-nlp-datasets-0")
        assert found("budget_alert", "team:nlp")
        assert found("spend_anomaly", "team=research|service=Compute Engine")
        for category in ("spot_migration", "commitment", "storage_tiering"):
            assert by.get(category), category
        # protected: no recommendation of any kind on the tier=critical standby
        assert not [r for r in recs if r[1] == planted["protected"]]
        # busy: nothing destructive on a box that used its GPUs in the last week
        busy = {row[0] for row in con.execute("""
            SELECT resource_id FROM intermediate.int_resource_hours_allocated
            WHERE hour_start > (SELECT MAX(hour_start) FROM intermediate.int_resource_hours_allocated) - INTERVAL 7 DAY
            GROUP BY resource_id HAVING AVG(gpu_utilization) >= 0.3""").fetchall()}
        assert busy
        flagged = {r[1] for r in recs if r[0] in ("idle_pause", "idle_delete", "idle_archive")}
        assert not flagged & busy
        destructive = [r for r in recs if r[0] in ("idle_delete", "idle_archive", "rightsize_gpu", "spot_migration",
                                                   "autoscale_inference", "commitment")]
        assert destructive and all(r[3] for r in destructive)
        for r in recs:
            assert r[5] and r[7] and json.loads(r[6]) is not None and r[8] <= r[9]
            assert r[4] >= 0
    finally:
        con.close()
    exported = duckdb.connect().execute(f"SELECT COUNT(*) FROM '{root / 'exports' / 'recommendations.parquet'}'").fetchone()[0]
    assert exported == len(recs)


def test_commitment_evidence_adds_up(full_run):
    root, env, proc = full_run
    con = duckdb.connect(env["FINOPS_WAREHOUSE"], read_only=True)
    try:
        rows = con.execute("SELECT estimated_monthly_savings_usd, evidence FROM marts.recommendations WHERE category = 'commitment'").fetchall()
    finally:
        con.close()
    assert rows
    for savings, evidence in rows:
        e = json.loads(evidence)
        assert e["expected_utilization"] >= e["break_even_utilization"] == pytest.approx(1 - e["discount"])
        simulated = (e["on_demand_cost"] - e["committed_cost"]) * 730 / e["hours"] * e["forecast_factor"]
        assert float(savings) == pytest.approx(simulated, abs=0.01)
        assert {w["lookback_days"] for w in e["by_lookback"]} <= {7, 30, 60, 90}


def test_history_closes_findings_that_disappear_and_records_realized_savings(full_run):
    """A finding raised earlier whose resource no longer bills is closed on the next run, with the
    monthly cost it had when raised as realized savings; open findings keep their first sighting."""
    from orchestration.config import DBT_EXECUTABLE, DBT_PROJECT_DIR

    root, env, proc = full_run
    con = duckdb.connect(env["FINOPS_WAREHOUSE"])
    try:
        open_before = dict(con.execute("SELECT recommendation_id, first_seen_at FROM marts.recommendation_history WHERE is_open").fetchall())
        con.execute("""INSERT INTO marts.recommendation_history BY NAME
                       SELECT 'gone' AS recommendation_id, 'idle_archive' AS category, 'i-0terminated' AS resource_id,
                              'idle|i-0terminated' AS finding_key, TIMESTAMP '2026-10-01 02:00:00' AS first_seen_at,
                              TIMESTAMP '2026-10-01 02:00:00' AS last_seen_at, true AS is_open,
                              730.00 AS estimated_monthly_savings_usd, 730.00 AS monthly_cost_at_first_seen""")
    finally:
        con.close()
    subprocess.run([DBT_EXECUTABLE, "build", "--quiet", "--select", "recommendation_history", "--project-dir", str(DBT_PROJECT_DIR),
                    "--profiles-dir", str(DBT_PROJECT_DIR)], check=True, env=env, cwd=DBT_PROJECT_DIR)
    con = duckdb.connect(env["FINOPS_WAREHOUSE"], read_only=True)
    try:
        gone = con.execute("SELECT is_open, savings_realized_usd FROM marts.recommendation_history WHERE recommendation_id = 'gone'").fetchone()
        still = dict(con.execute("SELECT recommendation_id, first_seen_at FROM marts.recommendation_history WHERE is_open").fetchall())
    finally:
        con.close()
    assert gone == (False, Decimal("730.00"))
    assert still == open_before
