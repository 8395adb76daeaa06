"""DATA_DICTIONARY.md from the dbt docs: the generator on a small hand-made manifest, and the real
dbt project documenting every column of every exported table (through `dbt parse`)."""

import json
import subprocess

import pandas as pd
import pytest

from orchestration.config import DBT_EXECUTABLE, DBT_PROJECT_DIR, DEFAULT_POLICY
from orchestration.exports.assets import EXPORTS, export_formats
from orchestration.exports.dictionary import (ExportedTable, column_docs, data_dictionary_markdown, find_node,
                                              undocumented_columns)

MANIFEST = {
    "metadata": {"project_name": "gpu_finops"},
    "nodes": {
        "model.gpu_finops.fct_daily_cost": {
            "unique_id": "model.gpu_finops.fct_daily_cost", "resource_type": "model", "name": "fct_daily_cost",
            "schema": "main_marts", "config": {"schema": "marts", "contract": {"enforced": True}},
            "description": "Spend per usage day and owner.\nSums to the bill.",
            "columns": {
                "usage_date": {"name": "usage_date", "description": "Day the charge started (UTC).", "data_type": "date"},
                "team": {"name": "team", "description": "Owning team | (untagged)", "data_type": "varchar"},
                "billed_cost": {"name": "billed_cost", "description": "Invoiced\n  cost.", "data_type": "decimal(38, 10)"},
            },
        },
        "test.gpu_finops.not_null_x": {"resource_type": "test", "name": "fct_daily_cost", "columns": {}},
    },
    "sources": {
        "source.gpu_finops.raw.billing_line_items": {
            "unique_id": "source.gpu_finops.raw.billing_line_items", "resource_type": "source", "source_name": "raw",
            "name": "billing_line_items", "description": "The canonical billing table.",
            "columns": {"BilledCost": {"name": "BilledCost", "description": "What the invoice charges.", "data_type": ""}},
        },
    },
}
CATALOG = {"nodes": {}, "sources": {"source.gpu_finops.raw.billing_line_items": {
    "columns": {"BilledCost": {"type": "DECIMAL(38,10)"}, "x_source_row": {"type": "BIGINT"}}}}}

DAILY = ExportedTable("daily_cost", ("marts", "fct_daily_cost"), ("daily_cost.parquet", "daily_cost.csv"),
                      (("usage_date", "DATE"), ("team", "VARCHAR"), ("billed_cost", '"NULL"')))
FOCUS = ExportedTable("focus_cost_and_usage", ("raw", "billing_line_items"), ("focus_cost_and_usage.parquet",),
                      (("BilledCost", ""), ("x_source_row", "")))


def test_find_node_takes_sources_by_source_name_and_models_by_name_never_tests():
    assert find_node(MANIFEST, "raw", "billing_line_items")["resource_type"] == "source"
    assert find_node(MANIFEST, "marts", "fct_daily_cost")["resource_type"] == "model"
    assert find_node(MANIFEST, "marts", "nope") is None


def test_types_come_from_the_file_then_the_catalog_then_the_contract():
    daily = {c.name: c for c in column_docs(MANIFEST, DAILY, CATALOG)}
    assert daily["usage_date"].type == "DATE"
    assert daily["billed_cost"].type == "DECIMAL(38, 10)"  # an unfilled column's "NULL" type is not a type
    focus = {c.name: c for c in column_docs(MANIFEST, FOCUS, CATALOG)}
    assert focus["BilledCost"].type == "DECIMAL(38,10)" and focus["x_source_row"].type == "BIGINT"
    assert {c.name: c.type for c in column_docs(MANIFEST, FOCUS)} == {"BilledCost": "UNKNOWN", "x_source_row": "UNKNOWN"}


def test_without_the_file_columns_the_yml_columns_are_listed():
    bare = ExportedTable("daily_cost", ("marts", "fct_daily_cost"), ("daily_cost.parquet",))
    assert [c.name for c in column_docs(MANIFEST, bare)] == ["usage_date", "team", "billed_cost"]


def test_undocumented_columns_are_reported_per_table():
    assert undocumented_columns(MANIFEST, [DAILY, FOCUS]) == {"focus_cost_and_usage": ["x_source_row"]}


def test_markdown_has_an_index_files_origin_and_a_column_table_per_table():
    md = data_dictionary_markdown(MANIFEST, [DAILY, FOCUS], CATALOG)
    assert md.startswith("# ") and "`gpu_finops`" in md
    assert "| [`daily_cost`](#daily_cost) | `daily_cost.parquet`, `daily_cost.csv` | Spend per usage day and owner |" in md
    assert "## daily_cost" in md and "## focus_cost_and_usage" in md
    assert "`marts.fct_daily_cost` (dbt model `fct_daily_cost`, contract enforced)" in md
    assert "`raw.billing_line_items` (dbt source `raw.billing_line_items`)" in md
    assert "Spend per usage day and owner. Sums to the bill." in md  # folded yml text on one line
    assert "| `team` | VARCHAR | Owning team \\| (untagged) |" in md  # a pipe cannot break the table
    assert "| `billed_cost` | DECIMAL(38, 10) | Invoiced cost. |" in md
    assert "| `x_source_row` | BIGINT | **undocumented** |" in md
    assert data_dictionary_markdown(MANIFEST, [DAILY, FOCUS], CATALOG) == md  # no timestamps: stable run to run


def _exported_columns() -> dict[str, list[str]]:
    """The columns each export really has, from the code that writes them (no warehouse needed):
    the canonical table's DDL, the ML frames, the model contracts (enforced, so the yml is the table)."""
    from models_ml import forecast
    from orchestration.ingest.canonical import CANONICAL_NAMES
    from orchestration.ml.pipeline import EMPTY_PREDICTIONS, _forecast_settings
    from orchestration.policy import load_policy

    # a 5-day series forecasts by the naive fallback in a blink, with every column of ml.spend_forecast
    short = pd.DataFrame({"usage_date": pd.date_range("2026-06-01", periods=5), "team": "nlp", "service_name": "EC2",
                          "effective_cost": 10.0})
    series = forecast.spend_series(short)
    errors, choice = forecast.score_backtest(pd.DataFrame(columns=["unique_id", "ds", "cutoff", "y"]))
    fc = forecast.forecast_series(series, choice, errors, _forecast_settings(load_policy(DEFAULT_POLICY)))
    return {"focus_cost_and_usage": CANONICAL_NAMES, "runtime_predictions": list(EMPTY_PREDICTIONS.columns),
            "spend_forecast": list(fc.columns)}


@pytest.fixture(scope="module")
def parsed_manifest(tmp_path_factory) -> dict:
    target = tmp_path_factory.mktemp("dbt_target")
    subprocess.run([DBT_EXECUTABLE, "parse", "--quiet", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir",
                    str(DBT_PROJECT_DIR), "--target-path", str(target)], check=True, cwd=DBT_PROJECT_DIR,
                   capture_output=True, text=True)
    return json.loads((target / "manifest.json").read_text())


def test_the_dbt_project_documents_every_column_of_every_exported_table(parsed_manifest):
    known = _exported_columns()
    tables = []
    for name, (upstream, _) in EXPORTS.items():
        node = find_node(parsed_manifest, upstream[0], upstream[1])
        assert node is not None, (name, upstream)
        assert node.get("description", "").strip(), f"{name}: {'.'.join(upstream)} has no description"
        if node["resource_type"] == "model":
            assert node["config"]["contract"]["enforced"], f"{name}: the model's columns are not a contract"
            columns = list(node["columns"])
        else:
            columns = known[name]
        tables.append(ExportedTable(name, (upstream[0], upstream[1]),
                                    tuple(f"{name}.{f}" for f in export_formats(name)), tuple((c, "") for c in columns)))
    assert {t.name for t in tables} >= set(known)
    assert undocumented_columns(parsed_manifest, tables) == {}
    # and every source column the yml documents still exists (no stale docs)
    for name in known:
        upstream = EXPORTS[name][0]
        declared = set(find_node(parsed_manifest, upstream[0], upstream[1])["columns"])
        assert declared <= set(known[name]), (name, declared - set(known[name]))
