-- autoscale_inference: serving boxes billed around the clock with hours of the week that carry no
-- traffic (no request logged, no CloudWatch invocation, utilization under the idle threshold, in
-- every week of autoscale.lookback_days) -> scale to zero in those hours. Protected resources are
-- skipped.
{%- set a = var('rec')['autoscale'] %}
{%- set idle_below = var('idle_gpu_utilization_below') %}

with resources as (

    select * from {{ ref('int_gpu_resources_classified') }}
    where is_running and not is_protected

),

window_start as (

    select {{ bill_lookback_start(a['lookback_days']) }} as since

),

hours as (

    select
        resource_id,
        hour_start,
        {{ iso_day_of_week('hour_start') }} * 24 + hour(hour_start)                                    as hour_of_week,
        max(hour_requests_logged)                                                     as requests,
        max(hour_invocations)                                                         as invocations,
        max(gpu_utilization)                                                          as gpu_utilization,
        bool_or(is_serving)                                                           as is_serving,
        sum(effective_cost)                                                           as effective_cost
    from {{ ref('int_resource_hours_allocated') }}
    where hour_start > (select since from window_start)
    group by resource_id, hour_start

),

profile as (

    select
        resource_id,
        hour_of_week,
        count(*)                                                                      as weeks_seen,
        bool_and(coalesce(requests, 0) = 0 and coalesce(invocations, 0) = 0
                 and coalesce(gpu_utilization, 0) < {{ idle_below }}
                 and (invocations is not null or gpu_utilization is not null))        as always_quiet,
        cast(avg(effective_cost) as double)                                           as hourly_cost
    from hours
    where is_serving
    group by resource_id, hour_of_week

),

quiet as (

    select
        resource_id,
        count(*) filter (where always_quiet and weeks_seen >= 2)                      as quiet_hours_per_week,
        count(*)                                                                      as hours_of_week_seen,
        sum(hourly_cost) filter (where always_quiet and weeks_seen >= 2)              as quiet_cost_per_week,
        sum(hourly_cost)                                                              as cost_per_week
    from profile
    group by resource_id

)

select
    'autoscale_inference'                                                             as category,
    'Scale to zero in the ' || cast(quiet.quiet_hours_per_week as {{ dbt.type_string() }}) || ' quiet hours of the week (min 0, max 1 instance)' as action,
    resources.resource_id,
    case when resources.is_endpoint then 'SageMaker endpoint' else 'GPU instance' end as resource_type,
    resources.team,
    resources.project,
    resources.billing_account_id                                                      as account_id,
    resources.region_id                                                               as region,
    quiet.cost_per_week * 52 / 12                                                     as current_monthly_cost_usd,
    quiet.quiet_cost_per_week * 52 / 12                                               as estimated_monthly_savings_usd,
    0.8                                                                               as confidence,
    true                                                                              as requires_approval,
    coalesce(resources.instance_type, '') || ' ' || resources.resource_id || ' served nothing in '
        || cast(quiet.quiet_hours_per_week as {{ dbt.type_string() }}) || ' hours of every week for {{ a['lookback_days'] | int }} days; scaling it to zero then saves about $'
        || cast(cast(round(quiet.quiet_cost_per_week * 52 / 12) as bigint) as {{ dbt.type_string() }}) || ' a month.' as reason,
    {{ json_object({
        'quiet_hours_per_week': 'quiet.quiet_hours_per_week',
        'hours_of_week_seen': 'quiet.hours_of_week_seen',
        'quiet_cost_per_week_usd': 'quiet.quiet_cost_per_week'
    }) }}          as evidence,
    'autoscale.min_idle_hours_per_week = {{ a['min_idle_hours_per_week'] | int }}'   as policy,
    'autoscale_inference|' || resources.resource_id                                   as finding_key
from resources
inner join quiet using (resource_id)
where quiet.quiet_hours_per_week >= {{ a['min_idle_hours_per_week'] | int }}
  and quiet.quiet_cost_per_week * 52 / 12 >= {{ a['min_monthly_savings_usd'] }}
