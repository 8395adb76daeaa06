-- Each GPU node's monthly cost per owning team under every idle-distribution method of
-- policy.yaml (allocation.idle_distribution); fct_gpu_cost_distributed keeps the chosen one.
-- Direct cost = the team's training jobs and inference (int_resource_hours_allocated); the
-- node-month's idle and unattributed cost is the pool the methods (macros/distribute_idle_cost.sql)
-- keep apart or spread over the teams. Under every method the rows of a node-month add up to its
-- cost (data test distributions_reconcile_to_cost).
-- A table (one row per node-month and team): the mart and four data tests read it, and a view would
-- re-allocate every hour for each.
{{ config(materialized='table') }}
with usage as (

    select
        billing_period,
        resource_id,
        coalesce(team, '(untagged)')                                                 as owner,
        allocation_type in ('training_job', 'inference')                             as is_direct,
        allocation_type                                                              as pool_type,
        gpu_hours,
        billed_cost,
        effective_cost
    from {{ ref('int_resource_hours_allocated') }}

),

nodes as (

    select billing_period, resource_id, max(instance_type) as instance_type, max(gpu_model) as gpu_model
    from {{ ref('int_resource_hours_allocated') }}
    group by 1, 2

),

{{ distribute_idle_cost('usage', ['billing_period', 'resource_id']) }}

select
    distributed.idle_distribution,
    distributed.billing_period,
    distributed.resource_id,
    nodes.instance_type,
    nodes.gpu_model,
    distributed.owner                                                                as team,
    distributed.row_type,
    distributed.gpu_hours,
    distributed.idle_weight,
    distributed.direct_billed_cost,
    distributed.direct_effective_cost,
    distributed.distributed_billed_cost,
    distributed.distributed_effective_cost,
    distributed.billed_cost,
    distributed.effective_cost
from distributed
inner join nodes using (billing_period, resource_id)
