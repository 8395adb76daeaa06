-- Every idle-distribution method charges exactly each shared GPU's cost share: per method,
-- billing period and GPU, the rows add up to the GPU's allocated cost (slices + pods + idle in
-- int_gpu_slice_hours_allocated), billed and amortised, to the cent; and
-- fct_shared_gpu_cost_distributed, the method in force, does too. Returns the (method, GPU-month)
-- pairs that do not reconcile.
{{ config(meta={'dagster': {'ref': {'name': 'fct_shared_gpu_cost_distributed'}}}) }}
with gpu_cost as (

    select billing_period, resource_id, gpu_uuid, sum(billed_cost) as billed_cost, sum(effective_cost) as effective_cost
    from {{ ref('int_gpu_slice_hours_allocated') }}
    group by 1, 2, 3

),

expected as (

    select methods.idle_distribution, gpu_cost.*
    from gpu_cost
    cross join (values ('separate'), ('even'), ('weighted'), ('in force')) as methods(idle_distribution)

),

distributed as (

    select idle_distribution, billing_period, resource_id, gpu_uuid, sum(billed_cost) as billed_cost, sum(effective_cost) as effective_cost
    from {{ ref('int_shared_gpu_cost_distributions') }}
    group by 1, 2, 3, 4
    union all
    select 'in force', billing_period, resource_id, gpu_uuid, sum(billed_cost), sum(effective_cost)
    from {{ ref('fct_shared_gpu_cost_distributed') }}
    group by 2, 3, 4

)

select
    idle_distribution,
    billing_period,
    resource_id,
    gpu_uuid,
    expected.billed_cost,
    distributed.billed_cost as distributed_billed_cost
from expected
full join distributed using (idle_distribution, billing_period, resource_id, gpu_uuid)
where abs(coalesce(expected.billed_cost, 0) - coalesce(distributed.billed_cost, 0)) >= 0.005
   or abs(coalesce(expected.effective_cost, 0) - coalesce(distributed.effective_cost, 0)) >= 0.005
