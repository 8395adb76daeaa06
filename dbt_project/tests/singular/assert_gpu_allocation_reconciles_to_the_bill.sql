-- Allocation loses and invents nothing: for every billed GPU resource and month, training-job +
-- inference + idle + unattributed cost equals the GPU usage line items' cost, to the cent, both
-- billed and amortised. Returns the resources that do not reconcile.
-- Shown in Dagster as a check on the allocation (it reads two models).
{{ config(meta={'dagster': {'ref': {'name': 'int_resource_hours_allocated'}}}) }}
with billed as (

    select resource_id, billing_period, sum(billed_cost) as billed_cost, sum(effective_cost) as effective_cost
    from {{ ref('int_billing_line_items_classified') }}
    where is_gpu and is_allocatable and resource_id is not null
    group by 1, 2

),

allocated as (

    select resource_id, billing_period, sum(billed_cost) as billed_cost, sum(effective_cost) as effective_cost
    from {{ ref('int_resource_hours_allocated') }}
    group by 1, 2

)

select
    coalesce(billed.resource_id, allocated.resource_id)        as resource_id,
    coalesce(billed.billing_period, allocated.billing_period)  as billing_period,
    billed.billed_cost                                         as line_item_billed_cost,
    allocated.billed_cost                                      as allocated_billed_cost,
    billed.effective_cost                                      as line_item_effective_cost,
    allocated.effective_cost                                   as allocated_effective_cost
from billed
full outer join allocated using (resource_id, billing_period)
where round(coalesce(billed.billed_cost, 0), 2) <> round(coalesce(allocated.billed_cost, 0), 2)
   or round(coalesce(billed.effective_cost, 0), 2) <> round(coalesce(allocated.effective_cost, 0), 2)
