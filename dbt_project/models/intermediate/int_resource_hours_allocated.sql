-- Every billed GPU resource-hour split into who used it, so that for each hour
--   training_job + inference + idle + unattributed = the hour's cost, to the cent.
--
-- 1. Jobs that ran on the box in the hour get cost x (their GPU-seconds / the box's GPU-seconds);
--    jobs that together ask for more GPU-seconds than the box has share it pro rata.
-- 2. The rest of the hour (the remainder) is
--    - inference: the box serves requests (requests logged, CloudWatch invocations, or, on a
--      serving box, utilization at or above the idle threshold; a serving box with no evidence
--      either way is taken at its word),
--    - unattributed: no job ran in the hour yet the GPUs were busy (utilization at or above
--      policy.yaml allocation.idle_gpu_utilization_below) - someone used it, no tracker says who -
--      or no telemetry, job tracker or request log covers the box at all (no evidence either way),
--    - idle: nothing explains it. `idle_evidence` says how we know.
-- Costs are DECIMAL; the remainder is the hour's cost minus the jobs' shares, so nothing is lost.
-- Incremental by billing period: a nightly run re-allocates only the periods whose inputs moved
-- (int_allocation_period_versions says which); every other period keeps its rows.
{{ config(
    materialized=incremental_materialization(),
    incremental_strategy='append',
    on_schema_change='sync_all_columns',
    pre_hook="{{ delete_outdated_billing_periods('int_allocation_period_versions') }}",
) }}
{%- set idle_below = var('idle_gpu_utilization_below') %}
{#- what each allocation row carries of its hour: selected in both branches below rather than
    joined back at the end, so the hours are read twice, not three times (at 100 M line items
    the join back spilled tens of GB) -#}
{%- set hour_columns = ['usage_date', 'billing_period', 'billing_account_id', 'sub_account_id', 'provider_name',
                        'service_name', 'region_id', 'instance_type', 'gpu_count', 'gpu_model', 'is_spot',
                        'is_serving', 'is_untagged', 'gpu_utilization', 'utilization_signal', 'requests',
                        'invocations', 'period_version'] %}

with periods_to_build as (

    {{ billing_periods_to_build('int_allocation_period_versions') }}

),

resource_hours as (

    select resource_hours.*, periods_to_build.period_version
    from {{ ref('int_resource_hours_costed') }} as resource_hours
    inner join periods_to_build on periods_to_build.billing_period = resource_hours.billing_period

),

utilization as (

    select * from {{ ref('int_gpu_utilization_hourly') }}

),

jobs as (

    select * from {{ ref('int_jobs_matched') }}
    where resource_id is not null

),

job_hours as (

    select job_hours.*, jobs.team, jobs.project, jobs.status
    from {{ ref('int_job_hours') }} as job_hours
    inner join jobs on jobs.job_id = job_hours.job_id

),

jobs_per_hour as (

    select resource_id, hour_start, sum(gpu_seconds) as job_gpu_seconds
    from job_hours
    group by resource_id, hour_start

),

requests_per_hour as (

    select resource_id, hour_start, count(*) as requests
    from {{ ref('int_inference_requests_matched') }}
    where resource_id is not null
    group by resource_id, hour_start

),

request_log_window as (

    select min(hour_start) as first_hour, max(hour_start) as last_hour
    from {{ ref('int_inference_requests_matched') }}

),

invocations_per_hour as (

    select * from {{ ref('int_endpoint_invocations_hourly') }}

),

hours as (

    select
        resource_hours.*,
        utilization.gpu_utilization,
        utilization.utilization_signal,
        coalesce(jobs_per_hour.job_gpu_seconds, 0)                                   as job_gpu_seconds,
        greatest(resource_hours.capacity_gpu_seconds, coalesce(jobs_per_hour.job_gpu_seconds, 0)) as shared_gpu_seconds,
        coalesce(requests_per_hour.requests, 0)                                      as requests,
        invocations_per_hour.invocations,
        coalesce(evidence.is_serving, false)                                         as is_serving,
        -- a box some tracker reports jobs for: an hour without a job there is known to be unused
        coalesce(evidence.is_tracked, false)                                         as is_tracked,
        coalesce(resource_hours.hour_start between request_log_window.first_hour and request_log_window.last_hour, false) as in_request_log
    from resource_hours
    cross join request_log_window
    left join utilization using (resource_id, hour_start)
    left join jobs_per_hour using (resource_id, hour_start)
    left join requests_per_hour using (resource_id, hour_start)
    left join invocations_per_hour using (resource_id, hour_start)
    -- joined with ON, not USING: Spark 3.5 duplicates rows when the key of a USING join is read
    -- from its right side, and the evidence is itself built from the resource-hours
    left join {{ ref('int_gpu_resource_evidence') }} as evidence on evidence.resource_id = resource_hours.resource_id

),

job_shares as (

    select
        hours.resource_id,
        hours.hour_start,
        'training_job'                                                               as allocation_type,
        job_hours.job_id,
        coalesce(job_hours.team, hours.team)                                         as team,
        coalesce(job_hours.project, hours.project)                                   as project,
        job_hours.gpu_seconds / hours.shared_gpu_seconds                             as hour_share,
        cast(cast(hours.billed_cost * job_hours.gpu_seconds as double) / hours.shared_gpu_seconds as decimal(38, 10))    as billed_cost,
        cast(cast(hours.effective_cost * job_hours.gpu_seconds as double) / hours.shared_gpu_seconds as decimal(38, 10)) as effective_cost,
        'job_record'                                                                 as basis,
        {%- for column in hour_columns %}
        hours.{{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from hours
    inner join job_hours using (resource_id, hour_start)

),

allocated_to_jobs as (

    select
        resource_id, hour_start,
        sum(hour_share)      as hour_share,
        sum(billed_cost)     as billed_cost,
        sum(effective_cost)  as effective_cost
    from job_shares
    group by resource_id, hour_start

),

remainders as (

    select
        hours.resource_id,
        hours.hour_start,
        case
            when hours.is_serving and (
                    hours.requests > 0 or hours.invocations > 0
                    or hours.gpu_utilization >= {{ idle_below }}
                    or (hours.gpu_utilization is null and hours.invocations is null and not hours.in_request_log))
                then 'inference'
            when hours.job_gpu_seconds = 0 and hours.gpu_utilization >= {{ idle_below }}
                then 'unattributed'
            -- nothing measures or tracks this box in this hour: we cannot call it idle
            when hours.job_gpu_seconds = 0 and hours.gpu_utilization is null and not hours.is_tracked and not hours.is_serving
                then 'unattributed'
            else 'idle'
        end                                                                          as allocation_type,
        cast(null as {{ dbt.type_string() }})                                                        as job_id,
        hours.team,
        hours.project,
        1 - coalesce(allocated_to_jobs.hour_share, 0)                                as hour_share,
        hours.billed_cost - coalesce(allocated_to_jobs.billed_cost, 0)               as billed_cost,
        hours.effective_cost - coalesce(allocated_to_jobs.effective_cost, 0)         as effective_cost,
        case
            when hours.is_serving and (hours.requests > 0 or hours.invocations > 0) then 'requests'
            when hours.gpu_utilization is not null then 'gpu_telemetry'
            when hours.is_serving and hours.invocations = 0 then 'cloudwatch_invocations'
            when hours.is_serving and hours.in_request_log then 'request_log'
            when hours.is_tracked then 'job_records'
            when hours.is_serving then 'tags_only'
            else 'no_workload_data'
        end                                                                          as basis,
        {%- for column in hour_columns %}
        hours.{{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from hours
    left join allocated_to_jobs using (resource_id, hour_start)
    where coalesce(allocated_to_jobs.hour_share, 0) < 0.999999
       or hours.billed_cost <> coalesce(allocated_to_jobs.billed_cost, 0)
       or hours.effective_cost <> coalesce(allocated_to_jobs.effective_cost, 0)

),

allocations as (

    select * from job_shares
    union all
    select * from remainders

)

select
    resource_id,
    hour_start,
    usage_date,
    billing_period,
    billing_account_id,
    sub_account_id,
    provider_name,
    service_name,
    region_id,
    instance_type,
    gpu_count,
    gpu_model,
    is_spot,
    is_serving,
    is_untagged,
    allocation_type,
    job_id,
    team,
    project,
    basis,
    gpu_utilization,
    utilization_signal,
    requests                                                                         as hour_requests_logged,
    invocations                                                                      as hour_invocations,
    hour_share,
    hour_share * gpu_count                                                           as gpu_hours,
    cast(billed_cost as decimal(38, 10))                                             as billed_cost,
    cast(effective_cost as decimal(38, 10))                                          as effective_cost,
    period_version
from allocations
