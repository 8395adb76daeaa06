"""Billing ingestion: one partition per billing period, replaced atomically on re-delivery."""


import dagster as dg

from ..ingest.pipeline import billing_checks, ingest_billing_period
from ..resources import LandingResource, PolicyResource, WarehouseResource

billing_periods = dg.DynamicPartitionsDefinition(name="billing_period")

BILLING_LINE_ITEMS = dg.AssetKey(["raw", "billing_line_items"])
CHECK_NAMES = ["landing_reconciles", "no_duplicate_line_items", "required_columns_not_null"]


@dg.asset(
    key=BILLING_LINE_ITEMS,
    partitions_def=billing_periods,
    group_name="billing",
    kinds={"python", "duckdb"},
    pool="duckdb_warehouse",
    description=(
        "Canonical FOCUS-shaped billing table from CUR 2.0, legacy CUR and FOCUS 1.0-1.3 exports "
        "in landing/billing. One partition per billing period; a re-delivered period replaces the "
        "old one for its accounts in one transaction. Bad rows go to raw.billing_quarantine."
    ),
    check_specs=[dg.AssetCheckSpec(name, asset=BILLING_LINE_ITEMS, blocking=True) for name in CHECK_NAMES],
)
def billing_line_items(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    landing: LandingResource,
    policy: PolicyResource,
) -> dg.MaterializeResult:
    period = context.partition_key
    tagging = policy.load().tagging
    with warehouse.connect() as con:
        result = ingest_billing_period(con, landing.uri, period, tagging, log=context.log.info)
        checks = billing_checks(con, period)
    context.log.info(
        f"{period}: {result.rows_loaded:,} line items, {result.rows_quarantined:,} quarantined, "
        f"billed {result.billed_cost} in {result.seconds:.1f}s"
    )
    return dg.MaterializeResult(
        metadata={
            "billing_period": period,
            "rows": result.rows_loaded,
            "rows_quarantined": result.rows_quarantined,
            "billed_cost_usd": float(result.billed_cost or 0),
            "landing_billed_cost_usd": float(result.landing_billed_cost or 0),
            "accounts": ", ".join(result.accounts),
            "files_loaded": dg.MetadataValue.md("\n".join(f"- `{f}`" for f in result.files_loaded) or "none"),
            "files_superseded": dg.MetadataValue.md("\n".join(f"- `{f}`" for f in result.files_superseded) or "none"),
            "seconds": round(result.seconds, 2),
        },
        check_results=[
            dg.AssetCheckResult(
                check_name=c.name, passed=c.passed, description=c.description,
                metadata={k: dg.MetadataValue.md(v) if isinstance(v, str) and v.startswith("|") else v
                          for k, v in c.metadata.items()},
            )
            for c in checks
        ],
    )
