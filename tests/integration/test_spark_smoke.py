"""The Spark smoke test (about 45 s after the sample run): the sample's sources exported as
parquet, the daily-cost lineage built and tested by `dbt build --target spark` on a local
PySpark, and the mart equal to DuckDB's row for row, money to the cent. It proves Java, PySpark,
the profile, the source tables over parquet and the dispatched macros on the billing path work.

Part of `make test-spark` (marker `spark`), not of `make test`: with it and the spark extras'
install, the fresh-clone CI run took 19 min of its 20-minute budget. Run it alone with
`.venv/bin/python -m pytest -m spark tests/integration/test_spark_smoke.py`."""

import duckdb
import pytest

from orchestration.config import DEFAULT_POLICY
from orchestration.policy import load_policy
from tests.mart_equality import compare_rows

pytestmark = pytest.mark.spark


def test_daily_cost_builds_on_spark_and_equals_duckdb(full_run, tmp_path):
    from orchestration.marts.spark_build import build_on_spark

    _, env, proc = full_run
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    build = build_on_spark(env["FINOPS_WAREHOUSE"], load_policy(DEFAULT_POLICY), folder=tmp_path / "spark",
                           select=["+fct_daily_cost"])
    assert build.returncode == 0, "dbt build --target spark failed (its output is above)"
    con = duckdb.connect(env["FINOPS_WAREHOUSE"], read_only=True)
    try:
        columns = [c for (c,) in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE schema_name = 'marts' AND table_name = 'fct_daily_cost' "
            "AND column_name <> 'period_version' ORDER BY column_index").fetchall()]
        select = ", ".join(f'"{c}"' for c in columns)
        left = con.execute(f"SELECT {select} FROM marts.fct_daily_cost").fetchall()
        right = con.execute(f"SELECT {select} FROM read_parquet('{build.table_dir('marts', 'fct_daily_cost')}/*.parquet')").fetchall()
    finally:
        con.close()
    assert len(left) > 1000
    assert compare_rows(columns, left, right) == []
