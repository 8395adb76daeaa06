-- Every finding ever raised, kept across runs: when it was first and last seen, whether it is
-- still open, and - once its resource stops appearing in the bill or shrinks - the monthly
-- savings actually realized next to the estimate, so the tool can say how good its estimates were.
{{ config(materialized=incremental_materialization(), unique_key='recommendation_id', incremental_strategy='delete+insert', schema='marts') }}

with current_run as (

    select * from {{ ref('recommendations_current') }}

),

resource_cost_now as (
    -- what each resource costs per month now (last 30 days of the bill)
    select resource_id, sum(effective_cost) * 730.0 / (24 * 30) as monthly_cost_now
    from {{ ref('int_resource_hours_costed') }}
    where hour_start > (select max(hour_start) from {{ ref('int_resource_hours_costed') }}) - interval 30 day
    group by resource_id

),

{% if is_incremental() %}
previous as (

    select * from {{ this }}

),
{% else %}
previous as (

    select * from (select
        cast(null as {{ dbt.type_string() }}) as recommendation_id, cast(null as {{ dbt.type_string() }}) as category, cast(null as {{ dbt.type_string() }}) as resource_id,
        cast(null as {{ dbt.type_string() }}) as finding_key, cast(null as timestamp) as first_seen_at, cast(null as timestamp) as last_seen_at,
        cast(null as boolean) as is_open, cast(null as decimal(38, 2)) as estimated_monthly_savings_usd,
        cast(null as decimal(38, 2)) as monthly_cost_at_first_seen, cast(null as decimal(38, 2)) as savings_realized_usd) empty
    where false

),
{% endif %}

merged as (

    select
        coalesce(current_run.recommendation_id, previous.recommendation_id)              as recommendation_id,
        coalesce(current_run.category, previous.category)                                as category,
        coalesce(current_run.resource_id, previous.resource_id)                          as resource_id,
        coalesce(current_run.finding_key, previous.finding_key)                          as finding_key,
        coalesce(previous.first_seen_at, {{ run_started_timestamp() }}) as first_seen_at,
        case when current_run.recommendation_id is not null
             then {{ run_started_timestamp() }} else previous.last_seen_at end as last_seen_at,
        current_run.recommendation_id is not null                                        as is_open,
        coalesce(current_run.estimated_monthly_savings_usd, previous.estimated_monthly_savings_usd) as estimated_monthly_savings_usd,
        coalesce(previous.monthly_cost_at_first_seen, current_run.current_monthly_cost_usd) as monthly_cost_at_first_seen
    from current_run
    full outer join previous using (recommendation_id)

)

select
    merged.*,
    -- realized once the finding is closed: what the resource cost a month when we raised it minus now
    case when not merged.is_open
         then cast(greatest(merged.monthly_cost_at_first_seen - coalesce(resource_cost_now.monthly_cost_now, 0), 0) as decimal(38, 2))
    end                                                                                  as savings_realized_usd
from merged
left join resource_cost_now using (resource_id)
