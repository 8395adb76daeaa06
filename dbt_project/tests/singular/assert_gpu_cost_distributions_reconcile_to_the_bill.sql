-- Every idle-distribution method (separate, even, weighted) charges exactly the GPU bill: per
-- method, billing period and node, the rows add up to the node's allocated cost, billed and
-- amortised, to the cent; and fct_gpu_cost_distributed, the method in force, does too. Returns
-- the (method, node-month) pairs that do not reconcile.
-- Shown in Dagster as a check on fct_gpu_cost_distributed (it reads several models).
{{ config(meta={'dagster': {'ref': {'name': 'fct_gpu_cost_distributed'}}}) }}
with bill as (

    select billing_period, resource_id, sum(billed_cost) as billed_cost, sum(effective_cost) as effective_cost
    from {{ ref('int_resource_hours_allocated') }}
    group by 1, 2

),

expected as (

    select methods.idle_distribution, bill.*
    from bill
    cross join (values ('separate'), ('even'), ('weighted'), ('in force')) as methods(idle_distribution)

),

distributed as (

    select idle_distribution, billing_period, resource_id, sum(billed_cost) as billed_cost, sum(effective_cost) as effective_cost
    from {{ ref('int_gpu_cost_distributions') }}
    group by 1, 2, 3
    union all
    select 'in force', billing_period, resource_id, sum(billed_cost), sum(effective_cost)
    from {{ ref('fct_gpu_cost_distributed') }}
    group by 2, 3

)

select
    idle_distribution,
    billing_period,
    resource_id,
    expected.billed_cost,
    distributed.billed_cost as distributed_billed_cost
from expected
full join distributed using (idle_distribution, billing_period, resource_id)
where abs(coalesce(expected.billed_cost, 0) - coalesce(distributed.billed_cost, 0)) >= 0.005
   or abs(coalesce(expected.effective_cost, 0) - coalesce(distributed.effective_cost, 0)) >= 0.005
