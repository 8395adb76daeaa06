-- Each shared (MIG or time-sliced) GPU's monthly cost per namespace, with the GPU's idle part
-- handled as policy.yaml allocation.idle_distribution says (separate | even | weighted): the
-- per-GPU counterpart of fct_gpu_cost_distributed. The rules are in
-- int_shared_gpu_cost_distributions, which computes every method so each is tested against the bill.
{{ config(materialized='table') }}

select
    idle_distribution,
    billing_period,
    resource_id,
    gpu_uuid,
    cast(gpu_index as {{ dbt.type_string() }})            as gpu_index,
    gpu_model,
    sharing_mode,
    namespace,
    row_type,
    cast(gpu_hours as double)                             as gpu_hours,
    cast(idle_weight as double)                           as idle_weight,
    direct_billed_cost,
    direct_effective_cost,
    distributed_billed_cost,
    distributed_effective_cost,
    billed_cost,
    effective_cost
from {{ ref('int_shared_gpu_cost_distributions') }}
where idle_distribution = '{{ var("idle_distribution") }}'
