-- Every open finding of this run, from every rec_* model, with its stable id.
{%- set recs = ['rec_idle', 'rec_rightsize_gpu', 'rec_autoscale_inference', 'rec_spot_migration', 'rec_commitment',
                'rec_storage_tiering', 'rec_network_locality', 'rec_budget_alert', 'rec_spend_anomaly'] %}

{%- set columns = ['category', 'action', 'resource_id', 'resource_type', 'team', 'project', 'account_id', 'region',
                   'current_monthly_cost_usd', 'estimated_monthly_savings_usd', 'confidence', 'requires_approval',
                   'reason', 'evidence', 'policy', 'finding_key'] %}

with unioned as (
    {%- for rec in recs %}
    select {{ columns | join(', ') }} from {{ ref(rec) }}{{ ' union all' if not loop.last }}
    {%- endfor %}
)

select
    md5(finding_key)                                                  as recommendation_id,
    category,
    action,
    resource_id,
    resource_type,
    team,
    project,
    account_id,
    region,
    cast(current_monthly_cost_usd as decimal(38, 2))                  as current_monthly_cost_usd,
    cast(estimated_monthly_savings_usd as decimal(38, 2))             as estimated_monthly_savings_usd,
    cast(confidence as double)                                        as confidence,
    requires_approval,
    reason,
    evidence,
    policy,
    finding_key
from unioned
