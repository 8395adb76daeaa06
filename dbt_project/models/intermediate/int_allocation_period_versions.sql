-- One row per billing period of GPU resource-hours with a version of everything the allocation
-- of that period's hours reads, so a nightly run re-allocates exactly the periods whose inputs
-- moved (int_resource_hours_allocated, macros/incremental_by_billing_period.sql):
--   - the period's resource-hours and their cost (a re-delivery, a correction, one more day);
--   - the telemetry, job hours, logged requests and CloudWatch invocations of every calendar
--     month its hours fall in;
--   - what is known of its resources over all time (int_gpu_resource_evidence: tracked, serving);
--   - the request log's time window, clipped to the period's hours;
--   - policy.yaml allocation.idle_gpu_utilization_below.
-- Each digest is a sum of row hashes (row_hash), so it moves when any row is added, removed or
-- changed; the version is the md5 of them all.
{{ config(materialized='table') }}
{%- set usage_month = format_timestamp('hour_start', '%Y-%m') %}

with resource_periods as (
    -- each period's resource-hours, digested per resource
    select
        billing_period,
        resource_id,
        min(hour_start)                                                            as first_hour,
        max(hour_start)                                                            as last_hour,
        sum({{ row_hash(['resource_id', 'hour_start', 'usage_date', 'billing_account_id', 'sub_account_id',
                         'provider_name', 'service_name', 'region_id', 'instance_type', 'gpu_count', 'gpu_model',
                         'is_spot', 'team', 'project', 'job_type', 'is_untagged', 'capacity_gpu_seconds',
                         'billed_cost', 'effective_cost']) }})                        as cost_digest
    from {{ ref('int_resource_hours_costed') }}
    group by billing_period, resource_id

),

periods as (

    select
        resource_periods.billing_period,
        min(resource_periods.first_hour)                                           as first_hour,
        max(resource_periods.last_hour)                                            as last_hour,
        sum(resource_periods.cost_digest)                                          as cost_digest,
        sum({{ row_hash(['resource_periods.resource_id', 'evidence.is_tracked', 'evidence.is_serving']) }}) as evidence_digest
    from resource_periods
    left join {{ ref('int_gpu_resource_evidence') }} as evidence on evidence.resource_id = resource_periods.resource_id
    group by resource_periods.billing_period

),

workload_rows as (
    -- what each hour was used for, one hash per input row, tagged with its input
    select {{ usage_month }} as usage_month,
           {{ row_hash(["'telemetry'", 'resource_id', 'hour_start', 'gpu_utilization', 'utilization_signal']) }} as row_digest
    from {{ ref('int_gpu_utilization_hourly') }}
    union all
    select {{ usage_month }},
           {{ row_hash(["'job_hour'", 'job_hours.job_id', 'job_hours.resource_id', 'hour_start', 'gpu_seconds',
                        'jobs.resource_id', 'jobs.team', 'jobs.project', 'jobs.status']) }}
    from {{ ref('int_job_hours') }} as job_hours
    inner join {{ ref('int_jobs_matched') }} as jobs on jobs.job_id = job_hours.job_id
    union all
    select {{ usage_month }}, {{ row_hash(["'request'", 'resource_id', 'hour_start']) }}
    from {{ ref('int_inference_requests_matched') }}
    where resource_id is not null
    union all
    select {{ usage_month }}, {{ row_hash(["'invocations'", 'resource_id', 'hour_start', 'invocations']) }}
    from {{ ref('int_endpoint_invocations_hourly') }}

),

workload_months as (

    select usage_month, sum(row_digest) as workload_digest
    from workload_rows
    group by usage_month

),

period_workloads as (

    select periods.billing_period, sum(workload_months.workload_digest) as workload_digest
    from periods
    inner join workload_months
        on workload_months.usage_month between {{ format_timestamp('periods.first_hour', '%Y-%m') }}
                                           and {{ format_timestamp('periods.last_hour', '%Y-%m') }}
    group by periods.billing_period

),

request_log_window as (

    select min(hour_start) as first_hour, max(hour_start) as last_hour
    from {{ ref('int_inference_requests_matched') }}

),

digests as (

    select
        periods.billing_period,
        cast(periods.cost_digest as {{ dbt.type_string() }})                                 as cost_digest,
        cast(periods.evidence_digest as {{ dbt.type_string() }})                             as evidence_digest,
        coalesce(cast(period_workloads.workload_digest as {{ dbt.type_string() }}), 'none')  as workload_digest,
        -- the hours of the period the request log covers (in_request_log)
        case
            when request_log_window.first_hour is null
              or request_log_window.last_hour < periods.first_hour
              or request_log_window.first_hour > periods.last_hour then 'none'
            else concat_ws(' / ', cast(greatest(request_log_window.first_hour, periods.first_hour) as {{ dbt.type_string() }}),
                                  cast(least(request_log_window.last_hour, periods.last_hour) as {{ dbt.type_string() }}))
        end                                                                                  as request_log_hours
    from periods
    cross join request_log_window
    left join period_workloads on period_workloads.billing_period = periods.billing_period

)

select
    billing_period,
    md5(concat_ws('|', billing_period, cost_digest, evidence_digest, workload_digest, request_log_hours,
                  '{{ var("idle_gpu_utilization_below") }}'))                                as period_version,
    -- what the version is made of: which input moved when a period is re-allocated
    cost_digest,
    evidence_digest,
    workload_digest,
    request_log_hours
from digests
