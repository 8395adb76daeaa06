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

per_gpu_hour as (

    select
        hosts.resource_id,
        date_trunc('hour', samples.sampled_at)                                       as hour_start,
        coalesce(samples.gpu_uuid, samples.hostname || '/' || samples.gpu_index)    as gpu,
        -- The profiling ratios (0-1) measure work; DCGM_FI_DEV_GPU_UTIL (0-100) only says a kernel
        -- ran at some point of each sample period, so it reads 100 % for a GPU doing little.
        -- Prefer graphics-engine active, then SM active, GPU_UTIL only when neither was scraped.
        coalesce(
            avg(case when samples.metric = 'DCGM_FI_PROF_GR_ENGINE_ACTIVE' then samples.value end),
            avg(case when samples.metric = 'DCGM_FI_PROF_SM_ACTIVE' then samples.value end),
            avg(case when samples.metric = 'DCGM_FI_DEV_GPU_UTIL' then samples.value end) / 100.0
        )                                                                            as gpu_utilization,
        case
            when count(case when samples.metric = 'DCGM_FI_PROF_GR_ENGINE_ACTIVE' then 1 end) > 0
                then 'DCGM_FI_PROF_GR_ENGINE_ACTIVE'
            when count(case when samples.metric = 'DCGM_FI_PROF_SM_ACTIVE' then 1 end) > 0
                then 'DCGM_FI_PROF_SM_ACTIVE'
            when count(case when samples.metric = 'DCGM_FI_DEV_GPU_UTIL' then 1 end) > 0
                then 'DCGM_FI_DEV_GPU_UTIL'
        end                                                                          as utilization_signal,
        avg(case when samples.metric = 'DCGM_FI_DEV_FB_USED' then samples.value end) as memory_used_mib,
        avg(case when samples.metric = 'DCGM_FI_DEV_POWER_USAGE' then samples.value end) as power_watts,
        -- energy counter increases (mJ) summed over the hour
        sum(case when samples.metric = 'gpu_energy_mj_increase' then samples.value end) / 3.6e9 as energy_kwh,
        count(*)                                                                     as samples
    from samples
    inner join hosts on lower(hosts.hostname) = lower(samples.hostname)
    group by 1, 2, 3

),

telemetry as (

    select
        resource_id,
        hour_start,
        avg(gpu_utilization)         as gpu_utilization,
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
