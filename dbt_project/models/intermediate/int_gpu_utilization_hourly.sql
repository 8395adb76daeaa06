-- Measured GPU utilization per billed resource and hour: the mean over the box's GPUs and the
-- hour's samples of GPU utilization, framebuffer memory used and board power. Telemetry hosts
-- map to resources through inventory/hosts.csv; SageMaker endpoints report through CloudWatch,
-- whose GPUUtilization is summed over the instance's GPUs (0-400 % on a 4-GPU box).
{{ config(materialized='table') }}

with samples as (

    select * from {{ ref('stg_telemetry__gpu_samples') }}

),

hosts as (

    select * from {{ ref('stg_inventory__gpu_hosts') }}

),

per_series_hour as (
    -- one series = one GPU, or one MIG instance of it, or one pod time-sharing it (DCGM labels)
    select
        hosts.resource_id,
        date_trunc('hour', samples.sampled_at)                                       as hour_start,
        coalesce(samples.gpu_uuid, samples.hostname || '/' || samples.gpu_index)    as gpu,
        samples.gpu_instance_id,
        samples.pod,
        -- a MIG instance's ratios are relative to its own compute slices (of 7 on A100 / H100)
        coalesce(try_cast(regexp_extract(max(samples.gpu_instance_profile), '^([0-9]+)g', 1) as double) / 7.0, 1.0)
                                                                                     as compute_weight,
        avg(case when samples.metric = 'DCGM_FI_PROF_GR_ENGINE_ACTIVE' then samples.value end) as gr_engine_active,
        avg(case when samples.metric = 'DCGM_FI_PROF_SM_ACTIVE' then samples.value end) as sm_active,
        avg(case when samples.metric = 'DCGM_FI_DEV_GPU_UTIL' then samples.value end) / 100.0 as gpu_util,
        avg(case when samples.metric = 'DCGM_FI_DEV_FB_USED' then samples.value end) as memory_used_mib,
        avg(case when samples.metric = 'DCGM_FI_DEV_POWER_USAGE' then samples.value end) as power_watts,
        -- energy counter increases (mJ) summed over the hour
        sum(case when samples.metric = 'gpu_energy_mj_increase' then samples.value end) / 3.6e9 as energy_kwh,
        count(*)                                                                     as samples
    from samples
    inner join hosts on lower(hosts.hostname) = lower(samples.hostname)
    group by 1, 2, 3, 4, 5

),

per_gpu_hour as (
    -- A plain GPU has one series per metric, so the sums below are its own values. A MIG GPU adds
    -- up its instances weighted by their compute share; a time-sliced GPU adds up its pods' busy
    -- shares (capped at 1: duplicated per-pod series cannot make a GPU more than fully busy).
    select
        resource_id,
        hour_start,
        gpu,
        -- The profiling ratios (0-1) measure work; DCGM_FI_DEV_GPU_UTIL (0-100) only says a kernel
        -- ran at some point of each sample period, so it reads 100 % for a GPU doing little.
        -- Prefer graphics-engine active, then SM active, GPU_UTIL only when neither was scraped.
        least(1.0, coalesce(
            sum(gr_engine_active * compute_weight),
            sum(sm_active * compute_weight),
            sum(gpu_util * compute_weight)
        ))                                                                           as gpu_utilization,
        case
            when count(gr_engine_active) > 0 then 'DCGM_FI_PROF_GR_ENGINE_ACTIVE'
            when count(sm_active) > 0 then 'DCGM_FI_PROF_SM_ACTIVE'
            when count(gpu_util) > 0 then 'DCGM_FI_DEV_GPU_UTIL'
        end                                                                          as utilization_signal,
        sum(memory_used_mib)                                                         as memory_used_mib,
        sum(power_watts)                                                             as power_watts,
        sum(energy_kwh)                                                              as energy_kwh,
        sum(samples)                                                                 as samples
    from per_series_hour
    group by 1, 2, 3

),

telemetry as (

    select
        resource_id,
        hour_start,
        -- rounded: an average of doubles summed in parallel can differ in its last bits from one
        -- build to the next, and an hour on the idle threshold must come out the same every time
        round(avg(gpu_utilization), 9) as gpu_utilization,
        avg(memory_used_mib)         as memory_used_mib,
        avg(power_watts)             as power_watts,
        sum(energy_kwh)              as energy_kwh,
        count(distinct gpu)          as gpus_reporting,
        sum(samples)                 as samples,
        'dcgm'                       as utilization_source,
        -- one signal per resource-hour when all its GPUs agree; 'mixed' when exporters differ
        case when count(distinct utilization_signal) = 1 then min(utilization_signal) else 'mixed' end
                                     as utilization_signal
    from per_gpu_hour
    where gpu_utilization is not null
    group by resource_id, hour_start

),

endpoints as (

    select * from {{ ref('int_sagemaker_endpoints') }}

),

cloudwatch as (

    select
        endpoints.resource_id,
        date_trunc('hour', metrics.sampled_at)                 as hour_start,
        avg(metrics.value) / (100.0 * max(endpoints.gpu_count)) as gpu_utilization,
        cast(null as double)                                   as memory_used_mib,
        cast(null as double)                                   as power_watts,
        cast(null as double)                                   as energy_kwh,
        max(endpoints.gpu_count)                               as gpus_reporting,
        count(*)                                               as samples,
        'cloudwatch'                                           as utilization_source,
        'CloudWatch GPUUtilization'                            as utilization_signal
    from {{ ref('stg_inference__endpoint_metrics') }} as metrics
    inner join endpoints on endpoints.endpoint_name = lower(metrics.endpoint_name)
    where metrics.metric = 'GPUUtilization'
    group by 1, 2

)

select * from telemetry
union all
select * from cloudwatch
where not exists (
    select 1 from telemetry
    where telemetry.resource_id = cloudwatch.resource_id and telemetry.hour_start = cloudwatch.hour_start
)
