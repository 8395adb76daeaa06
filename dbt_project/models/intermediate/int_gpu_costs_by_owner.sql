-- Every GPU dollar with the team and project it is charged to (showback): training and idle
-- hours to the job's or the box's owner, inference to the teams that called the endpoint.
-- The common base of fct_effective_cost and fct_waste.
with allocations as (

    select * from {{ ref('int_resource_hours_allocated') }}

),

jobs as (

    select job_id, status from {{ ref('int_jobs_matched') }}

),

inference as (

    select * from {{ ref('int_inference_hours_allocated') }}

)

select
    allocations.resource_id,
    allocations.hour_start,
    {{ format_timestamp('allocations.hour_start', '%Y-%m') }}          as billing_month,
    allocations.allocation_type,
    allocations.job_id,
    jobs.status                                         as job_status,
    cast(null as {{ dbt.type_string() }})                               as model,
    allocations.team,
    allocations.project,
    allocations.is_spot,
    allocations.is_serving,
    allocations.is_untagged,
    allocations.gpu_utilization,
    allocations.hour_share                              as instance_hours,
    allocations.gpu_hours,
    allocations.billed_cost,
    allocations.effective_cost
from allocations
left join jobs on jobs.job_id = allocations.job_id
where allocations.allocation_type <> 'inference'

union all

select
    resource_id,
    hour_start,
    {{ format_timestamp('hour_start', '%Y-%m') }},
    'inference',
    null,
    null,
    model,
    coalesce(caller_team, endpoint_team),
    endpoint_project,
    is_spot,
    true,
    endpoint_team is null,
    gpu_utilization,
    instance_hours,
    gpu_hours,
    billed_cost,
    effective_cost
from inference
