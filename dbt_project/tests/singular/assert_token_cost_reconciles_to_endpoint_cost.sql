-- Cost per token loses and invents nothing: per serving resource and month, the tenants' rows plus
-- '(unlogged)' and '(idle)' in fct_token_cost equal the resource's serving (inference + idle)
-- EffectiveCost in the allocation, and, where the resource does nothing but serve (every
-- SageMaker endpoint), its billed GPU usage line items' EffectiveCost, to the cent.
-- Shown in Dagster as a check on fct_token_cost (it reads three models).
{{ config(meta={'dagster': {'ref': {'name': 'fct_token_cost'}}}) }}
with tokens as (

    select resource_id, billing_period, sum(effective_cost) as token_cost
    from {{ ref('fct_token_cost') }}
    group by 1, 2

),

allocated as (

    select
        resource_id,
        billing_period,
        sum(effective_cost) filter (where is_serving and allocation_type in ('inference', 'idle')) as serving_cost,
        sum(effective_cost)                                                                      as resource_cost
    from {{ ref('int_resource_hours_allocated') }}
    where resource_id in (select resource_id from tokens)
    group by 1, 2

),

billed as (

    select resource_id, billing_period, sum(effective_cost) as billed_effective_cost
    from {{ ref('int_billing_line_items_classified') }}
    where is_gpu and is_allocatable and resource_id in (select resource_id from tokens)
    group by 1, 2

)

select
    coalesce(tokens.resource_id, allocated.resource_id)        as resource_id,
    coalesce(tokens.billing_period, allocated.billing_period)  as billing_period,
    tokens.token_cost,
    allocated.serving_cost,
    allocated.resource_cost,
    billed.billed_effective_cost
from tokens
full outer join allocated using (resource_id, billing_period)
left join billed using (resource_id, billing_period)
where round(coalesce(tokens.token_cost, 0), 2) <> round(coalesce(allocated.serving_cost, 0), 2)
   or (round(allocated.resource_cost, 2) = round(allocated.serving_cost, 2)
       and round(coalesce(billed.billed_effective_cost, 0), 2) <> round(coalesce(tokens.token_cost, 0), 2))
