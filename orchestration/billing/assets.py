"""Billing ingestion: one partition per billing period, replaced atomically on re-delivery."""


import dagster as dg

from ..ingest.pipeline import billing_checks, ingest_billing_period
from ..resources import LandingResource, PolicyResource, WarehouseResource

billing_periods = dg.DynamicPartitionsDefinition(name="billing_period")

BILLING_LINE_ITEMS = dg.AssetKey(["raw", "billing_line_items"])
# what each blocking check promises, shown beside it in the Dagster UI
CHECK_NAMES = {
    "landing_reconciles": "Billed cost in the landing files = canonical + quarantine, to the cent, per billing account.",
    "no_duplicate_line_items": "No line item id appears twice for the same charge period (a re-delivery never adds on top).",
    "required_columns_not_null": "BilledCost, EffectiveCost, ChargePeriodStart and BillingAccountId are filled on every canonical row.",
}


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
    check_specs=[dg.AssetCheckSpec(name, asset=BILLING_LINE_ITEMS, blocking=True, description=text)
                 for name, text in CHECK_NAMES.items()],
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
    # files, rows and seconds were logged by the ingest; the money, and what the checks found
    context.log.info(
        f"{period}: billed {result.billed_cost} (landing files state {result.landing_billed_cost}) for "
        f"{len(result.accounts)} account(s); checks: "
        + ", ".join(f"{c.name} {'passed' if c.passed else 'FAILED'}" for c in checks)
    )
    return dg.MaterializeResult(
        metadata={
            "billing_period": period,
            "rows": result.rows_loaded,
            "rows_quarantined": result.rows_quarantined,
            "billed_cost_usd": float(result.billed_cost or 0),
            "landing_billed_cost_usd": float(result.landing_billed_cost or 0),
            "accounts": ", ".join(result.accounts),
            "files_read": len(result.files_loaded),
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
