-- What each MIG slice and time-sliced pod of a shared GPU cost per day, with the GPU's idle part
-- as its own rows; per GPU-day the rows add up to the GPU's share of its node's cost. The rules
-- (MIG profile shares, time-slice busy shares) are in int_gpu_slice_hours_allocated.
{{ config(materialized='table') }}

with hours as (

    select * from {{ ref('int_gpu_slice_hours_allocated') }}

),

daily as (

    select
        usage_date,
        billing_period,
        resource_id,
        gpu_uuid,
        gpu_index,
        gpu_model,
        sharing_mode,
        basis,
        gpu_instance_id,
        gpu_instance_profile,
        coalesce(namespace, case when basis = 'idle' then '(idle)' else '(unknown)' end) as namespace,
        coalesce(pod, case when basis = 'idle' then '(idle)' else '(unknown)' end)       as pod,
        count(*)                                                                         as hours,
        sum(gpu_share)                                                                   as gpu_hours,
        avg(busy_share)                                                                  as busy_share,
        max(utilization_signal)                                                          as utilization_signal,
        cast(sum(billed_cost) as decimal(38, 10))                                        as billed_cost,
        cast(sum(effective_cost) as decimal(38, 10))                                     as effective_cost
    from hours
    group by
        usage_date, billing_period, resource_id, gpu_uuid, gpu_index, gpu_model, sharing_mode, basis,
        gpu_instance_id, gpu_instance_profile,
        coalesce(namespace, case when basis = 'idle' then '(idle)' else '(unknown)' end),
        coalesce(pod, case when basis = 'idle' then '(idle)' else '(unknown)' end)

)

select
    cast(usage_date as date)                                                             as usage_date,
    billing_period,
    resource_id,
    gpu_uuid,
    cast(gpu_index as {{ dbt.type_string() }})                                                           as gpu_index,
    gpu_model,
    sharing_mode,
    basis,
    gpu_instance_id,
    gpu_instance_profile,
    namespace,
    pod,
    cast(hours as integer)                                                               as hours,
    cast(gpu_hours as double)                                                            as gpu_hours,
    -- the row's part of the GPU-day: its GPU-hours over the GPU's hours that day
    cast(gpu_hours / sum(gpu_hours) over (partition by usage_date, resource_id, gpu_uuid) as double) as gpu_share,
    cast(busy_share as double)                                                           as busy_share,
    utilization_signal,
    billed_cost,
    effective_cost
from daily
