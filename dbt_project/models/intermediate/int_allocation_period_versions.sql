-- One row per billing period with a version of everything the GPU allocation of its hours reads
-- (int_resource_hours_allocated): the period's billed hours, and the telemetry, job hours,
-- requests and endpoint invocations of its month, plus the fleet-wide facts the allocation
-- uses (which boxes a job tracker or a gateway knows, the request log's window, the idle
-- threshold). A moved version rebuilds that period; a moved fleet-wide fact rebuilds them all.
-- Digests are order-independent sums of row hashes, so they cost one scan each.
{{ config(materialized='table') }}

with billing as (

    select billing_period, period_version from {{ ref('int_billing_period_versions') }}

),

utilization as (

    select strftime(hour_start, '%Y-%m') as billing_period, count(*) as n, sum(hash(u)) as digest
    from {{ ref('int_gpu_utilization_hourly') }} as u
    group by 1

),

job_hours as (

    select strftime(job_hours.hour_start, '%Y-%m') as billing_period, count(*) as n,
           sum(hash(job_hours, jobs.team, jobs.project, jobs.status)) as digest
    from {{ ref('int_job_hours') }} as job_hours
    inner join {{ ref('int_jobs_matched') }} as jobs using (job_id)
    group by 1

),

requests as (

    select strftime(hour_start, '%Y-%m') as billing_period, count(*) as n,
           sum(hash(resource_id, hour_start)) as digest
    from {{ ref('int_inference_requests_matched') }}
    where resource_id is not null
    group by 1

),

invocations as (

    select strftime(sampled_at, '%Y-%m') as billing_period, count(*) as n, sum(hash(m)) as digest
    from {{ ref('stg_inference__endpoint_metrics') }} as m
    where metric = 'Invocations'
    group by 1

),

fleet as (
    -- facts about the whole fleet that the allocation of any hour uses
    select md5(concat_ws('|',
        (select sum(hash(resource_id)) from (select distinct resource_id from {{ ref('int_jobs_matched') }} where resource_id is not null)),
        (select sum(hash(resource_id)) from (
            select distinct resource_id from {{ ref('int_inference_requests_matched') }} where resource_id is not null
            union
            select distinct resource_id from {{ ref('int_resource_hours_costed') }} where job_type = 'inference' or resource_id like '%:endpoint/%')),
        (select sum(hash(e)) from {{ ref('int_sagemaker_endpoints') }} as e),
        (select concat(min(hour_start), '/', max(hour_start)) from {{ ref('int_inference_requests_matched') }}),
        '{{ var("idle_gpu_utilization_below") }}'
    )) as fleet_digest

)

select
    billing.billing_period,
    md5(concat_ws('|',
        billing.period_version,
        coalesce(utilization.n, 0), coalesce(utilization.digest, 0),
        coalesce(job_hours.n, 0), coalesce(job_hours.digest, 0),
        coalesce(requests.n, 0), coalesce(requests.digest, 0),
        coalesce(invocations.n, 0), coalesce(invocations.digest, 0),
        fleet.fleet_digest
    )) as period_version
from billing
cross join fleet
left join utilization using (billing_period)
left join job_hours using (billing_period)
left join requests using (billing_period)
left join invocations using (billing_period)
