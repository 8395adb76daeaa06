"""dbt models as Dagster assets (dagster-dbt), with the policy passed as vars and the
canonical -> mart reconciliation as a blocking check."""


from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from ..config import DBT_PROJECT_DIR
from ..ingest.pipeline import marts_reconcile
from ..resources import PolicyResource, WarehouseResource
from .dbt_vars import dbt_build_args

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
dbt_project.prepare_if_dev()


class FinopsDbtTranslator(DagsterDbtTranslator):
    """Keys are <schema>/<model> (marts/fct_daily_cost) and sources keep <source>/<table>, so
    raw/billing_line_items links to the ingest asset; groups follow the dbt folders."""

    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str, project) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        node = manifest["nodes"].get(unique_id) or manifest["sources"].get(unique_id) or {}
        if node.get("resource_type") in ("model", "seed"):
            schema = node.get("config", {}).get("schema") or node.get("schema")
            group = schema if node.get("resource_type") == "model" else "reference"
            spec = spec.replace_attributes(
                key=dg.AssetKey([schema, node["name"]]),
                group_name=group,
                automation_condition=dg.AutomationCondition.eager(),
            )
        return spec


# Models that read the ML outputs (dbt sources `ml.*`) run after the ML assets, the rest before.
ML_DOWNSTREAM = "source:ml+"
DBT_ASSETS = dict(manifest=dbt_project.manifest_path, project=dbt_project, dagster_dbt_translator=FinopsDbtTranslator(),
                  pool="duckdb_warehouse")


@dbt_assets(exclude=ML_DOWNSTREAM, **DBT_ASSETS)
def finops_dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, policy: PolicyResource):
    yield from dbt.cli(dbt_build_args(policy.load()), context=context).stream()


@dbt_assets(select=ML_DOWNSTREAM, name="finops_dbt_ml_models", **DBT_ASSETS)
def finops_dbt_ml_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, policy: PolicyResource):
    yield from dbt.cli(dbt_build_args(policy.load()), context=context).stream()


FCT_DAILY_COST = dg.AssetKey(["marts", "fct_daily_cost"])


@dg.asset_check(asset=FCT_DAILY_COST, name="marts_reconcile_to_canonical", blocking=True,
                description="fct_daily_cost sums to the canonical billing table per period and account, to the cent.")
def marts_reconcile_to_canonical(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.connect() as con:
        outcome = marts_reconcile(con)
    return dg.AssetCheckResult(passed=outcome.passed, description=outcome.description, metadata=outcome.metadata)
