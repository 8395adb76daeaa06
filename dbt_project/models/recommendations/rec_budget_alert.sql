-- budget_alert: teams whose forecast month-end spend (fct_budget_projection) passes
-- budgets.alert_at (alert) or budgets.action_at (act now) of the month's budget.
{%- set b = var('rec')['budgets'] %}

select
    'budget_alert'                                                                    as category,
    case when projected_share_of_budget >= {{ b['action_at'] }}
         then 'Act now: pause non-critical GPU work or raise the budget'
         else 'Review planned GPU work against the budget' end                        as action,
    'team:' || team                                                                   as resource_id,
    'Budget'                                                                          as resource_type,
    team,
    cast(null as {{ dbt.type_string() }})                                                             as project,
    cast(null as {{ dbt.type_string() }})                                                             as account_id,
    cast(null as {{ dbt.type_string() }})                                                             as region,
    projected_total                                                                   as current_monthly_cost_usd,
    greatest(projected_total - budget_usd, 0)                                         as estimated_monthly_savings_usd,
    0.7                                                                               as confidence,
    false                                                                             as requires_approval,
    'Team ' || team || ' is forecast to spend $' || cast(cast(round(projected_total) as bigint) as {{ dbt.type_string() }}) || ' in ' || billing_month
        || ', ' || cast(cast(round(100 * projected_share_of_budget) as bigint) as {{ dbt.type_string() }}) || ' % of its $'
        || cast(cast(round(budget_usd) as bigint) as {{ dbt.type_string() }}) || ' budget ($' || cast(cast(round(actual_to_date) as bigint) as {{ dbt.type_string() }}) || ' spent so far).' as reason,
    {{ json_object({
        'budget_usd': 'budget_usd',
        'actual_to_date': 'actual_to_date',
        'projected_total': 'projected_total',
        'projected_low': 'projected_low',
        'projected_high': 'projected_high',
        'data_through': 'data_through'
    }) }} as evidence,
    case when projected_share_of_budget >= {{ b['action_at'] }} then 'budgets.action_at = {{ b['action_at'] }}'
         else 'budgets.alert_at = {{ b['alert_at'] }}' end                            as policy,
    'budget_alert|' || team || '|' || billing_month                                   as finding_key
from {{ ref('fct_budget_projection') }}
where budget_usd > 0 and projected_share_of_budget >= {{ b['alert_at'] }}
