-- What each billed GPU resource cost in each hour it ran: the hour's rows of every billing
-- period (int_resource_period_hours_costed) summed. An hour is nearly always billed in its own
-- month and then has one row, passed through as is; only hours that some other period also
-- charges (a later month's correction, billing periods that are not calendar months) are summed,
-- and such an hour keeps its earliest billing period. A view: the pass-through costs a scan.
{{ config(materialized='view') }}
{%- set columns = ['usage_date', 'billing_period', 'billing_account_id', 'sub_account_id', 'provider_name',
                   'service_name', 'region_id', 'instance_type', 'gpu_count', 'gpu_model', 'is_spot', 'team',
                   'project', 'job_type', 'is_untagged', 'capacity_gpu_seconds', 'billed_cost', 'effective_cost',
                   'line_items'] %}

-- (the table is named in each branch, not in a CTE: a CTE read twice is materialized whole)
with hours_billed_in_other_periods as (

    select distinct resource_id, hour_start
    from {{ ref('int_resource_period_hours_costed') }}
    where billing_period <> {{ format_timestamp('hour_start', '%Y-%m') }}

)

select resource_id, hour_start, {{ columns | join(', ') }}
from {{ ref('int_resource_period_hours_costed') }} as period_hours
where not exists (
    select 1 from hours_billed_in_other_periods as other
    where other.resource_id = period_hours.resource_id and other.hour_start = period_hours.hour_start
)

union all

select
    resource_id,
    hour_start,
    min(usage_date)                                       as usage_date,
    min(billing_period)                                   as billing_period,
    min(billing_account_id)                               as billing_account_id,
    min(sub_account_id)                                   as sub_account_id,
    min(provider_name)                                    as provider_name,
    min(service_name)                                     as service_name,
    min(region_id)                                        as region_id,
    max(instance_type)                                    as instance_type,
    max(gpu_count)                                        as gpu_count,
    max(gpu_model)                                        as gpu_model,
    bool_or(is_spot)                                      as is_spot,
    max(team)                                             as team,
    max(project)                                          as project,
    max(job_type)                                         as job_type,
    bool_or(is_untagged)                                  as is_untagged,
    max(capacity_gpu_seconds)                             as capacity_gpu_seconds,
    cast(sum(billed_cost) as decimal(38, 10))             as billed_cost,
    cast(sum(effective_cost) as decimal(38, 10))          as effective_cost,
    cast(sum(line_items) as bigint)                       as line_items
from {{ ref('int_resource_period_hours_costed') }} as period_hours
where exists (
    select 1 from hours_billed_in_other_periods as other
    where other.resource_id = period_hours.resource_id and other.hour_start = period_hours.hour_start
)
group by resource_id, hour_start
