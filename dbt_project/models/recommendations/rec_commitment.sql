-- commitment: for on-demand compute (Compute Savings Plan: EC2) and SageMaker (SageMaker Savings
-- Plan) per billing account, simulate the hourly bill of the lookback under candidate hourly
-- commitments (the 0th..100th percentile of the hourly on-demand spend, at the plan's discount):
--     cost(hour) = commitment + on-demand spend above what the commitment covers
-- and keep the commitment with the greatest net savings. A workload the spend forecast sees
-- shrinking gets its commitment scaled down by the forecast/lookback ratio, so it is not locked in.
-- Break-even utilization of a commitment = 1 - discount.
{%- set c = var('rec')['commitments'] %}

with usage as (

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
      and charge_period_start > (select max(charge_period_start) from {{ ref('stg_billing') }}) - interval {{ c['lookback_days'] | int }} day
    group by 1, 2, 3

),

discounts as (

    select 'compute_savings_plan' as plan, {{ c['compute_savings_plan_discount'] }} as discount
    union all
    select 'sagemaker_savings_plan', {{ c['sagemaker_savings_plan_discount'] }}

),

all_hours as (
    -- hours with no on-demand spend still cost the commitment
    select plan, billing_account_id, hour_start, coalesce(on_demand_spend, 0) as on_demand_spend
    from (select distinct plan, billing_account_id from usage) keys
    cross join (select distinct date_trunc('hour', charge_period_start) as hour_start
                from {{ ref('stg_billing') }}
                where charge_period_start > (select max(charge_period_start) from {{ ref('stg_billing') }}) - interval {{ c['lookback_days'] | int }} day
                  and charge_period_end - charge_period_start <= interval 1 hour) hours
    left join usage using (plan, billing_account_id, hour_start)

),

candidates as (
    -- the 10th, 20th, ... 100th percentile of the hourly on-demand spend, at the plan's discount
    select plan, billing_account_id, discount, unnest(percentiles) * (1 - discount) as hourly_commitment
    from (
        select all_hours.plan, all_hours.billing_account_id, discounts.discount,
               quantile_cont(all_hours.on_demand_spend, [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]) as percentiles
        from all_hours
        inner join discounts using (plan)
        group by all_hours.plan, all_hours.billing_account_id, discounts.discount
    ) spread

),

simulated as (

    select
        candidates.plan,
        candidates.billing_account_id,
        candidates.discount,
        candidates.hourly_commitment,
        count(*)                                                                       as hours,
        sum(all_hours.on_demand_spend)                                                 as on_demand_cost,
        sum(candidates.hourly_commitment + greatest(all_hours.on_demand_spend - candidates.hourly_commitment / (1 - candidates.discount), 0)) as committed_cost,
        sum(least(all_hours.on_demand_spend, candidates.hourly_commitment / (1 - candidates.discount)) * (1 - candidates.discount))
            / nullif(sum(candidates.hourly_commitment), 0)                             as utilization
    from candidates
    inner join all_hours using (plan, billing_account_id)
    where candidates.hourly_commitment > 0
    group by 1, 2, 3, 4

),

best as (

    select *, on_demand_cost - committed_cost as net_savings,
           row_number() over (partition by plan, billing_account_id order by on_demand_cost - committed_cost desc, hourly_commitment) as rank
    from simulated

),

trend as (
    -- forecast daily spend over the lookback's daily spend: below 1, the workload is shrinking
    select
        (select avg(mean) from {{ source('ml', 'spend_forecast') }} where unique_id = 'total')
        / nullif((select sum(effective_cost) / {{ c['lookback_days'] | int }} from {{ ref('int_billing_line_items_classified') }}
                  where charge_period_start > (select max(charge_period_start) from {{ ref('stg_billing') }}) - interval {{ c['lookback_days'] | int }} day), 0)
            as forecast_ratio

),

sized as (

    select best.*, least(coalesce(trend.forecast_ratio, 1), 1) as forecast_factor,
           best.hourly_commitment * least(coalesce(trend.forecast_ratio, 1), 1) as recommended_commitment
    from best cross join trend
    where rank = 1 and net_savings > 0

)

select
    'commitment'                                                                       as category,
    'Buy a 1-year no-upfront ' || replace(plan, '_', ' ') || ' of $' || cast(round(recommended_commitment, 2) as varchar) || '/hour' as action,
    plan || ':' || billing_account_id                                                  as resource_id,
    'Savings Plan'                                                                     as resource_type,
    cast(null as varchar)                                                              as team,
    cast(null as varchar)                                                              as project,
    billing_account_id                                                                 as account_id,
    'all'                                                                              as region,
    on_demand_cost * 730.0 / hours                                                     as current_monthly_cost_usd,
    net_savings * forecast_factor * 730.0 / hours                                      as estimated_monthly_savings_usd,
    case when forecast_factor < 1 then 0.6 else 0.75 end                               as confidence,
    true                                                                               as requires_approval,
    'A $' || cast(round(recommended_commitment, 2) as varchar) || '/hour ' || replace(plan, '_', ' ') || ' for account '
        || billing_account_id || ' would have been ' || cast(cast(round(100 * utilization) as bigint) as varchar)
        || ' % used over the last {{ c['lookback_days'] | int }} days (break-even ' || cast(cast(round(100 * (1 - discount)) as bigint) as varchar)
        || ' %), saving about $' || cast(cast(round(net_savings * forecast_factor * 730.0 / hours) as bigint) as varchar) || ' a month.' as reason,
    to_json({'hourly_commitment': recommended_commitment, 'simulated_commitment': hourly_commitment, 'discount': discount,
             'break_even_utilization': 1 - discount, 'expected_utilization': utilization, 'hours': hours,
             'on_demand_cost': on_demand_cost, 'committed_cost': committed_cost, 'forecast_factor': forecast_factor,
             'payback_months': 0})::varchar                                            as evidence,
    'commitments.' || plan || '_discount, commitments.lookback_days = {{ c['lookback_days'] | int }}' as policy,
    'commitment|' || plan || '|' || billing_account_id                                  as finding_key
from sized
where net_savings * forecast_factor * 730.0 / hours >= {{ c['min_monthly_savings_usd'] }}
