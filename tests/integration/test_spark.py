"""The same dbt project on Apache Spark (`make test-spark`): the generated sample goes through
the whole DuckDB pipeline (`make run`, the session's `full_run`), its dbt sources are exported as
parquet, `dbt build --target spark` builds every model and runs every data and unit test on a
local PySpark, and every mart must equal DuckDB's row for row: money to the cent, doubles to a
relative 1e-9, everything else exactly (tests/mart_equality.py).

Needs Java 17 and the `spark` extras; deselected from the default run (pyproject addopts
`-m "not spark"`), `make test-spark` runs it.
"""

import json

import duckdb
import pytest

from orchestration.config import DEFAULT_POLICY
from orchestration.policy import load_policy
from tests.mart_equality import compare_rows

pytestmark = pytest.mark.spark

MART_SCHEMAS = ("marts", "recommendations")
# Not comparable between two builds, on any engine: when the build ran (the history's first/last
# seen stamps are dbt's run_started_at) and the incremental bookkeeping (a digest of each
# engine's own text form of the period's line items and of the model code).
NOT_COMPARED = {"first_seen_at", "last_seen_at", "period_version"}


@pytest.fixture(scope="module")
def spark_build(full_run, tmp_path_factory):
    from orchestration.marts.spark_build import build_on_spark

    root, env, proc = full_run
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    build = build_on_spark(env["FINOPS_WAREHOUSE"], load_policy(DEFAULT_POLICY),
                           folder=tmp_path_factory.mktemp("spark"))
    return env["FINOPS_WAREHOUSE"], build


def test_dbt_build_passes_on_spark_every_model_and_test(spark_build):
    _, build = spark_build
    assert build.returncode == 0, "dbt build --target spark failed (its output is above)"
    results = json.loads((build.spark_dir / "dbt_target" / "run_results.json").read_text())["results"]
    by_type = {}
    for r in results:
        by_type.setdefault(r["unique_id"].split(".")[0], []).append(r["status"])
    assert all(s in ("success", "pass") for statuses in by_type.values() for s in statuses), by_type
    # every model, seed, data test and unit test of the project ran there
    manifest = json.loads((build.spark_dir / "dbt_target" / "manifest.json").read_text())
    for kind in ("model", "seed", "test", "unit_test"):
        expected = sum(1 for n in {**manifest["nodes"], **manifest.get("unit_tests", {})}.values()
                       if n["resource_type"] == kind)
        assert len(by_type.get(kind, [])) == expected > 0, kind


def _duckdb_marts(con) -> list[tuple[str, str]]:
    return con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE schema_name IN ('marts', 'recommendations') "
        "ORDER BY 1, 2").fetchall()


def test_every_mart_equals_duckdb_row_for_row(spark_build):
    warehouse, build = spark_build
    con = duckdb.connect(warehouse, read_only=True)
    con.execute("SET TimeZone = 'UTC'")
    marts = _duckdb_marts(con)
    assert len(marts) >= 25
    unequal = {}
    for schema, table in marts:
        folder = build.table_dir(schema, table)
        assert folder.is_dir(), f"Spark built no {schema}.{table}"
        spark = con.sql(f"SELECT * FROM read_parquet('{folder}/*.parquet')")
        columns = [c for c in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE schema_name = ? AND table_name = ? ORDER BY column_index",
            [schema, table]).fetchall()]
        columns = [c[0] for c in columns]
        assert sorted(spark.columns) == sorted(columns), f"{schema}.{table}: columns differ"
        compared = [c for c in columns if c not in NOT_COMPARED]
        select = ", ".join(f'"{c}"' for c in compared)
        left = con.execute(f'SELECT {select} FROM "{schema}"."{table}"').fetchall()
        right = con.execute(f"SELECT {select} FROM read_parquet('{folder}/*.parquet')").fetchall()
        if table.startswith(("fct_", "dim_")) or table in ("recommendations", "recommendations_current"):
            assert left, f"{schema}.{table} is empty on DuckDB: the comparison would prove nothing"
        diffs = compare_rows(compared, left, right)
        if diffs:
            unequal[f"{schema}.{table}"] = diffs[:3]
    assert not unequal, unequal


def test_money_totals_agree_to_the_cent(spark_build):
    """The headline figures, summed exactly as DECIMAL on both sides."""
    warehouse, build = spark_build
    con = duckdb.connect(warehouse, read_only=True)
    checks = {("marts", "fct_daily_cost"): ["billed_cost", "effective_cost"],
              ("marts", "fct_effective_cost"): ["gpu_spend", "idle_spend"],
              ("marts", "fct_gpu_cost_distributed"): ["billed_cost", "effective_cost"],
              ("marts", "fct_waste"): ["wasted_cost"],
              ("marts", "dim_resource"): ["billed_cost", "effective_cost"]}
    for (schema, table), cols in checks.items():
        sums = ", ".join(f"SUM({c})" for c in cols)
        duck = con.execute(f"SELECT {sums} FROM {schema}.{table}").fetchone()
        spark = con.execute(f"SELECT {sums} FROM read_parquet('{build.table_dir(schema, table)}/*.parquet')").fetchone()
        assert all(d is not None for d in duck)
        assert [round(d, 2) for d in duck] == [round(s, 2) for s in spark], (table, duck, spark)
