-- The inference share of each serving box-hour, split across the models and calling teams
-- that used it in that hour: by tokens when the requests carry token counts, else by requests.
-- Hours with no logged requests (before the request log starts, or traffic that bypasses the
-- gateway) stay whole, under the endpoint's usual model and the box's owning team, with
-- CloudWatch invocations as the request count when there are any.
with inference_hours as (

    select * from {{ ref('int_resource_hours_allocated') }}
    where allocation_type = 'inference'

),

requests as (

    select * from {{ ref('int_inference_requests_matched') }}
    where resource_id is not null

),

logged as (

    select
        resource_id,
        hour_start,
        model,
        team                                                    as caller_team,
        count(*)                                                as requests,
        count(*) filter (where not is_success)                  as failed_requests,
        sum(prompt_tokens)                                      as prompt_tokens,
        sum(completion_tokens)                                  as completion_tokens,
        sum(total_tokens)                                       as total_tokens
    from requests
    group by resource_id, hour_start, model, team

),

hour_totals as (

    select resource_id, hour_start, sum(total_tokens) as total_tokens, sum(requests) as requests
    from logged
    group by resource_id, hour_start

),

usual_model as (

    select resource_id, model
    from (
        select resource_id, model, row_number() over (partition by resource_id order by count(*) desc, model) as rank
        from requests
        group by resource_id, model
    ) ranked
    where rank = 1

),

split as (

    select
        inference_hours.*,
        logged.model,
        logged.caller_team,
        logged.requests,
        logged.failed_requests,
        logged.prompt_tokens,
        logged.completion_tokens,
        logged.total_tokens,
        case
            when hour_totals.total_tokens > 0 then coalesce(logged.total_tokens, 0) / hour_totals.total_tokens
            else logged.requests / hour_totals.requests
        end                                                     as usage_share,
        true                                                    as is_request_logged
    from inference_hours
    inner join logged using (resource_id, hour_start)
    inner join hour_totals using (resource_id, hour_start)

),

unlogged as (

    select
        inference_hours.*,
        usual_model.model,
        inference_hours.team                                    as caller_team,
        cast(inference_hours.hour_invocations as bigint)        as requests,
        cast(null as bigint)                                    as failed_requests,
        cast(null as {{ dbt.type_bigint() }})                                   as prompt_tokens,
        cast(null as {{ dbt.type_bigint() }})                                   as completion_tokens,
        cast(null as {{ dbt.type_bigint() }})                                   as total_tokens,
        1.0                                                     as usage_share,
        false                                                   as is_request_logged
    from inference_hours
    left join usual_model using (resource_id)
    where not exists (
        select 1 from hour_totals
        where hour_totals.resource_id = inference_hours.resource_id
          and hour_totals.hour_start = inference_hours.hour_start
    )

),

combined as (

    -- the same columns in the same order
    select * from split
    union all
    select * from unlogged

)

select
    resource_id,
    hour_start,
    usage_date,
    billing_period,
    billing_account_id,
    provider_name,
    service_name,
    instance_type,
    gpu_count,
    gpu_model,
    is_spot,
    team                                                         as endpoint_team,
    project                                                      as endpoint_project,
    model,
    caller_team,
    requests,
    failed_requests,
    prompt_tokens,
    completion_tokens,
    total_tokens,
    gpu_utilization,
    usage_share * hour_share                                     as instance_hours,
    usage_share * gpu_hours                                      as gpu_hours,
    cast(billed_cost * usage_share as decimal(38, 10))           as billed_cost,
    cast(effective_cost * usage_share as decimal(38, 10))        as effective_cost,
    is_request_logged
from combined
