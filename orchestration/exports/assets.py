"""BI exports: parquet + CSV per table in FINOPS_EXPORTS (local folder or S3), the charts people
look at (PNG files, also inline in the assets' metadata), and DATA_DICTIONARY.md generated from
the dbt docs."""


import json

import dagster as dg

from ..config import DBT_PROJECT_DIR
from ..ingest.billing import LINE_ITEMS
from ..resources import ExportsResource, WarehouseResource
from . import plots
from .dictionary import ExportedTable, data_dictionary_markdown, undocumented_columns
from .writer import export_file, export_table

# export name -> (upstream asset, query). focus_cost_and_usage is the canonical table as any
# FOCUS-aware tool can read it.
EXPORTS = {
    "focus_cost_and_usage": (["raw", "billing_line_items"], f"SELECT * FROM {LINE_ITEMS} ORDER BY x_billing_period, x_source_file, x_source_row"),
    "daily_cost": (["marts", "fct_daily_cost"], "SELECT * FROM marts.fct_daily_cost ORDER BY ALL"),
    "untagged_spend": (["marts", "fct_untagged_spend"], "SELECT * FROM marts.fct_untagged_spend ORDER BY billing_period, offender_rank"),
    "resources": (["marts", "dim_resource"], "SELECT * FROM marts.dim_resource ORDER BY resource_id"),
    "spend_forecast": (["ml", "spend_forecast"], "SELECT * FROM ml.spend_forecast ORDER BY unique_id, ds"),
    "runtime_predictions": (["ml", "runtime_predictions"], "SELECT * FROM ml.runtime_predictions ORDER BY run_id"),
    "recommendations": (["marts", "recommendations"],
                        "SELECT * FROM marts.recommendations ORDER BY category, estimated_monthly_savings_usd DESC, recommendation_id"),
    "unit_costs": (["marts", "fct_unit_costs"], "SELECT * FROM marts.fct_unit_costs ORDER BY billing_month, workload, team, project, model"),
    # shared and Kubernetes GPUs: per token and tenant, per pod, per team and node, per namespace and GPU
    "token_cost": (["marts", "fct_token_cost"],
                   "SELECT * FROM marts.fct_token_cost ORDER BY usage_date, resource_id, model, tenant, user_id, api_key_alias"),
    "k8s_cost": (["marts", "fct_k8s_cost"], "SELECT * FROM marts.fct_k8s_cost "
                 "ORDER BY usage_date, cluster_name, node_resource_id, namespace, workload_name, pod_name"),
    "gpu_cost_distributed": (["marts", "fct_gpu_cost_distributed"],
                             "SELECT * FROM marts.fct_gpu_cost_distributed ORDER BY billing_period, resource_id, team"),
    "shared_gpu_cost_distributed": (["marts", "fct_shared_gpu_cost_distributed"], "SELECT * FROM marts.fct_shared_gpu_cost_distributed "
                                    "ORDER BY billing_period, resource_id, gpu_uuid, namespace"),
}


def export_formats(name: str) -> tuple[str, ...]:
    """focus_cost_and_usage is parquet only (FOCUS tools read parquet; a CSV of it would be huge)."""
    return ("parquet",) if name == "focus_cost_and_usage" else ("parquet", "csv")


def _export_asset(name: str, upstream: list[str], query: str) -> dg.AssetsDefinition:
    formats = export_formats(name)

    @dg.asset(
        key=["exports", name],
        deps=[dg.AssetKey(upstream)],
        group_name="exports",
        kinds={"parquet", "csv"} if "csv" in formats else {"parquet"},
        pool="duckdb_warehouse",
        automation_condition=dg.AutomationCondition.eager(),
        description=f"`{name}` exported from {'.'.join(upstream)} for BI tools ({' + '.join(formats)}), replaced atomically.",
    )
    def _export(context: dg.AssetExecutionContext, warehouse: WarehouseResource, exports: ExportsResource) -> dg.MaterializeResult:
        with warehouse.connect(read_only=False) as con:
            out = export_table(con, query, name, exports.uri, formats)
        context.log.info(f"exported {out['rows']:,} rows to {', '.join(out['paths'])}")
        return dg.MaterializeResult(metadata={"rows": out["rows"], "paths": dg.MetadataValue.md("\n".join(f"- `{p}`" for p in out["paths"]))})

    return _export


table_export_assets = [_export_asset(name, up, q) for name, (up, q) in EXPORTS.items()]


# ---- charts --------------------------------------------------------------------------------

RECOMMENDATIONS = dg.AssetKey(["marts", "recommendations"])
FCT_DAILY_COST = dg.AssetKey(["marts", "fct_daily_cost"])
SAVINGS_SQL = "SELECT category, estimated_monthly_savings_usd FROM marts.recommendations ORDER BY recommendation_id"
SPEND_BY_TEAM_SQL = """
    SELECT usage_date, team, SUM(effective_cost) AS effective_cost
    FROM marts.fct_daily_cost GROUP BY usage_date, team ORDER BY usage_date, team
"""
PLOT = dict(group_name="exports", kinds={"matplotlib"}, pool="duckdb_warehouse",
            automation_condition=dg.AutomationCondition.eager())


def _plot_result(png: bytes, filename: str, alt: str, exports: ExportsResource, rows: int, **extra) -> dg.MaterializeResult:
    where = export_file(png, filename, exports.uri)
    return dg.MaterializeResult(metadata={
        "plot": dg.MetadataValue.md(plots.png_markdown(png, alt)), "plot_file": dg.MetadataValue.path(where),
        "rows_plotted": rows, "png_bytes": len(png), **extra})


@dg.asset(key=["exports", "savings_by_category_plot"], deps=[RECOMMENDATIONS],
          description="`savings_by_category.png`: estimated monthly savings of the open recommendations per category "
                      "(horizontal bars with dollars and counts; budget overruns and anomalies drawn apart as dollars "
                      "at risk), in the exports folder and inline below.", **PLOT)
def savings_by_category_plot(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                             exports: ExportsResource) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        recs = con.execute(SAVINGS_SQL).df()
    agg = plots.savings_by_category(recs)
    table = "\n".join(["| category | recommendations | $ / month |", "|---|---|---|"]
                       + [f"| {r.category} | {r.recommendations} | {r.monthly_usd:,.2f} |" for r in agg.itertuples()])
    return _plot_result(plots.savings_by_category_png(recs), "savings_by_category.png",
                        "estimated monthly savings by recommendation category", exports, len(recs),
                        categories=len(agg), by_category=dg.MetadataValue.md(table if len(agg) else "no open recommendations"))


@dg.asset(key=["exports", "spend_by_team_plot"], deps=[FCT_DAILY_COST],
          description="`spend_by_team.png`: amortised (effective) spend by team over time as a stacked area "
                      "(daily; weekly averages of daily spend past three months), untagged spend in grey, "
                      "in the exports folder and inline below.", **PLOT)
def spend_by_team_plot(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                       exports: ExportsResource) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        daily = con.execute(SPEND_BY_TEAM_SQL).df()
    _, period = plots.spend_by_team(daily)
    return _plot_result(plots.spend_by_team_png(daily), "spend_by_team.png", "amortised spend by team", exports,
                        len(daily), teams=int(daily["team"].nunique()) if len(daily) else 0, period=period)


# ---- data dictionary ----------------------------------------------------------------------------

def _dbt_docs() -> tuple[dict, dict | None]:
    """The manifest the code location loads (dagster-dbt's DbtProject, target/manifest.json, written
    by `dbt parse` before every run) and the catalog of the last `dbt docs generate`, if any."""
    from ..marts.assets import dbt_project

    path = dbt_project.manifest_path
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run `dbt parse` (the CLI and `make dev` do) before exporting")
    manifest = json.loads(path.read_text())
    catalog_path = DBT_PROJECT_DIR / "target" / "catalog.json"
    catalog = json.loads(catalog_path.read_text()) if catalog_path.exists() else None
    return manifest, catalog


@dg.asset(key=["exports", "data_dictionary"], deps=[a.key for a in table_export_assets], group_name="exports",
          kinds={"dbt"}, pool="duckdb_warehouse", automation_condition=dg.AutomationCondition.eager(),
          description="`DATA_DICTIONARY.md` in the exports: for every exported table its files, grain, the dbt "
                      "model or source it comes from, and every column with its type and dbt description.")
def data_dictionary(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                    exports: ExportsResource) -> dg.MaterializeResult:
    manifest, catalog = _dbt_docs()
    tables = []
    with warehouse.connect() as con:
        for name, (upstream, query) in EXPORTS.items():
            # the exported columns and their types exactly as the export query writes them
            cols = tuple((r[0], r[1]) for r in con.execute(f"DESCRIBE {query}").fetchall())
            tables.append(ExportedTable(name=name, source=(upstream[0], upstream[1]),
                                        files=tuple(f"{name}.{fmt}" for fmt in export_formats(name)), columns=cols))
    text = data_dictionary_markdown(manifest, tables, catalog)
    where = export_file(text.encode(), "DATA_DICTIONARY.md", exports.uri)
    missing = undocumented_columns(manifest, tables, catalog)
    if missing:
        context.log.warning(f"columns with no description in the dbt yml: {missing}")
    return dg.MaterializeResult(metadata={
        "path": dg.MetadataValue.path(where), "tables": len(tables), "columns": sum(len(t.columns) for t in tables),
        "undocumented_columns": sum(len(v) for v in missing.values()),
        "dictionary": dg.MetadataValue.md(text)})


export_assets = [*table_export_assets, savings_by_category_plot, spend_by_team_plot, data_dictionary]
