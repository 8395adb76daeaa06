-- Shared GPUs lose and invent nothing: per node, GPU and hour, the MIG slices, time-sliced pods
-- and idle rows add up to the GPU's cost share (the node's hourly cost / its GPU count), billed
-- and amortised, to the cent. Returns the GPU-hours that do not reconcile.
-- Shown in Dagster as a check on fct_shared_gpu_cost (it reads two models).
{{ config(meta={'dagster': {'ref': {'name': 'fct_shared_gpu_cost'}}}) }}
with allocated as (

    select resource_id, hour_start, gpu_uuid, sum(billed_cost) as billed_cost, sum(effective_cost) as effective_cost
    from {{ ref('int_gpu_slice_hours_allocated') }}
    group by 1, 2, 3

),

gpus as (

    select resource_id, hour_start, billed_cost / gpu_count as billed_cost, effective_cost / gpu_count as effective_cost
    from {{ ref('int_resource_hours_costed') }}

),

daily as (

    select usage_date, resource_id, gpu_uuid, sum(billed_cost) as billed_cost
    from {{ ref('fct_shared_gpu_cost') }}
    group by 1, 2, 3

),

daily_expected as (

    select cast(hour_start as date) as usage_date, resource_id, gpu_uuid, sum(billed_cost) as billed_cost
    from allocated
    group by 1, 2, 3

)

select 'hour' as grain, allocated.resource_id, allocated.gpu_uuid, allocated.hour_start,
       allocated.billed_cost, gpus.billed_cost as expected_billed_cost
from allocated
left join gpus using (resource_id, hour_start)
where gpus.resource_id is null
   or abs(allocated.billed_cost - gpus.billed_cost) >= 0.005
   or abs(allocated.effective_cost - gpus.effective_cost) >= 0.005
union all
select 'day', daily_expected.resource_id, daily_expected.gpu_uuid, cast(daily_expected.usage_date as timestamp),
       daily.billed_cost, daily_expected.billed_cost
from daily_expected
left join daily using (usage_date, resource_id, gpu_uuid)
where abs(coalesce(daily.billed_cost, 0) - daily_expected.billed_cost) >= 0.005
