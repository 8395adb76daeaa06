-- What a team's GPU spend buys, per team, project and month. `gpu_spend` is what was paid
-- (FOCUS EffectiveCost, amortised); `effective_cost` is that spend over the share of it that
-- did useful work:
--     effective_cost = gpu_spend / (job success rate x GPU utilization)
-- Every failed or killed run is 100 % waste (`failed_run_spend`). Teams without training runs
-- (pure inference) count a success rate of 1.
with costs as (

    select * from {{ ref('int_gpu_costs_by_owner') }}

),

runs as (

    select * from {{ ref('fct_training_run_cost') }}

),

spend as (

    select
        billing_month,
        coalesce(team, '(untagged)')                                            as team,
        coalesce(project, '(untagged)')                                         as project,
        sum(effective_cost)                                                     as gpu_spend,
        sum(billed_cost)                                                        as gpu_billed_cost,
        sum(gpu_hours)                                                          as gpu_hours,
        sum(gpu_hours) filter (where gpu_utilization is not null)               as measured_gpu_hours,
        sum(gpu_hours * gpu_utilization) filter (where gpu_utilization is not null) as useful_gpu_hours,
        sum(effective_cost) filter (where allocation_type = 'training_job' and job_status in ('FAILED', 'KILLED')) as failed_run_spend,
        sum(effective_cost) filter (where allocation_type = 'idle')             as idle_spend
    from costs
    group by 1, 2, 3

),

outcomes as (
    -- runs count in the month they started; RUNNING runs have no outcome yet
    select
        {{ format_timestamp('start_time', '%Y-%m') }}                                           as billing_month,
        coalesce(team, '(untagged)')                                            as team,
        coalesce(project, '(untagged)')                                         as project,
        count(*) filter (where status = 'FINISHED')                             as finished_runs,
        count(*) filter (where status in ('FAILED', 'KILLED'))                  as failed_runs,
        count(*) filter (where status = 'RUNNING')                              as running_runs
    from runs
    group by 1, 2, 3

),

joined as (

    select
        spend.*,
        coalesce(outcomes.finished_runs, 0)                                     as finished_runs,
        coalesce(outcomes.failed_runs, 0)                                       as failed_runs,
        coalesce(outcomes.running_runs, 0)                                      as running_runs,
        cast(outcomes.finished_runs as double) / nullif(outcomes.finished_runs + outcomes.failed_runs, 0) as job_success_rate,
        spend.useful_gpu_hours / nullif(spend.measured_gpu_hours, 0)            as gpu_utilization
    from spend
    left join outcomes using (billing_month, team, project)

)

select
    billing_month,
    team,
    project,
    cast(gpu_spend as decimal(38, 10))                                          as gpu_spend,
    cast(gpu_billed_cost as decimal(38, 10))                                    as gpu_billed_cost,
    cast(gpu_hours as double)                                                   as gpu_hours,
    cast(useful_gpu_hours as double)                                            as useful_gpu_hours,
    cast(finished_runs as integer)                                              as finished_runs,
    cast(failed_runs as integer)                                                as failed_runs,
    cast(running_runs as integer)                                               as running_runs,
    cast(job_success_rate as double)                                            as job_success_rate,
    cast(gpu_utilization as double)                                             as gpu_utilization,
    cast(gpu_spend / nullif(coalesce(job_success_rate, 1.0) * gpu_utilization, 0) as decimal(38, 10)) as effective_cost,
    cast(coalesce(failed_run_spend, 0) as decimal(38, 10))                      as failed_run_spend,
    cast(coalesce(idle_spend, 0) as decimal(38, 10))                            as idle_spend
from joined
