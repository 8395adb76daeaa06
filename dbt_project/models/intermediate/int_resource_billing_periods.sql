-- One row per billed resource and billing period: what it cost that period, and its latest
-- type and owner tags within the period (with the keys that decide "latest"), so dim_resource
-- reads a few rows per resource instead of every line item.
-- Incremental by billing period: a nightly run rebuilds only the periods whose line items moved.
{{ config(
    materialized=incremental_materialization(),
    incremental_strategy='append',
    on_schema_change='sync_all_columns',
    pre_hook="{{ delete_outdated_billing_periods() }}",
) }}

with line_items as (

    select * from ({{ classified_line_items_to_build() }}) as to_build
    where resource_id is not null

),

latest as (
    -- "latest" = tagged before untagged (or naming its instance type before not), then the
    -- latest charge start, source file and row: a total order, so one aggregate finds it
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
        {{ arg_max(
            struct_pack(['team', 'project', 'job_type', 'env', 'charge_period_start', 'source_file', 'source_row']),
            struct_pack(['team is not null or project is not null as tagged', 'charge_period_start', 'source_file', 'source_row'])
        ) }}                                                                 as tags,
        {{ arg_max(
            struct_pack(['instance_type', 'gpu_count', 'gpu_model', 'resource_type', 'region_id', 'service_name',
                         'sagemaker_usage_kind', 'charge_period_start', 'source_file', 'source_row']),
            struct_pack(['instance_type is not null as typed', 'charge_period_start', 'source_file', 'source_row'])
        ) }}                                                                 as type,
        min(period_version)                                                  as period_version
    from line_items
    group by resource_id, billing_period

)

select
    resource_id,
    billing_period,
    provider_name,
    billing_account_id,
    sub_account_id,
    first_seen_at,
    last_seen_at,
    billed_cost,
    effective_cost,
    line_items,
    -- the period's latest tagged line item and the keys that order it against other periods
    tags.team,
    tags.project,
    tags.job_type,
    tags.env,
    case when tags.team is null and tags.project is null then 1 else 0 end as tags_missing,
    tags.charge_period_start                                             as tags_charge_period_start,
    tags.source_file                                                     as tags_source_file,
    tags.source_row                                                      as tags_source_row,
    -- the period's latest line item that names the instance type, likewise
    type.instance_type,
    type.gpu_count,
    type.gpu_model,
    type.resource_type,
    type.region_id,
    type.service_name,
    type.sagemaker_usage_kind,
    case when type.instance_type is null then 1 else 0 end               as type_missing,
    type.charge_period_start                                             as type_charge_period_start,
    type.source_file                                                     as type_source_file,
    type.source_row                                                      as type_source_row,
    period_version
from latest
