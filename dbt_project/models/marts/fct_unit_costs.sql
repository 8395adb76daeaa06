-- The unit costs ML teams reason in, per month, workload, team, project and model: cost per
-- training run, per inference request, per 1k tokens and per useful GPU-hour, next to the
-- team's job success rate, GPU utilization and EffectiveCost (fct_effective_cost). Exported as
-- `unit_costs` for BI tools.
with runs as (

    select * from {{ ref('fct_training_run_cost') }}
    where is_attributed

),

inference as (

    select * from {{ ref('fct_inference_cost') }}

),

effective as (

    select * from {{ ref('fct_effective_cost') }}

),

training as (

    select
        {{ format_timestamp('start_time', '%Y-%m') }}                              as billing_month,
        'training'                                                 as workload,
        coalesce(team, '(untagged)')                               as team,
        coalesce(project, '(untagged)')                            as project,
        coalesce(model_name, 'unknown')                            as model,
        count(*)                                                   as runs,
        cast(null as bigint)                                       as requests,
        sum(tokens)                                                as tokens,
        sum(gpu_hours)                                             as gpu_hours,
        sum(useful_gpu_hours)                                      as useful_gpu_hours,
        sum(effective_cost)                                        as effective_cost,
        -- tokens and useful hours are only known for some runs: divide like by like
        sum(effective_cost) filter (where tokens > 0)              as cost_of_token_runs,
        sum(effective_cost) filter (where useful_gpu_hours > 0)    as cost_of_measured_runs
    from runs
    group by 1, 2, 3, 4, 5

),

serving as (

    select
        {{ format_timestamp('usage_date', '%Y-%m') }},
        'inference',
        team,
        coalesce(endpoint_project, '(untagged)'),
        model,
        cast(null as bigint),
        sum(requests),
        sum(total_tokens),
        sum(gpu_hours),
        sum(gpu_hours * gpu_utilization),
        sum(effective_cost),
        sum(effective_cost) filter (where total_tokens > 0),
        sum(effective_cost) filter (where gpu_utilization > 0)
    from inference
    group by 1, 2, 3, 4, 5

),

unioned as (

    select * from training
    union all
    select * from serving

)

select
    unioned.billing_month,
    unioned.workload,
    unioned.team,
    unioned.project,
    unioned.model,
    cast(unioned.runs as bigint)                                                   as runs,
    cast(unioned.requests as bigint)                                               as requests,
    cast(unioned.tokens as double)                                                 as tokens,
    cast(unioned.gpu_hours as double)                                              as gpu_hours,
    cast(unioned.useful_gpu_hours as double)                                       as useful_gpu_hours,
    cast(unioned.effective_cost as decimal(38, 10))                                as effective_cost,
    cast(cast(unioned.effective_cost as double) / nullif(unioned.runs, 0) as decimal(38, 10))      as cost_per_training_run,
    cast(cast(unioned.effective_cost as double) / nullif(unioned.requests, 0) as decimal(38, 10))  as cost_per_inference_request,
    cast(unioned.cost_of_token_runs / nullif(unioned.tokens, 0) * 1000 as decimal(38, 10)) as cost_per_1k_tokens,
    cast(unioned.cost_of_measured_runs / nullif(unioned.useful_gpu_hours, 0) as decimal(38, 10)) as cost_per_useful_gpu_hour,
    effective.job_success_rate,
    effective.gpu_utilization                                                      as team_gpu_utilization,
    effective.effective_cost                                                       as team_effective_cost
from unioned
left join effective
    on effective.billing_month = unioned.billing_month
   and effective.team = unioned.team
   and effective.project = unioned.project
