-- What each billed GPU resource cost in each hour it ran, per billing period. Usage line items
-- are hourly in CUR and most FOCUS exports; a line covering several hours (daily FOCUS rows) is
-- spread evenly over its hours, the last hour taking the rounding remainder so the sum stays exact.
-- Incremental by billing period: a nightly run rebuilds only the periods whose line items moved.
-- The billing period is part of the grain so that a later period's correction of an earlier
-- hour stays in its own row: a re-delivered period then replaces exactly its own rows.
-- int_resource_hours_costed sums the periods of an hour.
{{ config(
    materialized=incremental_materialization(),
    incremental_strategy='append',
    on_schema_change='sync_all_columns',
    pre_hook="{{ delete_outdated_billing_periods() }}",
) }}

with gpu_usage as (

    select * from ({{ classified_line_items_to_build() }}) as to_build
    where is_gpu and is_allocatable and resource_id is not null

),

spread as (
    -- one row per clock hour the line covers; its position from the end is arithmetic, so no
    -- window over every line item is needed (the last hour takes the rounding remainder)
    select
        gpu_usage.*,
        hour_start,
        {{ dbt.datediff('date_trunc(\'hour\', charge_period_start)', 'last_hour_start', 'hour') }} + 1 as hours_in_line,
        {{ dbt.datediff('hour_start', 'last_hour_start', 'hour') }} + 1                             as hours_from_end
    from (
        select
            *,
            greatest(date_trunc('hour', charge_period_start),
                     date_trunc('hour', charge_period_end - interval 1 second)) as last_hour_start
        from gpu_usage
    ) as gpu_usage
    {{ cross_join_unnest(hour_series("date_trunc('hour', charge_period_start)", 'last_hour_start'), 'hours', 'hour_start') }}

),

hourly as (

    select
        *,
        case
            when hours_in_line = 1 then billed_cost
            when hours_from_end = 1 then billed_cost - (hours_in_line - 1) * cast(cast(billed_cost as double) / hours_in_line as decimal(38, 10))
            else cast(cast(billed_cost as double) / hours_in_line as decimal(38, 10))
        end as hour_billed_cost,
        case
            when hours_in_line = 1 then effective_cost
            when hours_from_end = 1 then effective_cost - (hours_in_line - 1) * cast(cast(effective_cost as double) / hours_in_line as decimal(38, 10))
            else cast(cast(effective_cost as double) / hours_in_line as decimal(38, 10))
        end as hour_effective_cost
    from spread

)

select
    resource_id,
    hour_start,
    billing_period,
    cast(hour_start as date)                              as usage_date,
    min(billing_account_id)                               as billing_account_id,
    min(sub_account_id)                                   as sub_account_id,
    min(provider_name)                                    as provider_name,
    min(service_name)                                     as service_name,
    min(region_id)                                        as region_id,
    max(instance_type)                                    as instance_type,
    max(gpu_count)                                        as gpu_count,
    max(gpu_model)                                        as gpu_model,
    -- spot if any usage in the hour was priced dynamically (FOCUS PricingCategory 'Dynamic')
    bool_or(pricing_category = 'Dynamic')                 as is_spot,
    max(team)                                             as team,
    max(project)                                          as project,
    max(job_type)                                         as job_type,
    bool_or(is_untagged)                                  as is_untagged,
    max(gpu_count) * 3600                                 as capacity_gpu_seconds,
    cast(sum(hour_billed_cost) as decimal(38, 10))        as billed_cost,
    cast(sum(hour_effective_cost) as decimal(38, 10))     as effective_cost,
    count(*)                                              as line_items,
    min(period_version)                                   as period_version  -- one per period
from hourly
group by resource_id, hour_start, billing_period
