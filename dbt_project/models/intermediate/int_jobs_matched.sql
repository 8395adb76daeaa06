-- Every job record with the billed resource it ran on: the resource id it names (MLflow tag
-- `resource_id`, SageMaker job ARN), else its host through inventory/hosts.csv. A job that cannot
-- be matched keeps its row with the reason, and shows up in fct_unattributed_usage.
-- A table: the allocation, its versions, the marts, the rules and the data tests all read it, and a
-- view would match every job against every billed hour again for each.
{{ config(materialized='table') }}
with jobs as (

    select * from {{ ref('stg_workloads__jobs') }}

),

hosts as (

    select * from {{ ref('stg_inventory__gpu_hosts') }}

),

billed as (

    select
        resource_id,
        max(gpu_count)                           as gpu_count,
        max(instance_type)                       as instance_type,
        max(hour_start) + interval 1 hour        as last_billed_at
    from {{ ref('int_resource_hours_costed') }}
    group by resource_id

),

catalog as (

    select instance_type, gpu_count, gpu_model from {{ ref('gpu_instance_catalog') }}

),

matched as (

    select
        jobs.*,
        coalesce(jobs.resource_id, hosts.resource_id)  as matched_resource_id,
        case
            when jobs.resource_id is not null then 'resource_id'
            when hosts.resource_id is not null then 'hostname'
        end                                            as matched_by
    from jobs
    left join hosts on lower(hosts.hostname) = lower(jobs.hostname)

)

select
    matched.job_id,
    matched.job_source,
    matched.job_name,
    matched.experiment_id,
    matched.status,
    matched.user_name,
    matched.team,
    matched.project,
    matched.hostname,
    matched.matched_by,
    billed.resource_id                                              as resource_id,
    coalesce(matched.instance_type, billed.instance_type)           as instance_type,
    -- GPUs the job held: its own record, else the whole instance (catalog x instance count)
    coalesce(matched.gpu_count, catalog.gpu_count * matched.instance_count, billed.gpu_count) as gpu_count,
    catalog.gpu_model,
    matched.managed_spot,
    matched.start_time,
    matched.end_time,
    -- a RUNNING job is costed up to the last hour its resource was billed
    case
        when matched.end_time is not null then matched.end_time
        when matched.status = 'RUNNING' then greatest(matched.start_time, billed.last_billed_at)
    end                                                             as costed_until,
    matched.billable_seconds,
    matched.params,
    matched.metrics,
    matched.source_file,
    case
        when billed.resource_id is not null then null
        when matched.matched_resource_id is not null then 'resource ' || matched.matched_resource_id || ' is not in the bill'
        when matched.hostname is not null then 'host ' || matched.hostname || ' has no mapping in inventory/hosts.csv'
        else 'the job record names no resource id and no host'
    end                                                             as unattributed_reason
from matched
left join billed on billed.resource_id = matched.matched_resource_id
left join catalog on lower(catalog.instance_type) = lower(coalesce(matched.instance_type, billed.instance_type))
