-- Each hour of a shared GPU split among the MIG slices and time-sliced pods that used it, so that
-- per GPU-hour  slices + pods + idle = the GPU's cost share, to the cent.
--
-- The GPU's cost share is the node's hourly cost (int_resource_hours_costed) / its GPU count.
-- A GPU is shared when its DCGM series carry a MIG instance (GPU_I_ID) or when two or more pods
-- report on it without one (time-slicing).
--
-- MIG (basis 'mig_profile'): a slice is hard-partitioned, so the pod holding it pays for it
-- whether busy or not. Its share of the GPU is the mean of its compute and memory shares:
--   share = (g / 7 + m / GPU memory GB) / 2   for a profile `<g>g.<m>gb`
-- (A100 and H100 have 7 compute slices; e.g. 3g.20gb on an A100-40GB = (3/7 + 20/40) / 2 = 46.4 %,
-- 3g.40gb on an A100-80GB = (3/7 + 40/80) / 2 = 46.4 %). Valid layouts never exceed 100 %;
-- when the hour's instances add up to more (mislabelled profiles) they are scaled down pro rata.
-- An instance no pod holds and the GPU left unpartitioned are idle ('idle').
-- Several pods on one instance in the hour share its slice equally.
--
-- Time-slicing (basis 'time_slice'): each pod pays for the share of the hour the GPU worked for
-- it, its busy share = its mean engine-active ratio over the hour's samples (SM active, then
-- GPU_UTIL / 100 when not scraped). When the pods' busy shares add up to more than the hour
-- (duplicated per-pod series) they are scaled down pro rata; the rest of the hour is idle.
{{ config(materialized='table') }}

with samples as (

    select
        samples.*,
        hosts.resource_id,
        date_trunc('hour', samples.sampled_at)                                       as hour_start,
        coalesce(samples.gpu_uuid, samples.hostname || '/' || samples.gpu_index)    as gpu
    from {{ ref('stg_telemetry__gpu_samples') }} as samples
    inner join {{ ref('stg_inventory__gpu_hosts') }} as hosts
        on lower(hosts.hostname) = lower(samples.hostname)
    where samples.metric in ('DCGM_FI_PROF_GR_ENGINE_ACTIVE', 'DCGM_FI_PROF_SM_ACTIVE', 'DCGM_FI_DEV_GPU_UTIL')

),

shared_gpus as (

    select
        resource_id,
        gpu,
        min(gpu_index)                                                               as gpu_index,
        bool_or(gpu_instance_id is not null)                                         as is_mig
    from samples
    group by resource_id, gpu
    having bool_or(gpu_instance_id is not null)
        or count(distinct case when gpu_instance_id is null then pod end) >= 2

),

gpu_hours as (

    select
        costed.resource_id,
        costed.hour_start,
        costed.usage_date,
        costed.billing_period,
        costed.gpu_model,
        shared_gpus.gpu,
        shared_gpus.gpu_index,
        shared_gpus.is_mig,
        cast(cast(costed.billed_cost as double) / costed.gpu_count as decimal(38, 10))               as gpu_billed_cost,
        cast(cast(costed.effective_cost as double) / costed.gpu_count as decimal(38, 10))            as gpu_effective_cost
    from {{ ref('int_resource_hours_costed') }} as costed
    inner join shared_gpus using (resource_id)
    where costed.gpu_count > 0
      and exists (
          select 1 from samples
          where samples.resource_id = costed.resource_id and samples.gpu = shared_gpus.gpu
            and samples.hour_start = costed.hour_start
      )

),

catalog_memory as (

    select gpu_model, max(gpu_memory_gib) as gpu_memory_gb
    from {{ ref('gpu_instance_catalog') }}
    group by gpu_model

),

series as (
    -- one row per GPU-hour and MIG instance or pod, with its busy share of the hour
    select
        resource_id,
        hour_start,
        gpu,
        gpu_instance_id,
        max(gpu_instance_profile)                                                    as gpu_instance_profile,
        namespace,
        pod,
        least(1.0, coalesce(
            avg(case when metric = 'DCGM_FI_PROF_GR_ENGINE_ACTIVE' then value end),
            avg(case when metric = 'DCGM_FI_PROF_SM_ACTIVE' then value end),
            avg(case when metric = 'DCGM_FI_DEV_GPU_UTIL' then value end) / 100.0
        ))                                                                           as busy_share,
        case
            when count(case when metric = 'DCGM_FI_PROF_GR_ENGINE_ACTIVE' then 1 end) > 0 then 'DCGM_FI_PROF_GR_ENGINE_ACTIVE'
            when count(case when metric = 'DCGM_FI_PROF_SM_ACTIVE' then 1 end) > 0 then 'DCGM_FI_PROF_SM_ACTIVE'
            else 'DCGM_FI_DEV_GPU_UTIL'
        end                                                                          as utilization_signal
    from samples
    where gpu_instance_id is not null or pod is not null
    group by resource_id, hour_start, gpu, gpu_instance_id, namespace, pod

),

mig_slices as (

    select
        series.*,
        gpu_hours.gpu_model,
        try_cast(regexp_extract(series.gpu_instance_profile, '^([0-9]+)g', 1) as double) / 7.0
            as compute_share,
        try_cast(regexp_extract(series.gpu_instance_profile, '[.]([0-9]+)gb', 1) as double) / catalog_memory.gpu_memory_gb
            as memory_share,
        count(series.pod) over (partition by series.resource_id, series.hour_start, series.gpu, series.gpu_instance_id)
            as pods_on_instance
    from series
    inner join gpu_hours using (resource_id, hour_start, gpu)
    left join catalog_memory using (gpu_model)
    where gpu_hours.is_mig and series.gpu_instance_id is not null

),

mig_shares as (

    select
        resource_id, hour_start, gpu, gpu_instance_id, gpu_instance_profile, namespace, pod, busy_share,
        utilization_signal,
        case when pod is null then 'idle' else 'mig_profile' end                     as basis,
        -- the instance's share, split among the pods on it
        coalesce((compute_share + memory_share) / 2, compute_share, 0) / greatest(1, pods_on_instance)
                                                                                     as raw_share
    from mig_slices
    -- an instance held by a pod for part of the hour is the pod's; an unheld one stays a row
    where pod is not null or pods_on_instance = 0

),

time_slice_shares as (

    select
        series.resource_id, series.hour_start, series.gpu, series.gpu_instance_id, series.gpu_instance_profile,
        series.namespace, series.pod, series.busy_share, series.utilization_signal,
        'time_slice'                                                                 as basis,
        coalesce(series.busy_share, 0)                                               as raw_share
    from series
    inner join gpu_hours using (resource_id, hour_start, gpu)
    where not gpu_hours.is_mig and series.pod is not null and series.gpu_instance_id is null

),

shares as (

    select
        *,
        -- never more than the whole GPU: oversubscribed hours are scaled down pro rata
        raw_share / greatest(1.0, sum(raw_share) over (partition by resource_id, hour_start, gpu)) as gpu_share
    from (select * from mig_shares union all select * from time_slice_shares)

),

allocated as (

    select
        shares.resource_id, shares.hour_start, shares.gpu, shares.gpu_instance_id, shares.gpu_instance_profile,
        shares.namespace, shares.pod, shares.busy_share, shares.utilization_signal, shares.basis, shares.gpu_share,
        cast(gpu_hours.gpu_billed_cost * shares.gpu_share as decimal(38, 10))        as billed_cost,
        cast(gpu_hours.gpu_effective_cost * shares.gpu_share as decimal(38, 10))     as effective_cost
    from shares
    inner join gpu_hours using (resource_id, hour_start, gpu)

),

idle as (
    -- what no slice or pod took: unpartitioned MIG capacity, or time-sliced hours nobody was busy
    select
        gpu_hours.resource_id, gpu_hours.hour_start, gpu_hours.gpu,
        cast(null as {{ dbt.type_string() }})                                                        as gpu_instance_id,
        cast(null as {{ dbt.type_string() }})                                                        as gpu_instance_profile,
        cast(null as {{ dbt.type_string() }})                                                        as namespace,
        cast(null as {{ dbt.type_string() }})                                                        as pod,
        cast(null as double)                                                         as busy_share,
        cast(null as {{ dbt.type_string() }})                                                        as utilization_signal,
        'idle'                                                                       as basis,
        1 - coalesce(sum(allocated.gpu_share), 0)                                    as gpu_share,
        gpu_hours.gpu_billed_cost - coalesce(sum(allocated.billed_cost), 0)          as billed_cost,
        gpu_hours.gpu_effective_cost - coalesce(sum(allocated.effective_cost), 0)    as effective_cost
    from gpu_hours
    left join allocated using (resource_id, hour_start, gpu)
    group by gpu_hours.resource_id, gpu_hours.hour_start, gpu_hours.gpu, gpu_hours.gpu_billed_cost, gpu_hours.gpu_effective_cost
    having 1 - coalesce(sum(allocated.gpu_share), 0) > 1e-9
        or gpu_hours.gpu_billed_cost <> coalesce(sum(allocated.billed_cost), 0)
        or gpu_hours.gpu_effective_cost <> coalesce(sum(allocated.effective_cost), 0)

),

rows as (

    select * from allocated
    union all
    select * from idle

)

select
    rows.resource_id,
    rows.hour_start,
    gpu_hours.usage_date,
    gpu_hours.billing_period,
    rows.gpu                                                                         as gpu_uuid,
    gpu_hours.gpu_index,
    gpu_hours.gpu_model,
    case when gpu_hours.is_mig then 'mig' else 'time_slice' end                      as sharing_mode,
    rows.basis,
    rows.gpu_instance_id,
    rows.gpu_instance_profile,
    rows.namespace,
    rows.pod,
    rows.busy_share,
    rows.utilization_signal,
    rows.gpu_share,
    cast(rows.billed_cost as decimal(38, 10))                                        as billed_cost,
    cast(rows.effective_cost as decimal(38, 10))                                     as effective_cost,
    gpu_hours.gpu_billed_cost,
    gpu_hours.gpu_effective_cost
from rows
inner join gpu_hours using (resource_id, hour_start, gpu)
