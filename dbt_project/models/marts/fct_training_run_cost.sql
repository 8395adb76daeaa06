-- One row per training run (MLflow run or SageMaker training job): what it cost, on what, and
-- how much of the GPU time it paid for did work. Cost is the run's share of its box's hourly
-- cost by GPU-seconds (int_resource_hours_allocated); runs that match no billed resource keep
-- their row with a null cost and the reason.
with jobs as (

    select * from {{ ref('int_jobs_matched') }}

),

allocations as (

    select
        job_id,
        sum(gpu_hours)                                                          as gpu_hours,
        sum(gpu_hours) filter (where gpu_utilization is not null)               as measured_gpu_hours,
        sum(gpu_hours * gpu_utilization) filter (where gpu_utilization is not null) as measured_useful_gpu_hours,
        {{ string_agg_distinct('utilization_signal', ', ') }}  as utilization_signal,
        bool_or(is_spot)                                                        as is_spot,
        sum(billed_cost)                                                        as billed_cost,
        sum(effective_cost)                                                     as effective_cost
    from {{ ref('int_resource_hours_allocated') }}
    where allocation_type = 'training_job'
    group by job_id

),

runs as (

    select
        jobs.job_id                                                             as run_id,
        jobs.job_source                                                         as run_source,
        jobs.job_name                                                           as run_name,
        jobs.experiment_id,
        jobs.team,
        jobs.project,
        jobs.user_name,
        jobs.status,
        {{ json_string('jobs.params', 'model_name') }}                        as model_name,
        jobs.resource_id,
        jobs.instance_type,
        jobs.gpu_model,
        jobs.gpu_count,
        coalesce(allocations.is_spot, jobs.managed_spot, false)                 as is_spot,
        jobs.start_time,
        jobs.end_time,
        cast({{ dbt.datediff('jobs.start_time', 'jobs.costed_until', 'second') }} as double) / 3600 as run_hours,
        allocations.gpu_hours,
        allocations.measured_useful_gpu_hours / nullif(allocations.measured_gpu_hours, 0) as mean_gpu_utilization,
        allocations.utilization_signal,
        allocations.billed_cost,
        allocations.effective_cost,
        try_cast({{ json_string('jobs.metrics', 'tokens') }} as double)      as tokens,
        try_cast({{ json_string('jobs.metrics', 'samples') }} as double)     as samples,
        jobs.params,
        jobs.unattributed_reason
    from jobs
    left join allocations on allocations.job_id = jobs.job_id

)

select
    run_id,
    run_source,
    run_name,
    experiment_id,
    team,
    project,
    user_name,
    status,
    model_name,
    resource_id,
    instance_type,
    gpu_model,
    cast(gpu_count as integer)                                                  as gpu_count,
    is_spot,
    cast(start_time as timestamp)                                               as start_time,
    cast(end_time as timestamp)                                                 as end_time,
    cast(run_hours as double)                                                   as run_hours,
    cast(gpu_hours as double)                                                   as gpu_hours,
    cast(mean_gpu_utilization as double)                                        as mean_gpu_utilization,
    cast(utilization_signal as {{ dbt.type_string() }})                                         as utilization_signal,
    cast(gpu_hours * mean_gpu_utilization as double)                            as useful_gpu_hours,
    cast(billed_cost as decimal(38, 10))                                        as billed_cost,
    cast(effective_cost as decimal(38, 10))                                     as effective_cost,
    cast(effective_cost / nullif(gpu_hours * mean_gpu_utilization, 0) as decimal(38, 10)) as cost_per_useful_gpu_hour,
    tokens,
    samples,
    cast(effective_cost / nullif(tokens, 0) * 1000000 as decimal(38, 10))       as cost_per_million_tokens,
    unattributed_reason is null                                                 as is_attributed,
    unattributed_reason,
    params
from runs
