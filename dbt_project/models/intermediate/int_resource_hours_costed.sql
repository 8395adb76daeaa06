-- What each billed GPU resource cost in each hour it ran: the hour's rows of every billing
-- period (int_resource_period_hours_costed) summed. An hour is nearly always billed in its own
-- month; a correction billed in a later period adds to it, and the hour keeps the earliest period.
{{ config(materialized='table') }}

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
from {{ ref('int_resource_period_hours_costed') }}
group by resource_id, hour_start
