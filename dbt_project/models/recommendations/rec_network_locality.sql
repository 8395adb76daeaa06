-- network_locality: cross-region data transfer costing more than network.min_monthly_cost_usd a
-- month -> keep the data in the region of the compute that reads it (or the compute beside it).
{%- set n = var('rec')['network'] %}

with transfer as (

    select *
    from {{ ref('int_billing_line_items_classified') }}
    where is_allocatable
      and (service_name ilike '%data transfer%' or usage_type ilike '%-Out-Bytes%' or usage_type ilike '%InterRegion%'
           or charge_description ilike '%data transfer%')
      and charge_period_start > (select max(charge_period_start) from {{ ref('stg_billing') }}) - interval {{ n['lookback_days'] | int }} day

)

select
    'network_locality'                                                                as category,
    'Keep the data in the region of the compute that reads it'                        as action,
    coalesce(resource_id, usage_type)                                                 as resource_id,
    'Data transfer'                                                                   as resource_type,
    max(team)                                                                         as team,
    max(project)                                                                      as project,
    max(billing_account_id)                                                           as account_id,
    max(region_id)                                                                    as region,
    sum(effective_cost) * 30.4 / {{ n['lookback_days'] | int }}                       as current_monthly_cost_usd,
    sum(effective_cost) * 30.4 / {{ n['lookback_days'] | int }}                       as estimated_monthly_savings_usd,
    0.7                                                                               as confidence,
    false                                                                             as requires_approval,
    'Moving data across regions (' || usage_type || ') cost $' || cast(cast(round(sum(effective_cost)) as bigint) as {{ dbt.type_string() }})
        || ' in {{ n['lookback_days'] | int }} days for ' || coalesce(resource_id, 'untracked resources')
        || '; co-locating data and compute saves about $' || cast(cast(round(sum(effective_cost) * 30.4 / {{ n['lookback_days'] | int }}) as bigint) as {{ dbt.type_string() }})
        || ' a month.'                                                                as reason,
    {{ json_object({
        'usage_type': 'usage_type',
        'gb': 'sum(consumed_quantity)',
        'lookback_cost_usd': 'sum(effective_cost)'
    }) }} as evidence,
    'network.min_monthly_cost_usd = {{ n['min_monthly_cost_usd'] }}'                  as policy,
    'network_locality|' || coalesce(resource_id, '') || '|' || usage_type             as finding_key
from transfer
group by resource_id, usage_type
having sum(effective_cost) * 30.4 / {{ n['lookback_days'] | int }} >= {{ n['min_monthly_cost_usd'] }}
