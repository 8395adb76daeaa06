-- Every logged inference request with the billed resource that served it. The gateway logs the
-- upstream it called (`api_base`): a SageMaker runtime URL names the endpoint
-- (`.../endpoints/<name>/invocations`); a self-hosted server is a host, mapped through
-- inventory/hosts.csv. Requests that match nothing keep their row with the reason.
-- A table: the allocation, its versions, the inference marts and the data tests read it, and a view
-- would match the request log again for each.
{{ config(materialized='table') }}
with requests as (

    select * from {{ ref('stg_inference__requests') }}

),

hosts as (

    select * from {{ ref('stg_inventory__gpu_hosts') }}

),

endpoints as (

    select * from {{ ref('int_sagemaker_endpoints') }}

),

parsed as (

    select
        requests.*,
        lower(coalesce(
            nullif(regexp_extract(requests.endpoint, '/endpoints/([^/?]+)', 1), ''),
            case when requests.endpoint not like '%://%' then requests.endpoint end
        ))                                                                        as endpoint_name,
        lower(coalesce(
            nullif(regexp_extract(requests.endpoint, '^[A-Za-z][A-Za-z0-9+.-]*://([^:/?]+)', 1), ''),
            case when requests.endpoint not like '%://%' then requests.endpoint end
        ))                                                                        as endpoint_host
    from requests

)

select
    parsed.request_id,
    parsed.started_at,
    parsed.ended_at,
    date_trunc('hour', parsed.started_at)                          as hour_start,
    parsed.latency_ms,
    parsed.model,
    parsed.endpoint,
    coalesce(endpoints.endpoint_name, parsed.endpoint_host)        as endpoint_name,
    coalesce(endpoints.resource_id, hosts.resource_id)             as resource_id,
    parsed.prompt_tokens,
    parsed.completion_tokens,
    parsed.total_tokens,
    parsed.status,
    parsed.status in ('success', 'succeeded', 'ok', '200')         as is_success,
    parsed.team,
    parsed.user_name,
    parsed.api_key_alias,
    parsed.org_id,
    parsed.source_file,
    case
        when coalesce(endpoints.resource_id, hosts.resource_id) is not null then null
        when parsed.endpoint is null then 'the request names no endpoint or api_base'
        when parsed.endpoint_host is not null and parsed.endpoint_name is null
            then 'host ' || parsed.endpoint_host || ' has no mapping in inventory/hosts.csv'
        else 'endpoint ' || parsed.endpoint || ' matches no billed endpoint or mapped host'
    end                                                            as unattributed_reason
from parsed
left join endpoints on endpoints.endpoint_name = parsed.endpoint_name
left join hosts on lower(hosts.hostname) = parsed.endpoint_host
