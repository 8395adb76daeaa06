-- The recommendations table of CONTRACTS.md: one row per open recommendation, with when it was
-- first and last seen. Exported as `recommendations` for BI tools and orchestrators.
{{ config(schema='marts') }}

select
    current_run.recommendation_id,
    current_run.category,
    current_run.action,
    current_run.resource_id,
    current_run.resource_type,
    current_run.team,
    current_run.project,
    current_run.account_id,
    current_run.region,
    current_run.current_monthly_cost_usd,
    current_run.estimated_monthly_savings_usd,
    current_run.confidence,
    current_run.requires_approval,
    current_run.reason,
    current_run.evidence,
    current_run.policy,
    history.first_seen_at,
    history.last_seen_at
from {{ ref('recommendations_current') }} as current_run
left join {{ ref('recommendation_history') }} as history using (recommendation_id)
