-- rightsize_gpu: boxes whose runs never use all their GPUs. The peak GPUs in use at once (from the
-- runs' GPU-seconds per hour) and the peak GPU memory measured over rightsizing.lookback_days pick
-- the cheapest catalog type of the same GPU model that fits them plus rightsizing.headroom.
-- Runs still going on the box keep the capacity the runtime predictor sizes for them (its p90).
-- Boxes busy for more than rightsizing.max_untracked_share of their hours with work no job explains are never downsized: we cannot see
-- what that work needs. Protected and serving resources are skipped.
{%- set r = var('rec')['rightsizing'] %}

with resources as (

    select * from {{ ref('int_gpu_resources_classified') }}
    where is_running and not is_protected and not is_endpoint and gpu_count > 1

),

window_start as (

    select {{ bill_lookback_start(r['lookback_days']) }} as since

),

allocations as (

    select * from {{ ref('int_resource_hours_allocated') }}
    where hour_start > (select since from window_start)

),

usage as (

    select
        job_hours.resource_id,
        max(gpus_in_use)                                             as peak_gpus_in_use,
        count(distinct job_hours.hour_start)                         as hours_with_jobs
    from (
        select resource_id, hour_start, cast(sum(gpu_seconds) as double) / 3600 as gpus_in_use
        from {{ ref('int_job_hours') }}
        where hour_start > (select since from window_start)
        group by resource_id, hour_start
    ) job_hours
    group by job_hours.resource_id

),

jobs_seen as (

    select resource_id, count(*) as runs, max(gpu_count) as max_gpus_per_run
    from {{ ref('int_jobs_matched') }}
    where resource_id is not null and start_time > (select since from window_start)
    group by resource_id

),

memory as (

    select resource_id, max(memory_used_mib) as peak_memory_mib
    from {{ ref('int_gpu_utilization_hourly') }}
    where hour_start > (select since from window_start)
    group by resource_id

),

untracked as (
    -- too many of the box's hours busy with work no job explains: we cannot see what it needs
    select resource_id
    from allocations
    group by resource_id
    having count(distinct hour_start) filter (where allocation_type = 'unattributed') > {{ r['max_untracked_share'] }} * count(distinct hour_start)

),

billed as (

    select resource_id, count(distinct hour_start) as billed_hours
    from allocations
    group by resource_id

),

catalog as (

    select * from {{ ref('gpu_instance_catalog') }}

),

predicted as (
    -- the runtime predictor's p90 for the runs still going on the box: the capacity to keep for them
    select resource_id, count(*) as open_runs, max(p90_gpu_hours) as open_run_p90_gpu_hours,
           max(recommended_gpu_hours) as open_run_recommended_gpu_hours
    from {{ source('ml', 'runtime_predictions') }}
    where resource_id is not null
    group by resource_id

),

candidates as (

    select
        resources.*,
        greatest(ceil(usage.peak_gpus_in_use - 0.001), jobs_seen.max_gpus_per_run)  as gpus_needed,
        usage.peak_gpus_in_use,
        jobs_seen.runs,
        memory.peak_memory_mib,
        billed.billed_hours,
        current_type.on_demand_hourly_usd                                           as current_hourly_usd,
        current_type.gpu_memory_gib                                                 as current_gpu_memory_gib,
        current_type.provider                                                       as current_provider,
        predicted.open_runs,
        predicted.open_run_p90_gpu_hours,
        predicted.open_run_recommended_gpu_hours
    from resources
    inner join usage using (resource_id)
    inner join jobs_seen using (resource_id)
    inner join billed using (resource_id)
    left join memory using (resource_id)
    left join predicted using (resource_id)
    inner join catalog as current_type on lower(current_type.instance_type) = lower(resources.instance_type)
    where resources.resource_id not in (select resource_id from untracked)
      and jobs_seen.runs >= {{ r['min_runs'] | int }}

),

fits as (

    select
        candidates.*,
        target.instance_type                                                        as target_instance_type,
        target.gpu_count                                                            as target_gpu_count,
        target.on_demand_hourly_usd                                                 as target_hourly_usd,
        row_number() over (partition by candidates.resource_id order by target.on_demand_hourly_usd, target.instance_type) as rank
    from candidates
    inner join catalog as target
        on target.provider = candidates.current_provider
       and target.gpu_model = candidates.gpu_model
       and (target.instance_type like 'ml.%') = (candidates.instance_type like 'ml.%')
       and target.gpu_count >= candidates.gpus_needed
       and target.gpu_memory_gib * 1024 >= coalesce(candidates.peak_memory_mib, 0) * (1 + {{ r['headroom'] }})
       and target.on_demand_hourly_usd < candidates.current_hourly_usd

)

select
    'rightsize_gpu'                                                                 as category,
    'Move to ' || target_instance_type || ' (' || cast(target_gpu_count as {{ dbt.type_string() }}) || ' x ' || gpu_model || ')'
        || case when open_runs > 0 then ' once the running job ends (predicted p90: '
                || cast(round(open_run_p90_gpu_hours, 1) as {{ dbt.type_string() }}) || ' GPU-hours; keep '
                || cast(round(open_run_recommended_gpu_hours, 1) as {{ dbt.type_string() }}) || ' GPU-hours of capacity for it)' else '' end as action,
    resource_id,
    'GPU instance'                                                                  as resource_type,
    team,
    project,
    billing_account_id                                                              as account_id,
    region_id                                                                       as region,
    recent_hourly_cost * 730                                                        as current_monthly_cost_usd,
    -- the price difference over the hours the box is billed in a month
    (current_hourly_usd - target_hourly_usd) * billed_hours * 730.0 / (24 * {{ r['lookback_days'] | int }}) as estimated_monthly_savings_usd,
    case when peak_memory_mib is not null then 0.85 else 0.7 end                    as confidence,
    true                                                                            as requires_approval,
    instance_type || ' ' || resource_id || ' never ran more than ' || cast(cast(gpus_needed as integer) as {{ dbt.type_string() }}) || ' of its '
        || cast(gpu_count as {{ dbt.type_string() }}) || ' GPUs at once in ' || cast(runs as {{ dbt.type_string() }}) || ' runs over '
        || '{{ r['lookback_days'] | int }} days; ' || target_instance_type || ' fits them for $'
        || cast(cast(round((current_hourly_usd - target_hourly_usd) * billed_hours * 730.0 / (24 * {{ r['lookback_days'] | int }})) as bigint) as {{ dbt.type_string() }})
        || ' a month less.'                                                         as reason,
    {{ json_object({
        'peak_gpus_in_use': 'peak_gpus_in_use',
        'gpus_needed': 'gpus_needed',
        'gpu_count': 'gpu_count',
        'runs': 'runs',
        'peak_gpu_memory_mib': 'peak_memory_mib',
        'current_hourly_usd': 'current_hourly_usd',
        'target_instance_type': 'target_instance_type',
        'target_hourly_usd': 'target_hourly_usd',
        'billed_hours': 'billed_hours',
        'open_runs': 'open_runs',
        'open_run_p90_gpu_hours': 'open_run_p90_gpu_hours',
        'open_run_recommended_gpu_hours': 'open_run_recommended_gpu_hours'
    }) }}                                                                     as evidence,
    'rightsizing.headroom = {{ r['headroom'] }}, rightsizing.lookback_days = {{ r['lookback_days'] | int }}' as policy,
    'rightsize_gpu|' || resource_id                                                 as finding_key
from fits
where rank = 1
  and (current_hourly_usd - target_hourly_usd) * billed_hours * 730.0 / (24 * {{ r['lookback_days'] | int }}) >= {{ r['min_monthly_savings_usd'] }}
