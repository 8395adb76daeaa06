"""A snapshot of the asset graph: an accidental change of lineage shows up here in review."""

import pytest

from orchestration.cli import prepare_dbt_manifest
from orchestration.config import load_settings


@pytest.fixture(scope="module")
def defs():
    prepare_dbt_manifest(load_settings().warehouse)
    from orchestration.definitions import defs

    return defs


def test_graph_is_one_lineage_from_landing_to_exports(defs):
    graph = defs.resolve_asset_graph()
    keys = {"/".join(k.path) for k in graph.get_all_asset_keys()}
    assert {"raw/billing_line_items", "staging/stg_billing", "intermediate/int_billing_line_items_classified",
            "marts/dim_resource", "marts/fct_daily_cost", "marts/fct_untagged_spend", "reference/gpu_instance_catalog",
            "exports/focus_cost_and_usage", "exports/daily_cost", "exports/untagged_spend", "exports/resources"} <= keys

    def parents(key):
        from dagster import AssetKey
        return {"/".join(p.path) for p in graph.get(AssetKey(key.split("/"))).parent_keys}

    assert parents("staging/stg_billing") == {"raw/billing_line_items"}
    assert parents("intermediate/int_billing_line_items_classified") == {"staging/stg_billing"}
    # incremental by billing period: each also reads the periods' versions
    assert parents("marts/fct_daily_cost") == {"intermediate/int_billing_line_items_classified",
                                               "intermediate/int_billing_period_versions"}
    assert parents("intermediate/int_billing_period_versions") == {"raw/billing_line_items"}
    assert parents("marts/dim_resource") == {"intermediate/int_resource_billing_periods", "reference/gpu_instance_catalog"}
    assert parents("intermediate/int_resource_billing_periods") == {"intermediate/int_billing_line_items_classified",
                                                                    "intermediate/int_billing_period_versions"}
    assert parents("exports/daily_cost") == {"marts/fct_daily_cost"}
    assert parents("exports/focus_cost_and_usage") == {"raw/billing_line_items"}
    for raw, staging in (("jobs", "stg_workloads__jobs"), ("gpu_samples", "stg_telemetry__gpu_samples"),
                         ("gpu_hosts", "stg_inventory__gpu_hosts"), ("inference_requests", "stg_inference__requests"),
                         ("endpoint_metrics", "stg_inference__endpoint_metrics"), ("s3_inventory", "stg_storage__s3_objects"),
                         ("budgets", "stg_finance__budgets")):
        assert parents(f"staging/{staging}") == {f"raw/{raw}"}
        assert graph.get(__import__("dagster").AssetKey(["raw", raw])).group_name == "workloads"


def test_groups_jobs_schedule_sensor_and_automation(defs):
    from dagster import AssetKey

    graph = defs.resolve_asset_graph()
    assert graph.get(AssetKey(["raw", "billing_line_items"])).group_name == "billing"
    assert graph.get(AssetKey(["marts", "fct_daily_cost"])).group_name == "marts"
    assert graph.get(AssetKey(["marts", "fct_daily_cost"])).automation_condition is not None
    assert {j.name for j in defs.resolve_all_job_defs()} >= {"ingest_billing", "build_marts_and_exports"}
    schedule = defs.resolve_schedule_def("nightly_build")
    assert schedule.cron_schedule == "0 2 * * *" and schedule.execution_timezone == "UTC"
    assert defs.resolve_sensor_def("billing_landing_sensor") is not None
