-- How well each GPU resource is used, per month and team: measured utilization against the
-- bands of policy.yaml (efficiency.training_bands / inference_bands), the share of its billed
-- hours that sat idle, and how much of its GPU time ran on spot capacity.
{%- set training_bands = var('training_efficiency_bands') %}
{%- set inference_bands = var('inference_efficiency_bands') %}

with allocations as (

    select * from {{ ref('int_resource_hours_allocated') }}

),

resources as (
    -- a box that serves requests is judged against the inference bands, any other against training
    select resource_id, bool_or(is_serving) as is_serving
    from allocations
    group by resource_id

),

monthly as (

    select
        allocations.resource_id,
        {{ format_timestamp('allocations.hour_start', '%Y-%m') }}                                 as billing_month,
        coalesce(allocations.team, '(untagged)')                                  as team,
        max(allocations.instance_type)                                            as instance_type,
        max(allocations.gpu_model)                                                as gpu_model,
        max(allocations.gpu_count)                                                as gpu_count,
        max(allocations.billing_account_id)                                       as billing_account_id,
        sum(allocations.hour_share)                                               as instance_hours,
        sum(allocations.hour_share) filter (where allocations.allocation_type = 'idle') as idle_instance_hours,
        sum(allocations.gpu_hours)                                                as gpu_hours,
        sum(allocations.gpu_hours) filter (where allocations.gpu_utilization is not null) as measured_gpu_hours,
        sum(allocations.gpu_hours * allocations.gpu_utilization) filter (where allocations.gpu_utilization is not null) as useful_gpu_hours,
        {{ string_agg_distinct('allocations.utilization_signal', ', ') }} as utilization_signal,
        sum(allocations.gpu_hours) filter (where allocations.is_spot)             as spot_gpu_hours,
        sum(allocations.effective_cost)                                           as effective_cost,
        sum(allocations.effective_cost) filter (where allocations.allocation_type = 'idle') as idle_cost
    from allocations
    group by 1, 2, 3

),

measured as (

    select
        monthly.*,
        case when resources.is_serving then 'inference' else 'training' end       as workload_class,
        monthly.useful_gpu_hours / nullif(monthly.measured_gpu_hours, 0)          as mean_gpu_utilization
    from monthly
    inner join resources using (resource_id)

)

select
    resource_id,
    billing_month,
    team,
    workload_class,
    instance_type,
    gpu_model,
    cast(gpu_count as integer)                                                    as gpu_count,
    billing_account_id,
    cast(instance_hours as double)                                                as instance_hours,
    cast(coalesce(idle_instance_hours, 0) as double)                              as idle_instance_hours,
    cast(coalesce(idle_instance_hours, 0) / nullif(instance_hours, 0) as double)  as idle_instance_hours_share,
    cast(gpu_hours as double)                                                     as gpu_hours,
    cast(coalesce(measured_gpu_hours, 0) as double)                               as measured_gpu_hours,
    cast(mean_gpu_utilization as double)                                          as mean_gpu_utilization,
    cast(utilization_signal as {{ dbt.type_string() }})                                           as utilization_signal,
    case workload_class
        when 'inference' then {{ efficiency_band('mean_gpu_utilization', inference_bands) }}
        else {{ efficiency_band('mean_gpu_utilization', training_bands) }}
    end                                                                           as efficiency_band,
    cast(coalesce(spot_gpu_hours, 0) as double)                                   as spot_gpu_hours,
    cast(coalesce(spot_gpu_hours, 0) / nullif(gpu_hours, 0) as double)            as spot_coverage,
    cast(effective_cost as decimal(38, 10))                                       as effective_cost,
    cast(coalesce(idle_cost, 0) as decimal(38, 10))                               as idle_cost
from measured
