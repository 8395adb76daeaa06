-- Inference unit economics per day, endpoint, model and calling team: the endpoint's serving
-- cost (int_inference_hours_allocated) over the requests and tokens it served. Hours with no
-- request log count CloudWatch invocations as requests; latency percentiles come from the
-- request log only.
with served as (

    select * from {{ ref('int_inference_hours_allocated') }}

),

requests as (

    select * from {{ ref('int_inference_requests_matched') }}
    where resource_id is not null

),

hosts as (
    -- a box may answer to several host names: name it by the first
    select resource_id, min(hostname) as hostname
    from {{ ref('stg_inventory__gpu_hosts') }}
    group by resource_id

),

latency as (

    select
        cast(started_at as date)                         as usage_date,
        resource_id,
        coalesce(model, 'unknown')                       as model,
        coalesce(team, '(untagged)')                     as team,
        {{ percentile_cont('latency_ms', 0.5) }}                   as latency_p50_ms,
        {{ percentile_cont('latency_ms', 0.95) }}                  as latency_p95_ms
    from requests
    group by 1, 2, 3, 4

),

daily as (

    select
        usage_date,
        resource_id,
        coalesce(model, 'unknown')                                           as model,
        coalesce(caller_team, '(untagged)')                                  as team,
        max(endpoint_team)                                                   as endpoint_team,
        max(endpoint_project)                                                as endpoint_project,
        max(instance_type)                                                   as instance_type,
        max(gpu_model)                                                       as gpu_model,
        sum(requests)                                                        as requests,
        sum(failed_requests)                                                 as failed_requests,
        sum(prompt_tokens)                                                   as tokens_in,
        sum(completion_tokens)                                               as tokens_out,
        sum(total_tokens)                                                    as total_tokens,
        sum(instance_hours)                                                  as instance_hours,
        sum(gpu_hours)                                                       as gpu_hours,
        sum(gpu_hours * gpu_utilization) / nullif(sum(gpu_hours) filter (where gpu_utilization is not null), 0) as gpu_utilization,
        sum(billed_cost)                                                     as billed_cost,
        sum(effective_cost)                                                  as effective_cost,
        bool_and(is_request_logged)                                          as is_fully_logged
    from served
    group by 1, 2, 3, 4

)

select
    daily.usage_date,
    daily.resource_id,
    case
        when daily.resource_id like '%:endpoint/%' then split_part(daily.resource_id, 'endpoint/', 2)
        else coalesce(hosts.hostname, daily.resource_id)
    end                                                                      as endpoint_name,
    daily.model,
    daily.team,
    daily.endpoint_team,
    daily.endpoint_project,
    daily.instance_type,
    daily.gpu_model,
    cast(daily.requests as bigint)                                           as requests,
    cast(daily.failed_requests as bigint)                                    as failed_requests,
    cast(daily.tokens_in as bigint)                                          as tokens_in,
    cast(daily.tokens_out as bigint)                                         as tokens_out,
    cast(daily.total_tokens as bigint)                                       as total_tokens,
    cast(daily.instance_hours as double)                                     as instance_hours,
    cast(daily.gpu_hours as double)                                          as gpu_hours,
    cast(daily.gpu_utilization as double)                                    as gpu_utilization,
    cast(daily.billed_cost as decimal(38, 10))                               as billed_cost,
    cast(daily.effective_cost as decimal(38, 10))                            as effective_cost,
    cast(cast(daily.effective_cost as double) / nullif(daily.requests, 0) as decimal(38, 10))             as cost_per_request,
    cast(cast(daily.effective_cost as double) / nullif(daily.total_tokens, 0) * 1000 as decimal(38, 10))  as cost_per_1k_tokens,
    cast(latency.latency_p50_ms as double)                                   as latency_p50_ms,
    cast(latency.latency_p95_ms as double)                                   as latency_p95_ms,
    daily.is_fully_logged
from daily
left join latency using (usage_date, resource_id, model, team)
left join hosts on hosts.resource_id = daily.resource_id
