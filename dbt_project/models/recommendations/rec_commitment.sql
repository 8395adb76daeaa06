-- commitment: for on-demand compute (Compute Savings Plan: EC2) and SageMaker (SageMaker Savings
-- Plan) per billing account, simulate the hourly bill of each lookback (commitments.lookback_days,
-- 7 / 30 / 60 days as AWS and Azure do, 90 for a quarter) under candidate hourly commitments - the 10th..100th
-- percentile of the hourly on-demand spend, at the plan's discount:
--     cost(hour) = commitment + the on-demand spend above what the commitment covers
-- keep each lookback's commitment with the greatest net savings, and recommend the smallest of
-- them, so a workload that only recently grew is not over-committed. A workload the spend
-- forecast sees shrinking gets it scaled down by the forecast/lookback ratio.
-- Break-even utilization of a commitment = 1 - discount; no upfront, so payback is immediate.
{%- set c = var('rec')['commitments'] %}
{%- set longest = c['lookback_days'] | map('int') | max %}

with bill_end as (

    select max(charge_period_start) as last_start from {{ ref('stg_billing') }}

),

lookbacks as (
    {% for days in c['lookback_days'] %}
    select {{ days | int }} as lookback_days{{ ' union all' if not loop.last }}
    {% endfor %}
),

usage as (

    select
        case when service_name ilike '%SageMaker%' then 'sagemaker_savings_plan' else 'compute_savings_plan' end as plan,
        billing_account_id,
        date_trunc('hour', charge_period_start)                                        as hour_start,
        sum(billed_cost)                                                               as on_demand_spend
    from {{ ref('int_billing_line_items_classified') }}
    where is_allocatable
      and line_item_type = 'Usage' and coalesce(pricing_category, 'Standard') = 'Standard'
      and commitment_discount_id is null
      and (usage_type ilike '%BoxUsage%' or service_name ilike '%SageMaker%')
      and charge_period_start > (select last_start from bill_end) - interval {{ longest }} day
    group by 1, 2, 3

),

discounts as (

    select 'compute_savings_plan' as plan, {{ c['compute_savings_plan_discount'] }} as discount
    union all
    select 'sagemaker_savings_plan', {{ c['sagemaker_savings_plan_discount'] }}

),

all_hours as (
    -- every hour of each lookback, also those with no on-demand spend: they still cost the commitment
    select keys.plan, keys.billing_account_id, lookbacks.lookback_days, hours.hour_start,
           coalesce(usage.on_demand_spend, 0) as on_demand_spend
    from (select distinct plan, billing_account_id from usage) keys
    cross join lookbacks
    cross join (select distinct date_trunc('hour', charge_period_start) as hour_start
                from {{ ref('stg_billing') }}
                where charge_period_start > (select last_start from bill_end) - interval {{ longest }} day
                  and charge_period_end - charge_period_start <= interval 1 hour) hours
    left join usage
        on usage.plan = keys.plan and usage.billing_account_id = keys.billing_account_id
       and usage.hour_start = hours.hour_start
    where hours.hour_start > (select last_start from bill_end) - {{ days_interval('lookbacks.lookback_days') }}

),

candidates as (

    select distinct plan, billing_account_id, lookback_days, discount, percentile * (1 - discount) as hourly_commitment
    from (
        select all_hours.plan, all_hours.billing_account_id, all_hours.lookback_days, discounts.discount,
               {{ percentile_cont('all_hours.on_demand_spend', [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]) }} as percentiles
        from all_hours
        inner join discounts using (plan)
        group by all_hours.plan, all_hours.billing_account_id, all_hours.lookback_days, discounts.discount
    ) spread
    {{ cross_join_unnest('spread.percentiles', 'candidate', 'percentile') }}

),

simulated as (

    select
        candidates.plan,
        candidates.billing_account_id,
        candidates.lookback_days,
        candidates.discount,
        candidates.hourly_commitment,
        count(*)                                                                       as hours,
        sum(all_hours.on_demand_spend)                                                 as on_demand_cost,
        sum(candidates.hourly_commitment + greatest(all_hours.on_demand_spend - candidates.hourly_commitment / (1 - candidates.discount), 0)) as committed_cost,
        sum(least(all_hours.on_demand_spend, candidates.hourly_commitment / (1 - candidates.discount)) * (1 - candidates.discount))
            / nullif(sum(candidates.hourly_commitment), 0)                             as utilization
    from candidates
    inner join all_hours using (plan, billing_account_id, lookback_days)
    where candidates.hourly_commitment > 0
    group by 1, 2, 3, 4, 5

),

best_per_lookback as (

    select *
    from (
        select *, on_demand_cost - committed_cost as net_savings,
               row_number() over (partition by plan, billing_account_id, lookback_days
                                  order by on_demand_cost - committed_cost desc, hourly_commitment) as rank
        from simulated
    ) ranked
    where rank = 1 and net_savings > 0

),

chosen as (
    -- the smallest of the lookbacks' best commitments, with every lookback's answer as evidence
    select *
    from (
        select best_per_lookback.*,
               row_number() over (partition by plan, billing_account_id order by hourly_commitment, lookback_days desc) as pick,
               {{ json_array_over(
                   {'lookback_days': 'lookback_days', 'hourly_commitment': 'round(hourly_commitment, 4)',
                    'monthly_net_savings': 'round(net_savings * 730.0 / hours, 2)'},
                   'partition by plan, billing_account_id order by lookback_days
                    rows between unbounded preceding and unbounded following') }} as by_lookback
        from best_per_lookback
    ) ordered
    where pick = 1

),

trend as (
    -- forecast daily spend over the last 30 days' daily spend: below 1, the workload is shrinking
    select
        (select avg(mean) from {{ source('ml', 'spend_forecast') }} where unique_id = 'total')
        / nullif((select cast(sum(effective_cost) as double) / 30 from {{ ref('int_billing_line_items_classified') }}
                  where charge_period_start > (select last_start from bill_end) - interval 30 day), 0)
            as forecast_ratio

),

sized as (

    select chosen.*, least(coalesce(trend.forecast_ratio, 1), 1) as forecast_factor,
           chosen.hourly_commitment * least(coalesce(trend.forecast_ratio, 1), 1) as recommended_commitment
    from chosen cross join trend

)

select
    'commitment'                                                                       as category,
    'Buy a 1-year no-upfront ' || replace(plan, '_', ' ') || ' of $' || cast(round(recommended_commitment, 2) as {{ dbt.type_string() }}) || '/hour' as action,
    plan || ':' || billing_account_id                                                  as resource_id,
    'Savings Plan'                                                                     as resource_type,
    cast(null as {{ dbt.type_string() }})                                                              as team,
    cast(null as {{ dbt.type_string() }})                                                              as project,
    billing_account_id                                                                 as account_id,
    'all'                                                                              as region,
    cast(on_demand_cost * 730.0 as double) / hours                                     as current_monthly_cost_usd,
    net_savings * forecast_factor * 730.0 / hours                                      as estimated_monthly_savings_usd,
    case when forecast_factor < 1 then 0.6 else 0.75 end                               as confidence,
    true                                                                               as requires_approval,
    'A $' || cast(round(recommended_commitment, 2) as {{ dbt.type_string() }}) || '/hour ' || replace(plan, '_', ' ') || ' for account '
        || billing_account_id || ' would have been ' || cast(cast(round(100 * utilization) as bigint) as {{ dbt.type_string() }})
        || ' % used over the last ' || cast(lookback_days as {{ dbt.type_string() }}) || ' days (break-even '
        || cast(cast(round(100 * (1 - discount)) as bigint) as {{ dbt.type_string() }}) || ' %), saving about $'
        || cast(cast(round(net_savings * forecast_factor * 730.0 / hours) as bigint) as {{ dbt.type_string() }}) || ' a month.' as reason,
    {{ json_object({
        'hourly_commitment': 'recommended_commitment',
        'simulated_commitment': 'hourly_commitment',
        'discount': 'discount',
        'break_even_utilization': '1 - discount',
        'expected_utilization': 'utilization',
        'lookback_days': 'lookback_days',
        'hours': 'hours',
        'on_demand_cost': 'on_demand_cost',
        'committed_cost': 'committed_cost',
        'forecast_factor': 'forecast_factor',
        'payback_months': '0',
        'by_lookback': as_json('by_lookback', 'array<struct<lookback_days:int,hourly_commitment:double,monthly_net_savings:double>>')
    }) }} as evidence,
    'commitments.' || plan || '_discount, commitments.lookback_days'                   as policy,
    'commitment|' || plan || '|' || billing_account_id                                  as finding_key
from sized
where net_savings * forecast_factor * 730.0 / hours >= {{ c['min_monthly_savings_usd'] }}
