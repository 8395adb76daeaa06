"""The Dagster code location: one Definitions for the whole FinOps graph."""


import os

import dagster as dg
from dagster_dbt import DbtCliResource

from .billing.assets import BILLING_LINE_ITEMS, billing_line_items, billing_periods
from .billing.sensors import billing_landing_sensor
from .config import DBT_EXECUTABLE, DBT_PROJECT_DIR, load_settings
from .exports.assets import export_assets
from .marts.assets import finops_dbt_ml_models, finops_dbt_models, marts_reconcile_to_canonical
from .ml.assets import ml_assets
from .recommendations.jobs import emit_recommendations_job, recommendations_on_new_forecast
from .resources import ExportsResource, LandingResource, ModelStoreResource, PolicyResource, WarehouseResource
from .telemetry.assets import raw_table_assets

ingest_billing_job = dg.define_asset_job(
    "ingest_billing",
    selection=dg.AssetSelection.assets(BILLING_LINE_ITEMS),
    partitions_def=billing_periods,
    description="Ingest one billing period from the landing location (replaces the period).",
)

build_marts_job = dg.define_asset_job(
    "build_marts_and_exports",
    selection=dg.AssetSelection.all() - dg.AssetSelection.assets(BILLING_LINE_ITEMS),
    description="dbt build of every model with its tests, the reconciliation check, and the BI exports.",
)


@dg.schedule(cron_schedule="0 2 * * *", execution_timezone="UTC", job=build_marts_job,
             default_status=dg.DefaultScheduleStatus.RUNNING,
             description="Nightly 02:00 UTC: rebuild every model, check and export.")
def nightly_build(context: dg.ScheduleEvaluationContext):
    return dg.RunRequest(run_key=context.scheduled_execution_time.strftime("%Y-%m-%d"))


def build_definitions() -> dg.Definitions:
    settings = load_settings()
    # dbt runs in its own process and reads the warehouse path from here.
    os.environ["FINOPS_WAREHOUSE"] = settings.warehouse
    return dg.Definitions(
        assets=[billing_line_items, *raw_table_assets, finops_dbt_models, *ml_assets, finops_dbt_ml_models,
                *export_assets],
        asset_checks=[marts_reconcile_to_canonical],
        jobs=[ingest_billing_job, build_marts_job, emit_recommendations_job],
        schedules=[nightly_build],
        sensors=[billing_landing_sensor, recommendations_on_new_forecast],
        resources={
            "warehouse": WarehouseResource(path=settings.warehouse),
            "landing": LandingResource(uri=settings.landing),
            "exports": ExportsResource(uri=settings.exports),
            "policy": PolicyResource(path=settings.policy),
            "model_store": ModelStoreResource(path=settings.models),
            "dbt": DbtCliResource(project_dir=str(DBT_PROJECT_DIR), profiles_dir=str(DBT_PROJECT_DIR),
                                  dbt_executable=DBT_EXECUTABLE),
        },
    )


defs = build_definitions()
