-- EKS split cost allocation loses and invents nothing: per node and day, the pods' split cost plus
-- the node's idle (unused) cost equals the node's own cost, to the cent. AWS splits the node's
-- amortised cost, so the comparison is with its effective cost (equal to billed for on-demand
-- nodes). Returns the node-days that do not reconcile.
-- Shown in Dagster as a check on fct_k8s_cost (it reads two models).
{{ config(meta={'dagster': {'ref': {'name': 'fct_k8s_cost'}}}) }}
with allocated as (

    select usage_date, node_resource_id, sum(total_cost) as allocated_cost
    from {{ ref('fct_k8s_cost') }}
    group by 1, 2

),

nodes as (

    select usage_date, resource_id, sum(effective_cost) as node_effective_cost, sum(billed_cost) as node_billed_cost
    from {{ ref('stg_billing') }}
    where charge_category = 'Usage'
      and split_parent_resource_id is null
      and resource_id in (select node_resource_id from allocated)
    group by 1, 2

)

select
    allocated.usage_date,
    allocated.node_resource_id,
    allocated.allocated_cost,
    nodes.node_effective_cost,
    nodes.node_billed_cost
from allocated
left join nodes
    on nodes.resource_id = allocated.node_resource_id and nodes.usage_date = allocated.usage_date
where abs(allocated.allocated_cost - coalesce(nodes.node_effective_cost, 0)) >= 0.005
