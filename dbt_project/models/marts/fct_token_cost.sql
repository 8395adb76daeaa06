-- Cost per token per day, serving resource, model and tenant (LiteLLM team alias, else org), user
-- and API key alias. Each busy serving hour's cost (int_resource_hours_allocated: inference) is
-- split over the requests of that hour by weighted tokens, input + output x
-- policy.yaml inference.output_token_weight (by requests when no token counts are logged); its
-- idle hours stay whole as one '(idle)' row, and busy hours with no request log (CloudWatch
-- invocations only) as '(unlogged)', so tenants + '(unlogged)' + '(idle)' = the serving cost,
-- to the cent (tests/singular). Usage-based $/1M tokens counts only the busy hours' cost;
-- allocation-based adds the tenant's share of the day's idle cost (by weighted tokens); their
-- ratio is the utilization.
{%- set weight = var('inference_output_token_weight') %}

with serving_hours as (

    select * from {{ ref('int_resource_hours_allocated') }}
    where is_serving and allocation_type in ('inference', 'idle')

),

requests as (

    select * from {{ ref('int_inference_requests_matched') }}
    where resource_id is not null

),

logged as (

    select
        resource_id,
        hour_start,
        coalesce(model, 'unknown')                                               as model,
        coalesce(team, org_id, '(untagged)')                                     as tenant,
        coalesce(user_name, '(unknown)')                                         as user_id,
        coalesce(api_key_alias, '(none)')                                        as api_key_alias,
        max(endpoint_name)                                                       as endpoint_name,
        count(*)                                                                 as requests,
        sum(prompt_tokens)                                                       as input_tokens,
        sum(completion_tokens)                                                   as output_tokens,
        sum(coalesce(prompt_tokens + completion_tokens, total_tokens))           as total_tokens,
        sum(coalesce(prompt_tokens + {{ weight }} * completion_tokens, total_tokens)) as weighted_tokens
    from requests
    group by 1, 2, 3, 4, 5, 6

),

hour_totals as (

    select resource_id, hour_start, sum(weighted_tokens) as weighted_tokens, sum(requests) as requests
    from logged
    group by 1, 2

),

usual_model as (

    select resource_id, model, endpoint_name
    from (
        select resource_id, model, max(endpoint_name) as endpoint_name,
               row_number() over (partition by resource_id order by count(*) desc, model) as rank
        from logged
        group by resource_id, model
    ) ranked
    where rank = 1

),

busy as (

    select
        serving_hours.usage_date,
        serving_hours.billing_period,
        serving_hours.resource_id,
        serving_hours.instance_type,
        serving_hours.gpu_model,
        logged.endpoint_name,
        logged.model,
        logged.tenant,
        logged.user_id,
        logged.api_key_alias,
        logged.requests,
        logged.input_tokens,
        logged.output_tokens,
        logged.total_tokens,
        logged.weighted_tokens,
        serving_hours.hour_share * case
            when hour_totals.weighted_tokens > 0 then cast(coalesce(logged.weighted_tokens, 0) as double) / hour_totals.weighted_tokens
            else logged.requests / hour_totals.requests
        end                                                                      as instance_hours,
        serving_hours.effective_cost * case
            when hour_totals.weighted_tokens > 0 then cast(coalesce(logged.weighted_tokens, 0) as double) / hour_totals.weighted_tokens
            else logged.requests / hour_totals.requests
        end                                                                      as effective_cost
    from serving_hours
    inner join logged using (resource_id, hour_start)
    inner join hour_totals using (resource_id, hour_start)
    where serving_hours.allocation_type = 'inference'

),

whole_hours as (
    -- idle hours, and busy hours no request log covers, keep their whole cost in one row
    select
        serving_hours.usage_date,
        serving_hours.billing_period,
        serving_hours.resource_id,
        serving_hours.instance_type,
        serving_hours.gpu_model,
        usual_model.endpoint_name,
        coalesce(usual_model.model, 'unknown')                                   as model,
        case when serving_hours.allocation_type = 'idle' then '(idle)' else '(unlogged)' end as tenant,
        '(none)'                                                                 as user_id,
        '(none)'                                                                 as api_key_alias,
        case when serving_hours.allocation_type = 'inference'
             then cast(serving_hours.hour_invocations as bigint) end            as requests,
        cast(null as {{ dbt.type_bigint() }})                                                    as input_tokens,
        cast(null as {{ dbt.type_bigint() }})                                                    as output_tokens,
        cast(null as {{ dbt.type_bigint() }})                                                    as total_tokens,
        cast(null as double)                                                     as weighted_tokens,
        serving_hours.hour_share                                                 as instance_hours,
        serving_hours.effective_cost
    from serving_hours
    left join usual_model using (resource_id)
    where serving_hours.allocation_type = 'idle'
       or not exists (
            select 1 from hour_totals
            where hour_totals.resource_id = serving_hours.resource_id
              and hour_totals.hour_start = serving_hours.hour_start
       )

),

daily as (

    select
        usage_date,
        max(billing_period)                                                      as billing_period,
        resource_id,
        max(endpoint_name)                                                       as endpoint_name,
        max(instance_type)                                                       as instance_type,
        max(gpu_model)                                                           as gpu_model,
        model,
        tenant,
        user_id,
        api_key_alias,
        sum(requests)                                                            as requests,
        sum(input_tokens)                                                        as input_tokens,
        sum(output_tokens)                                                       as output_tokens,
        sum(total_tokens)                                                        as total_tokens,
        sum(weighted_tokens)                                                     as weighted_tokens,
        sum(instance_hours)                                                      as instance_hours,
        sum(effective_cost)                                                      as effective_cost
    from (select * from busy union all select * from whole_hours) rows  -- the same columns in the same order
    group by usage_date, resource_id, model, tenant, user_id, api_key_alias

),

shared_idle as (
    -- the resource-day's idle cost, handed to its tenants by weighted tokens for the allocation basis
    select
        *,
        sum(case when tenant = '(idle)' then effective_cost end) over (partition by resource_id, usage_date) as day_idle_cost,
        sum(weighted_tokens) over (partition by resource_id, usage_date)        as day_weighted_tokens
    from daily

),

priced as (

    select
        *,
        case when weighted_tokens > 0
             then effective_cost * coalesce(input_tokens, 0) / weighted_tokens end as input_cost,
        case when weighted_tokens > 0 and day_idle_cost is not null
             then day_idle_cost * weighted_tokens / day_weighted_tokens
             when weighted_tokens > 0 then 0 end                                  as idle_cost_share
    from shared_idle

)

select
    usage_date,
    billing_period,
    resource_id,
    coalesce(endpoint_name, case when resource_id like '%:endpoint/%'
                                 then split_part(resource_id, 'endpoint/', 2) end) as endpoint_name,
    instance_type,
    gpu_model,
    model,
    tenant,
    user_id,
    api_key_alias,
    tenant in ('(idle)', '(unlogged)')                                           as is_unallocated,
    cast(requests as bigint)                                                     as requests,
    cast(input_tokens as bigint)                                                 as input_tokens,
    cast(output_tokens as bigint)                                                as output_tokens,
    cast(total_tokens as bigint)                                                 as total_tokens,
    cast(weighted_tokens as double)                                              as weighted_tokens,
    cast({{ weight }} as double)                                                 as output_token_weight,
    cast(instance_hours as double)                                               as instance_hours,
    cast(effective_cost as decimal(38, 10))                                      as effective_cost,
    cast(input_cost as decimal(38, 10))                                          as input_cost,
    cast(effective_cost - input_cost as decimal(38, 10))                         as output_cost,
    cast(idle_cost_share as decimal(38, 10))                                     as idle_cost_share,
    cast(effective_cost / nullif(total_tokens, 0) * 1000000 as decimal(38, 10))  as usage_cost_per_1m_tokens,
    cast((effective_cost + idle_cost_share) / nullif(total_tokens, 0) * 1000000 as decimal(38, 10)) as allocation_cost_per_1m_tokens,
    cast(input_cost / nullif(input_tokens, 0) * 1000000 as decimal(38, 10))     as usage_cost_per_1m_input_tokens,
    cast((effective_cost - input_cost) / nullif(output_tokens, 0) * 1000000 as decimal(38, 10)) as usage_cost_per_1m_output_tokens,
    cast(effective_cost / nullif(effective_cost + idle_cost_share, 0) as double) as utilization
from priced
