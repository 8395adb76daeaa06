-- Each shared GPU's monthly cost per Kubernetes namespace under every idle-distribution method of
-- policy.yaml (allocation.idle_distribution); fct_shared_gpu_cost_distributed keeps the chosen
-- one. The per-GPU counterpart of int_gpu_cost_distributions: direct cost = the namespace's MIG
-- slices and time-sliced busy share on that GPU (int_gpu_slice_hours_allocated); the GPU's idle
-- part (unpartitioned or unheld MIG capacity, time-sliced hours nobody was busy) is the pool the
-- methods (macros/distribute_idle_cost.sql) keep apart or spread over the namespaces that used
-- that very GPU. Under every method the rows of a GPU-month add up to its cost share (data test
-- distributions_reconcile_to_cost).
with usage as (

    select
        billing_period,
        resource_id,
        gpu_uuid,
        coalesce(namespace, '(unknown)')                                             as owner,
        basis <> 'idle'                                                              as is_direct,
        basis                                                                        as pool_type,
        gpu_share                                                                    as gpu_hours,
        billed_cost,
        effective_cost
    from {{ ref('int_gpu_slice_hours_allocated') }}

),

gpus as (

    select
        billing_period, resource_id, gpu_uuid,
        min(gpu_index)                                                               as gpu_index,
        max(gpu_model)                                                               as gpu_model,
        max(sharing_mode)                                                            as sharing_mode
    from {{ ref('int_gpu_slice_hours_allocated') }}
    group by 1, 2, 3

),

{{ distribute_idle_cost('usage', ['billing_period', 'resource_id', 'gpu_uuid']) }}

select
    distributed.idle_distribution,
    distributed.billing_period,
    distributed.resource_id,
    distributed.gpu_uuid,
    gpus.gpu_index,
    gpus.gpu_model,
    gpus.sharing_mode,
    distributed.owner                                                                as namespace,
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
inner join gpus using (billing_period, resource_id, gpu_uuid)
