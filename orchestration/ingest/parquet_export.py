"""Every dbt source table of the DuckDB warehouse written as parquet, the landing the dbt project
reads on a distributed engine (the `spark` target of dbt_project/profiles.yml): one folder per
table, `<out>/<schema>/<table>/`, the billing line items partitioned by billing period
(`x_billing_period=2026-11/`, hive style, as Spark, Athena and Trino read it).

Plain functions, no Dagster: the CLI (`python -m orchestration.cli spark`) and the Spark
comparison test call them.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import yaml

from ..config import DBT_PROJECT_DIR, ConfigError

SOURCES_YML = DBT_PROJECT_DIR / "models" / "staging" / "_staging__sources.yml"

# One folder per billing period: the grain every restatement replaces, and what an engine prunes on.
PARTITION_BY = {("raw", "billing_line_items"): "x_billing_period"}


@dataclass(frozen=True)
class ExportedTable:
    schema: str
    table: str
    rows: int
    path: Path
    partition_by: str | None


def dbt_source_tables(sources_yml: Path = SOURCES_YML) -> list[tuple[str, str]]:
    """(schema, table) of every source the dbt project declares, in file order."""
    spec = yaml.safe_load(sources_yml.read_text(encoding="utf-8"))
    return [(src.get("schema", src["name"]), t["name"]) for src in spec["sources"] for t in src["tables"]]


def _select_list(con, schema: str, table: str) -> str:
    """Columns as parquet readers everywhere understand them: DuckDB's second- and nanosecond-
    precision timestamps become plain microsecond TIMESTAMPs (Spark 3.5 rejects parquet
    nanosecond timestamps); everything else (DECIMAL(38,10) money included) is written as is."""
    cols = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position", [schema, table]).fetchall()
    if not cols:
        raise ConfigError(f"{schema}.{table} is not in the warehouse: run `make run` first")
    out = []
    for name, dtype in cols:
        quoted = '"' + name.replace('"', '""') + '"'
        if dtype.startswith("TIMESTAMP") and dtype not in ("TIMESTAMP", "TIMESTAMP WITH TIME ZONE"):
            out.append(f"CAST({quoted} AS TIMESTAMP) AS {quoted}")
        else:
            out.append(quoted)
    return ", ".join(out)


def export_sources(con, out_dir: str | Path, tables: list[tuple[str, str]] | None = None) -> list[ExportedTable]:
    """Write each (schema, table) (default: every dbt source) to `<out_dir>/<schema>/<table>/`,
    replacing what an earlier export left there."""
    out = Path(out_dir)
    exported = []
    for schema, table in tables or dbt_source_tables():
        select = _select_list(con, schema, table)
        target = out / schema / table
        literal = str(target).replace("'", "''")  # COPY takes the path as a literal, not a parameter
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True)
        partition = PARTITION_BY.get((schema, table))
        rows = con.execute(f'SELECT COUNT(*) FROM "{schema}"."{table}"').fetchone()[0]
        if partition and rows:
            con.execute(f"COPY (SELECT {select} FROM \"{schema}\".\"{table}\") TO '{literal}' "
                        f"(FORMAT parquet, PARTITION_BY (\"{partition}\"), OVERWRITE_OR_IGNORE)")
        else:
            # an empty table still gets a file: it carries the schema the engine reads
            con.execute(f"COPY (SELECT {select} FROM \"{schema}\".\"{table}\") TO '{literal}/part-0.parquet' "
                        "(FORMAT parquet)")
            partition = None
        exported.append(ExportedTable(schema, table, rows, target, partition))
    return exported
