-- One row per billed resource: what it is (type, GPUs), who owns it (latest tags), what it cost.
-- Built from int_resource_billing_periods (one row per resource and billing period, incremental),
-- so the latest-wins choices below compare a few rows per resource, not every line item.
with resource_periods as (

    select * from {{ ref('int_resource_billing_periods') }}

),

catalog as (

    select * from {{ ref('gpu_instance_catalog') }}

),

latest_tags as (
    -- tags change over a resource's life; the most recent tagged line item wins
    select resource_id, team, project, job_type, env
    from (
        select
            resource_id, team, project, job_type, env,
            row_number() over (
                partition by resource_id
                order by tags_missing, tags_charge_period_start desc, tags_source_file desc, tags_source_row desc
            ) as recency
        from resource_periods
    ) ranked
    where recency = 1

),

latest_type as (

    select resource_id, instance_type, gpu_count, gpu_model, resource_type, region_id, service_name, sagemaker_usage_kind
    from (
        select
            resource_id, instance_type, gpu_count, gpu_model, resource_type, region_id, service_name, sagemaker_usage_kind,
            row_number() over (
                partition by resource_id
                order by type_missing, type_charge_period_start desc, type_source_file desc, type_source_row desc
            ) as recency
        from resource_periods
    ) ranked
    where recency = 1

),

totals as (

    select
        resource_id,
        min(provider_name)           as provider_name,
        min(billing_account_id)      as billing_account_id,
        min(sub_account_id)          as sub_account_id,
        min(first_seen_at)           as first_seen_at,
        max(last_seen_at)            as last_seen_at,
        sum(billed_cost)             as billed_cost,
        sum(effective_cost)          as effective_cost,
        cast(sum(line_items) as bigint) as line_items
    from resource_periods
    group by resource_id

)

select
    totals.resource_id,
    totals.provider_name,
    totals.billing_account_id,
    totals.sub_account_id,
    latest_type.resource_type,
    latest_type.service_name,
    latest_type.sagemaker_usage_kind,
    latest_type.region_id,
    latest_type.instance_type,
    coalesce(latest_type.gpu_count, 0)           as gpu_count,
    latest_type.gpu_model,
    coalesce(latest_type.gpu_count, 0) > 0       as is_gpu,
    catalog.on_demand_hourly_usd,
    latest_tags.team,
    latest_tags.project,
    latest_tags.job_type,
    latest_tags.env,
    totals.first_seen_at,
    totals.last_seen_at,
    totals.billed_cost,
    totals.effective_cost,
    totals.line_items
from totals
left join latest_type on latest_type.resource_id = totals.resource_id
left join latest_tags on latest_tags.resource_id = totals.resource_id
left join catalog on lower(catalog.instance_type) = lower(latest_type.instance_type)
