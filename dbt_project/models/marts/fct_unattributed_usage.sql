-- Everything that used GPUs but cannot be tied to a billed resource or a team, with the reason,
-- so that nothing is dropped silently: telemetry from hosts missing in inventory/hosts.csv, jobs
-- and requests that name no billed resource, CloudWatch endpoints that are not in the bill, and
-- GPU cost of hours where the GPUs were busy but no job or request was recorded.
{%- set idle_below = var('idle_gpu_utilization_below') %}

with samples as (

    select * from {{ ref('stg_telemetry__gpu_samples') }}

),

hosts as (

    select * from {{ ref('stg_inventory__gpu_hosts') }}

),

billed_endpoints as (

    select * from {{ ref('int_sagemaker_endpoints') }}

),

unmapped_hosts as (

    select
        'gpu_telemetry'                                                 as record_type,
        samples.hostname                                                as identifier,
        'host ' || samples.hostname || ' has no mapping in inventory/hosts.csv' as reason,
        count(*)                                                        as records,
        min(samples.sampled_at)                                         as first_seen_at,
        max(samples.sampled_at)                                         as last_seen_at,
        cast(null as double)                                            as gpu_hours,
        cast(null as decimal(38, 10))                                   as effective_cost
    from samples
    left join hosts on lower(hosts.hostname) = lower(samples.hostname)
    where hosts.resource_id is null
    group by samples.hostname

),

jobs as (

    select
        'job',
        job_id,
        unattributed_reason,
        1,
        start_time,
        coalesce(costed_until, end_time, start_time),
        cast({{ dbt.datediff('start_time', 'coalesce(costed_until, end_time, start_time)', 'second') }} * coalesce(gpu_count, 0) as double) / 3600,
        cast(null as decimal(38, 10))
    from {{ ref('int_jobs_matched') }}
    where unattributed_reason is not null

),

requests as (

    select
        'inference_request',
        coalesce(endpoint, '(none)'),
        unattributed_reason,
        count(*),
        min(started_at),
        max(started_at),
        cast(null as double),
        cast(null as decimal(38, 10))
    from {{ ref('int_inference_requests_matched') }}
    where unattributed_reason is not null
    group by 2, 3

),

endpoint_metrics as (

    select
        'endpoint_metrics',
        metrics.endpoint_name,
        'endpoint ' || metrics.endpoint_name || ' is not in the bill',
        count(*),
        min(metrics.sampled_at),
        max(metrics.sampled_at),
        cast(null as double),
        cast(null as decimal(38, 10))
    from {{ ref('stg_inference__endpoint_metrics') }} as metrics
    left join billed_endpoints on billed_endpoints.endpoint_name = lower(metrics.endpoint_name)
    where billed_endpoints.endpoint_name is null
    group by metrics.endpoint_name

),

busy_without_records as (

    select
        'gpu_cost',
        resource_id,
        case basis
            when 'no_workload_data' then 'no telemetry, job record or request log covers these GPU hours'
            else 'GPUs busy (utilization >= {{ idle_below }}) with no job or request recorded'
        end,
        count(*),
        min(hour_start),
        max(hour_start) + interval 1 hour,
        sum(gpu_hours),
        sum(effective_cost)
    from {{ ref('int_resource_hours_allocated') }}
    where allocation_type = 'unattributed'
    group by resource_id, basis

),

unioned as (

    select * from unmapped_hosts
    union all select * from jobs
    union all select * from requests
    union all select * from endpoint_metrics
    union all select * from busy_without_records

)

select
    record_type,
    identifier,
    reason,
    cast(records as bigint)                         as records,
    first_seen_at,
    last_seen_at,
    cast(gpu_hours as double)                       as gpu_hours,
    cast(effective_cost as decimal(38, 10))         as effective_cost
from unioned
