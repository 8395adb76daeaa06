-- One row per billed resource and billing period: what it cost that period, and its latest
-- type and owner tags within the period (with the keys that decide "latest"), so dim_resource
-- reads a few rows per resource instead of every line item.
-- Incremental by billing period: a nightly run rebuilds only the periods whose line items moved.
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='sync_all_columns',
    pre_hook="{{ delete_outdated_billing_periods() }}",
) }}

with periods_to_build as (

    {{ billing_periods_to_build() }}

),

line_items as (

    select line_items.*, periods_to_build.period_version
    from {{ ref('int_billing_line_items_classified') }} as line_items
    inner join periods_to_build using (billing_period)
    where line_items.resource_id is not null

),

ranked as (

    select
        *,
        -- tags change over a resource's life; the most recent tagged line item wins
        case when team is null and project is null then 1 else 0 end as tags_missing,
        row_number() over (
            partition by resource_id, billing_period
            order by case when team is null and project is null then 1 else 0 end,
                     charge_period_start desc, source_file desc, source_row desc
        ) as tags_recency,
        case when instance_type is null then 1 else 0 end as type_missing,
        row_number() over (
            partition by resource_id, billing_period
            order by case when instance_type is null then 1 else 0 end,
                     charge_period_start desc, source_file desc, source_row desc
        ) as type_recency
    from line_items

)

select
    resource_id,
    billing_period,
    min(provider_name)                                                   as provider_name,
    min(billing_account_id)                                              as billing_account_id,
    min(sub_account_id)                                                  as sub_account_id,
    min(charge_period_start)                                             as first_seen_at,
    max(charge_period_end)                                               as last_seen_at,
    sum(billed_cost)                                                     as billed_cost,
    sum(effective_cost)                                                  as effective_cost,
    count(*)                                                             as line_items,
    -- the period's latest tagged line item and the keys that order it against other periods
    any_value(team) filter (where tags_recency = 1)                      as team,
    any_value(project) filter (where tags_recency = 1)                   as project,
    any_value(job_type) filter (where tags_recency = 1)                  as job_type,
    any_value(env) filter (where tags_recency = 1)                       as env,
    any_value(tags_missing) filter (where tags_recency = 1)              as tags_missing,
    any_value(charge_period_start) filter (where tags_recency = 1)       as tags_charge_period_start,
    any_value(source_file) filter (where tags_recency = 1)               as tags_source_file,
    any_value(source_row) filter (where tags_recency = 1)                as tags_source_row,
    -- the period's latest line item that names the instance type, likewise
    any_value(instance_type) filter (where type_recency = 1)             as instance_type,
    any_value(gpu_count) filter (where type_recency = 1)                 as gpu_count,
    any_value(gpu_model) filter (where type_recency = 1)                 as gpu_model,
    any_value(resource_type) filter (where type_recency = 1)             as resource_type,
    any_value(region_id) filter (where type_recency = 1)                 as region_id,
    any_value(service_name) filter (where type_recency = 1)              as service_name,
    any_value(sagemaker_usage_kind) filter (where type_recency = 1)      as sagemaker_usage_kind,
    any_value(type_missing) filter (where type_recency = 1)              as type_missing,
    any_value(charge_period_start) filter (where type_recency = 1)       as type_charge_period_start,
    any_value(source_file) filter (where type_recency = 1)               as type_source_file,
    any_value(source_row) filter (where type_recency = 1)                as type_source_row,
    min(period_version)                                                  as period_version
from ranked
group by resource_id, billing_period
