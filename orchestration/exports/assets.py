"""BI exports: parquet + CSV per table in FINOPS_EXPORTS (local folder or S3)."""


import dagster as dg

from ..ingest.billing import LINE_ITEMS
from ..resources import ExportsResource, WarehouseResource
from .writer import export_table

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
}


def _export_asset(name: str, upstream: list[str], query: str) -> dg.AssetsDefinition:
    formats = ("parquet",) if name == "focus_cost_and_usage" else ("parquet", "csv")

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


export_assets = [_export_asset(name, up, q) for name, (up, q) in EXPORTS.items()]
