"""The same dbt project built on Apache Spark (the `spark` target of dbt_project/profiles.yml):
export the warehouse's dbt sources as parquet, then `dbt build --target spark` with the policy
passed as the same `--vars` the Dagster assets pass. Plain functions: the CLI
(`python -m orchestration.cli spark`) and the Spark comparison test call them.

Everything Spark writes lives under one folder (FINOPS_SPARK_DIR, default data/spark):
`parquet/` (the sources), `spark-warehouse/` (the models, parquet, one folder per table),
`metastore_db/` + `derby.log` (the local Hive metastore) and `dbt_target/` (dbt's artifacts,
kept apart from the DuckDB build's target/ that Dagster reads).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..config import DBT_EXECUTABLE, DBT_PROJECT_DIR, REPO_ROOT, ConfigError
from ..ingest.parquet_export import ExportedTable, export_sources
from ..policy import Policy
from .dbt_vars import dbt_build_args

DEFAULT_SPARK_DIR = REPO_ROOT / "data" / "spark"


@dataclass
class SparkBuild:
    exported: list[ExportedTable]
    export_seconds: float
    dbt_seconds: float
    returncode: int
    spark_dir: Path

    def table_dir(self, schema: str, table: str) -> Path:
        """Where Spark wrote a model's parquet files (a managed table of the local warehouse)."""
        return self.spark_dir / "spark-warehouse" / f"{schema}.db" / table


def spark_dir() -> Path:
    return Path(os.environ.get("FINOPS_SPARK_DIR") or DEFAULT_SPARK_DIR).expanduser().resolve()


def check_spark_runtime() -> None:
    """Java and PySpark, or one sentence saying how to get them."""
    if shutil.which("java") is None:
        raise ConfigError("Spark needs Java 17 and `java` is not on PATH: install it "
                          "(Debian/Ubuntu: apt-get install openjdk-17-jre-headless) and run again")
    try:
        import pyspark  # noqa: F401
        import dbt.adapters.spark  # noqa: F401
    except ImportError:
        raise ConfigError("PySpark and dbt-spark are not installed: `make test-spark` installs them "
                          "(or pip install -e '.[spark]')") from None


def export_warehouse_sources(warehouse: str, folder: Path, log: Callable[[str], None] = print) -> list[ExportedTable]:
    """The warehouse's dbt sources as parquet under `<folder>/parquet` (what the spark target reads)."""
    import duckdb

    folder.mkdir(parents=True, exist_ok=True)
    t = time.monotonic()
    con = duckdb.connect(warehouse, read_only=True)
    try:
        exported = export_sources(con, folder / "parquet")
    finally:
        con.close()
    log(f"exported {len(exported)} source tables ({sum(e.rows for e in exported):,} rows) as parquet "
        f"to {folder / 'parquet'} in {time.monotonic() - t:.1f}s")
    return exported


def build_on_spark(warehouse: str, policy: Policy, folder: Path | None = None, select: list[str] | None = None,
                   log: Callable[[str], None] = print) -> SparkBuild:
    """Export the sources of `warehouse` to `<folder>/parquet` and build every model, seed and
    test of the dbt project on a local Spark (`local[2]`) over them."""
    check_spark_runtime()
    folder = (folder or spark_dir()).resolve()
    t = time.monotonic()
    exported = export_warehouse_sources(warehouse, folder, log)
    export_seconds = time.monotonic() - t
    cmd = [DBT_EXECUTABLE, *dbt_build_args(policy, unit_tests=True), "--target", "spark",
           "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
           "--target-path", str(folder / "dbt_target"), "--log-path", str(folder / "dbt_logs")]
    if select:
        # only the tests of what is built: a test that also reads an unselected model would fail
        cmd += ["--select", *select, "--indirect-selection", "cautious"]
    env = dict(os.environ, FINOPS_SPARK_DIR=str(folder))
    # Spark's log settings (dbt_project/spark/log4j2.properties): without them every statement
    # logs that the session exists already
    env.setdefault("SPARK_CONF_DIR", str(DBT_PROJECT_DIR / "spark"))
    t = time.monotonic()
    # dbt-spark's session method starts the JVM in dbt's own process, from its working directory
    proc = subprocess.run(cmd, cwd=folder, env=env)
    dbt_seconds = time.monotonic() - t
    log(f"dbt build --target spark {'passed' if proc.returncode == 0 else 'FAILED'} in {dbt_seconds:.1f}s")
    return SparkBuild(exported, export_seconds, dbt_seconds, proc.returncode, folder)
