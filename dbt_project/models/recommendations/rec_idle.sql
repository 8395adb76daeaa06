-- idle_pause / idle_delete / idle_archive: GPU resources still running at the end of the bill whose
-- latest stretch of hours nobody used. An hour is idle when int_resource_hours_allocated left it
-- wholly idle (no job, no request, utilization under allocation.idle_gpu_utilization_below), or its
-- utilization is below idle.relative_to_trailing_average of the resource's own trailing average.
-- Pause after the tier's idle_pause_after_hours; delete (approval) after idle.delete_after_days and
-- archive (approval) after idle.archive_after_days, both only on measured evidence (telemetry,
-- CloudWatch or request logs for idle.min_measured_share of the stretch). Protected resources are skipped.
-- SageMaker notebook instances and Studio apps publish no GPU telemetry: their hours count as idle
-- when nothing (no job, request or telemetry) shows activity, so they can only ever be paused;
-- and only when the landing holds workload data at all (never on a billing-only landing).
{%- set idle = var('rec')['idle'] %}
{%- set trailing_hours = (idle['trailing_days'] * 24) | int %}

with allocations as (

    select * from {{ ref('int_resource_hours_allocated') }}

),

resources as (

    select * from {{ ref('int_gpu_resources_classified') }}
    where is_running and not is_protected

),

hours as (

    select
        resource_id,
        hour_start,
        max(gpu_utilization)                                                     as gpu_utilization,
        sum(hour_share) filter (where allocation_type = 'idle')                  as idle_share,
        sum(hour_share) filter (where allocation_type = 'idle'
            or (allocation_type = 'unattributed' and basis = 'no_workload_data')) as quiet_share,
        max(basis) filter (where allocation_type = 'idle')                       as idle_basis,
        sum(effective_cost)                                                      as effective_cost,
        resource_id like '%:notebook-instance/%' or resource_id like '%:app/%'   as is_notebook
    from allocations
    where resource_id in (select resource_id from resources)
    group by resource_id, hour_start

),

landing_evidence as (
    -- with a billing-only landing nothing is measured anywhere: no notebook is called idle then
    select bool_or(basis not in ('no_workload_data', 'tags_only')) as has_workload_data from allocations

),

last_busy as (
    -- the last hour no rule below can call idle (not wholly idle, and not a quiet notebook hour):
    -- the idle stretch lies after it, so only the hours after it, and the trailing window before
    -- them, need judging
    select resource_id, max(hour_start) as busy_until
    from hours
    where coalesce(idle_share, 0) < 0.999
      and not (is_notebook and gpu_utilization is null and coalesce(quiet_share, 0) >= 0.999)
    group by resource_id

),

recent as (

    select hours.*
    from hours
    left join last_busy using (resource_id)
    where last_busy.busy_until is null
       or hours.hour_start >= last_busy.busy_until - interval {{ trailing_hours }} hour

),

judged as (

    select
        *,
        avg(gpu_utilization) over (
            partition by resource_id order by hour_start
            range between interval {{ trailing_hours }} hour preceding and interval 1 hour preceding
        )                                                                        as trailing_utilization
    from recent

),

flagged as (

    select
        *,
        coalesce(idle_share, 0) >= 0.999
            and idle_basis in ('gpu_telemetry', 'cloudwatch_invocations', 'request_log', 'job_records')
        or (gpu_utilization is not null and trailing_utilization > 0
            and gpu_utilization < {{ idle['relative_to_trailing_average'] }} * trailing_utilization
            and coalesce(idle_share, 0) >= 0.999)
        or (is_notebook
            and gpu_utilization is null and coalesce(quiet_share, 0) >= 0.999
            and (select has_workload_data from landing_evidence))               as is_idle,
        idle_basis in ('gpu_telemetry', 'cloudwatch_invocations', 'request_log')  as is_measured
    from judged

),

streaks as (
    -- the idle stretch that ends at the resource's last billed hour
    select
        flagged.resource_id,
        count(*)                                                                 as idle_hours,
        count(*) filter (where is_measured)                                      as measured_hours,
        min(hour_start)                                                          as idle_since,
        max(gpu_utilization)                                                     as peak_utilization,
        sum(effective_cost)                                                      as idle_cost
    from flagged
    where hour_start > coalesce((
        select max(busy.hour_start) from flagged as busy
        where busy.resource_id = flagged.resource_id and not busy.is_idle
    ), timestamp '1970-01-01')
    group by flagged.resource_id

),

decided as (

    select
        resources.*,
        tiers.idle_pause_after_hours,
        tiers.requires_approval                                                  as tier_requires_approval,
        streaks.idle_hours,
        streaks.measured_hours,
        streaks.idle_since,
        streaks.peak_utilization,
        cast(streaks.measured_hours as double) / streaks.idle_hours                        as measured_share,
        case
            when streaks.idle_hours >= 24 * {{ idle['archive_after_days'] | int }} and streaks.measured_hours >= {{ idle['min_measured_share'] }} * streaks.idle_hours then 'idle_archive'
            when streaks.idle_hours >= 24 * {{ idle['delete_after_days'] | int }} and streaks.measured_hours >= {{ idle['min_measured_share'] }} * streaks.idle_hours then 'idle_delete'
            when streaks.idle_hours >= tiers.idle_pause_after_hours then 'idle_pause'
        end                                                                      as category
    from resources
    inner join streaks using (resource_id)
    inner join {{ ref('int_workload_tiers') }} as tiers using (workload_tier)

)

select
    category,
    case
        when category = 'idle_pause' and resource_id like '%:notebook-instance/%'
            then 'Stop the notebook instance (its ML storage volume is kept) and give it an idle auto-stop lifecycle configuration'
        when category = 'idle_pause' and resource_id like '%:app/%'
            then 'Delete the Studio app (the user''s space keeps its files)'
        when category = 'idle_pause' then 'Stop the instance (or scale the endpoint to zero) until it is needed'
        when category = 'idle_delete' then 'Delete the resource'
        else 'Snapshot its volumes, then delete the resource'
    end                                                                          as action,
    resource_id,
    case
        when is_endpoint then 'SageMaker endpoint'
        when resource_id like '%:notebook-instance/%' then 'SageMaker notebook instance'
        when resource_id like '%:app/%' then 'SageMaker Studio app'
        else 'GPU instance'
    end                                                                          as resource_type,
    team,
    project,
    billing_account_id                                                           as account_id,
    region_id                                                                    as region,
    recent_hourly_cost * 730                                                     as current_monthly_cost_usd,
    -- a paused or deleted box stops costing its run rate
    recent_hourly_cost * 730                                                     as estimated_monthly_savings_usd,
    case when measured_share >= {{ idle['min_measured_share'] }} then 0.9 else 0.6 end                        as confidence,
    category <> 'idle_pause' or tier_requires_approval                           as requires_approval,
    instance_type || ' ' || resource_id || ' has been idle for ' || cast({{ integer_divide('idle_hours', 24) }} as {{ dbt.type_string() }}) || ' days '
        || cast(idle_hours % 24 as {{ dbt.type_string() }}) || ' hours (peak GPU utilization '
        || coalesce(cast(cast(round(100 * peak_utilization, 1) as bigint) as {{ dbt.type_string() }}) || ' %',
                    case when resource_id like '%:notebook-instance/%' or resource_id like '%:app/%'
                         then 'not measured; no job, request or telemetry shows any activity' else 'not measured' end)
        || '); ' || lower(case category when 'idle_pause' then 'stop it' when 'idle_delete' then 'delete it' else 'snapshot and delete it' end)
        || ' to save about $' || cast(cast(round(recent_hourly_cost * 730) as bigint) as {{ dbt.type_string() }}) || ' a month.'   as reason,
    {{ json_object({
        'idle_since': 'idle_since',
        'idle_hours': 'idle_hours',
        'measured_hours': 'measured_hours',
        'peak_gpu_utilization': 'peak_utilization',
        'hourly_cost_usd': 'recent_hourly_cost',
        'workload_tier': 'workload_tier',
        'pause_after_hours': 'idle_pause_after_hours'
    }) }}                                                                  as evidence,
    case category
        when 'idle_pause' then 'workload_tiers.' || workload_tier || '.idle_pause_after_hours = ' || cast(idle_pause_after_hours as {{ dbt.type_string() }})
        when 'idle_delete' then 'idle.delete_after_days = {{ idle['delete_after_days'] | int }}'
        else 'idle.archive_after_days = {{ idle['archive_after_days'] | int }}'
    end                                                                          as policy,
    'idle|' || resource_id                                                       as finding_key
from decided
where category is not null
  and recent_hourly_cost * 730 >= {{ idle['min_monthly_savings_usd'] }}
