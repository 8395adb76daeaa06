-- Each GPU node's monthly cost per team with its idle and unattributed cost distributed as
-- policy.yaml allocation.idle_distribution says (separate | even | weighted); the rules are in
-- int_gpu_cost_distributions, which computes every method so each is tested against the bill.
{{ config(materialized='table') }}

select
    idle_distribution,
    billing_period,
    resource_id,
    instance_type,
    gpu_model,
    team,
    row_type,
    cast(gpu_hours as double)                             as gpu_hours,
    cast(idle_weight as double)                           as idle_weight,
    direct_billed_cost,
    direct_effective_cost,
    distributed_billed_cost,
    distributed_effective_cost,
    billed_cost,
    effective_cost
from {{ ref('int_gpu_cost_distributions') }}
where idle_distribution = '{{ var("idle_distribution") }}'
