-- spot_migration: on-demand training boxes whose runs are short enough to restart when spot
-- capacity is reclaimed (at least spot.min_share_of_short_runs of them under spot.max_run_hours in
-- the lookback). Savings use the spot discount seen in the bill for the instance type, else
-- spot.default_discount. Only tiers with allow_spot; protected resources are skipped.
{%- set sp = var('rec')['spot'] %}

with resources as (

    select resources.*
    from {{ ref('int_gpu_resources_classified') }} as resources
    inner join {{ ref('int_workload_tiers') }} as tiers using (workload_tier)
    where resources.is_running and not resources.is_protected and not resources.is_spot
      and not resources.is_endpoint and tiers.allow_spot

),

window_start as (

    select {{ bill_lookback_start(sp['lookback_days']) }} as since

),

runs as (

    select
        resource_id,
        count(*)                                                                           as runs,
        count(*) filter (where {{ dbt.datediff('start_time', 'costed_until', 'second') }} <= 3600 * {{ sp['max_run_hours'] }}) as short_runs,
        {{ percentile_cont('cast(' ~ dbt.datediff('start_time', 'costed_until', 'second') ~ ' as double) / 3600', 0.9) }} as p90_run_hours
    from {{ ref('int_jobs_matched') }}
    where resource_id is not null and start_time > (select since from window_start) and costed_until is not null
    group by resource_id

),

spend as (

    select resource_id, sum(effective_cost) as effective_cost, count(*) as billed_hours
    from {{ ref('int_resource_hours_costed') }}
    where hour_start > (select since from window_start)
    group by resource_id

),

spot_prices as (
    -- what spot actually cost per instance type in the bill, as a share of its list price
    select instance_type, 1 - cast(sum(effective_cost) as double) / nullif(sum(list_cost), 0) as spot_discount
    from {{ ref('int_billing_line_items_classified') }}
    where pricing_category = 'Dynamic' and is_gpu and list_cost > 0
    group by instance_type

)

select
    'spot_migration'                                                                 as category,
    'Run this training on spot capacity'                                             as action,
    resources.resource_id,
    'GPU instance'                                                                   as resource_type,
    resources.team,
    resources.project,
    resources.billing_account_id                                                     as account_id,
    resources.region_id                                                              as region,
    spend.effective_cost * 730.0 / (24 * {{ sp['lookback_days'] | int }})            as current_monthly_cost_usd,
    spend.effective_cost * 730.0 / (24 * {{ sp['lookback_days'] | int }})
        * coalesce(spot_prices.spot_discount, {{ sp['default_discount'] }})            as estimated_monthly_savings_usd,
    case when spot_prices.spot_discount is not null then 0.8 else 0.65 end           as confidence,
    true                                                                             as requires_approval,
    resources.instance_type || ' ' || resources.resource_id || ': ' || cast(runs.short_runs as {{ dbt.type_string() }}) || ' of '
        || cast(runs.runs as {{ dbt.type_string() }}) || ' runs in {{ sp['lookback_days'] | int }} days finished within {{ sp['max_run_hours'] | int if sp['max_run_hours'] == sp['max_run_hours'] | int else sp['max_run_hours'] }} h, short enough to restart on spot at '
        || cast(cast(round(100 * coalesce(spot_prices.spot_discount, {{ sp['default_discount'] }})) as bigint) as {{ dbt.type_string() }}) || ' % off; about $'
        || cast(cast(round(spend.effective_cost * 730.0 / (24 * {{ sp['lookback_days'] | int }}) * coalesce(spot_prices.spot_discount, {{ sp['default_discount'] }})) as bigint) as {{ dbt.type_string() }})
        || ' a month.'                                                               as reason,
    {{ json_object({
        'runs': 'runs.runs',
        'short_runs': 'runs.short_runs',
        'p90_run_hours': 'runs.p90_run_hours',
        'lookback_effective_cost_usd': 'spend.effective_cost',
        'spot_discount': 'coalesce(spot_prices.spot_discount, ' ~ sp['default_discount'] ~ ')',
        'spot_discount_source': "case when spot_prices.spot_discount is not null then 'bill' else 'policy default' end"
    }) }}                                                                      as evidence,
    'spot.max_run_hours = {{ sp['max_run_hours'] }}, spot.min_share_of_short_runs = {{ sp['min_share_of_short_runs'] }}' as policy,
    'spot_migration|' || resources.resource_id                                       as finding_key
from resources
inner join runs using (resource_id)
inner join spend using (resource_id)
left join spot_prices on spot_prices.instance_type = resources.instance_type
where runs.runs >= {{ sp['min_runs'] | int }}
  and runs.short_runs >= {{ sp['min_share_of_short_runs'] }} * runs.runs
  and spend.effective_cost * 730.0 / (24 * {{ sp['lookback_days'] | int }})
      * coalesce(spot_prices.spot_discount, {{ sp['default_discount'] }}) >= {{ sp['min_monthly_savings_usd'] }}
