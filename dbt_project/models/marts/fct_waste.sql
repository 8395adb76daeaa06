-- GPU and cloud dollars wasted, per month, team and category. Every dollar lands in at most one
-- category, so the categories add up:
--   idle             billed GPU time nothing used (int_resource_hours_allocated 'idle')
--   failed_runs      the whole cost of FAILED and KILLED runs
--   over_provisioned on runs and endpoint-days below the target utilization of policy.yaml
--                    (efficiency.*_target_utilization), the part of their cost that GPUs sized
--                    to that target would not have cost: cost x (1 - utilization / target)
--   untagged         the rest of the spend no required tag (tagging.required) puts on a team:
--                    untagged non-GPU usage, and GPU cost no job or request attributes to a team
{%- set training_target = var('training_target_utilization') %}
{%- set inference_target = var('inference_target_utilization') %}

with costs as (

    select * from {{ ref('int_gpu_costs_by_owner') }}

),

runs as (

    select run_id, mean_gpu_utilization from {{ ref('fct_training_run_cost') }}

),

endpoint_days as (
    -- an endpoint is sized for its whole day's traffic, not per caller
    select
        resource_id,
        cast(hour_start as date)                                                     as usage_date,
        sum(gpu_hours * gpu_utilization) / nullif(sum(gpu_hours) filter (where gpu_utilization is not null), 0) as day_utilization
    from costs
    where allocation_type = 'inference'
    group by 1, 2

),

classified as (

    select
        costs.*,
        case
            when costs.allocation_type = 'training_job' then runs.mean_gpu_utilization
            when costs.allocation_type = 'inference' then endpoint_days.day_utilization
        end                                                                          as workload_utilization,
        case
            when costs.allocation_type = 'training_job' then {{ training_target }}
            when costs.allocation_type = 'inference' then {{ inference_target }}
        end                                                                          as target_utilization
    from costs
    left join runs on runs.run_id = costs.job_id
    left join endpoint_days
        on endpoint_days.resource_id = costs.resource_id
       and endpoint_days.usage_date = cast(costs.hour_start as date)
       and costs.allocation_type = 'inference'

),

pieces as (

    select
        billing_month,
        team,
        resource_id,
        case
            when allocation_type = 'idle' then 'idle'
            when allocation_type = 'training_job' and job_status in ('FAILED', 'KILLED') then 'failed_runs'
        end                                                                          as waste_category,
        effective_cost                                                               as wasted_cost,
        gpu_hours                                                                    as wasted_gpu_hours
    from classified
    where allocation_type = 'idle'
       or (allocation_type = 'training_job' and job_status in ('FAILED', 'KILLED'))

    union all

    select
        billing_month,
        team,
        resource_id,
        'over_provisioned',
        effective_cost * (1 - workload_utilization / target_utilization),
        gpu_hours * (1 - workload_utilization / target_utilization)
    from classified
    where allocation_type in ('training_job', 'inference')
      and coalesce(job_status, '') not in ('FAILED', 'KILLED')
      and workload_utilization < target_utilization

    union all

    -- the productive part of GPU cost that no team can be charged for
    select
        billing_month,
        team,
        resource_id,
        'untagged',
        case when workload_utilization < target_utilization
             then effective_cost * workload_utilization / target_utilization
             else effective_cost end,
        case when workload_utilization < target_utilization
             then gpu_hours * workload_utilization / target_utilization
             else gpu_hours end
    from classified
    where team is null
      and allocation_type in ('training_job', 'inference', 'unattributed')
      and coalesce(job_status, '') not in ('FAILED', 'KILLED')

    union all

    select
        {{ format_timestamp('usage_date', '%Y-%m') }},
        team,
        resource_id,
        'untagged',
        effective_cost,
        0
    from {{ ref('int_billing_line_items_classified') }}
    where is_allocatable and is_untagged and not (is_gpu and resource_id is not null)

)

select
    billing_month,
    coalesce(team, '(untagged)')                                                     as team,
    waste_category,
    cast(sum(wasted_cost) as decimal(38, 10))                                        as wasted_cost,
    cast(sum(wasted_gpu_hours) as double)                                            as wasted_gpu_hours,
    cast(count(distinct resource_id) as integer)                                     as resources
from pieces
group by 1, 2, 3
