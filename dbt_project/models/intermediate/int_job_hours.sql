-- Each matched job cut into the clock hours it ran in, with the seconds and GPU-seconds it used
-- in each: a job from 23:30 to 01:15 gives 30 min in the 23:00 hour, 60 in 00:00 and 15 in 01:00.
with jobs as (

    select * from {{ ref('int_jobs_matched') }}
    where resource_id is not null and costed_until > start_time

),

hours as (

    select
        jobs.job_id,
        jobs.resource_id,
        jobs.gpu_count,
        hour_start,
        {{ dbt.datediff(
            'greatest(jobs.start_time, hour_start)',
            'least(jobs.costed_until, hour_start + interval 1 hour)',
            'second') }}             as run_seconds
    from jobs
    {{ cross_join_unnest(hour_series("date_trunc('hour', jobs.start_time)", 'jobs.costed_until - interval 1 second'), 't', 'hour_start') }}

)

select
    job_id,
    resource_id,
    hour_start,
    run_seconds,
    run_seconds * gpu_count          as gpu_seconds
from hours
where run_seconds > 0
