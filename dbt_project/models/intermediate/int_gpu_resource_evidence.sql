-- What is known about each billed GPU resource over all time, whatever the hour: whether a job
-- tracker reports jobs on it (an hour without a job there is then known to be unused) and whether
-- it serves inference (requests logged, CloudWatch invocations, or tagged/named as serving).
-- int_resource_hours_allocated reads it, and its period versions digest it. A table: small, and
-- read three times (the versions, the allocation, its tests), where a view would scan every
-- resource-hour each time.
{{ config(materialized='table') }}

with jobs as (

    select distinct resource_id
    from {{ ref('int_jobs_matched') }}
    where resource_id is not null

),

serving as (

    select resource_id
    from {{ ref('int_inference_requests_matched') }}
    where resource_id is not null
    union
    select resource_id
    from {{ ref('int_endpoint_invocations_hourly') }}
    union
    select resource_id
    from {{ ref('int_resource_hours_costed') }}
    where job_type = 'inference' or resource_id like '%:endpoint/%'

),

resources as (

    select resource_id from jobs
    union
    select resource_id from serving

)

select
    resources.resource_id,
    jobs.resource_id is not null     as is_tracked,
    serving.resource_id is not null  as is_serving
from resources
left join jobs on jobs.resource_id = resources.resource_id
left join serving on serving.resource_id = resources.resource_id
