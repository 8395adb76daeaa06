-- Usage spend the tagging policy cannot allocate, per billing period: the top offenders by
-- name and everything else in one remainder row, so the rows add up to the untagged total.
{%- set required = var('untagged_required_tags') %}
{%- set top_n = var('untagged_top_offenders') %}

with line_items as (

    select * from {{ ref('int_billing_line_items_classified') }}
    where is_allocatable

),

period_usage as (

    select billing_period, sum(effective_cost) as usage_effective_cost
    from line_items
    group by billing_period

),

untagged as (

    select
        billing_period,
        coalesce(resource_id, service_name || ' (no resource id)') as offender,
        min(resource_type)         as resource_type,
        min(service_name)          as service_name,
        min(billing_account_id)    as billing_account_id,
        min(sub_account_id)        as sub_account_id,
        min(instance_type)         as instance_type,
        {%- for tag in required %}
        max(missing_{{ tag }})     as missing_{{ tag }},
        {%- endfor %}
        sum(billed_cost)           as billed_cost,
        sum(effective_cost)        as effective_cost
    from line_items
    where is_untagged
    group by billing_period, coalesce(resource_id, service_name || ' (no resource id)')

),

ranked as (

    select
        untagged.*,
        row_number() over (partition by billing_period order by effective_cost desc, offender) as offender_rank
    from untagged

),

top_offenders as (

    select
        billing_period,
        offender_rank,
        offender,
        resource_type,
        service_name,
        billing_account_id,
        sub_account_id,
        instance_type,
        trim(both ',' from concat(
            {%- for tag in required %}coalesce(missing_{{ tag }}, ''){{ ", ','," if not loop.last }}{%- endfor %}
        ))                        as missing_tags,
        billed_cost,
        effective_cost
    from ranked
    where offender_rank <= {{ top_n }}

),

remainder as (

    select
        billing_period,
        {{ top_n }} + 1            as offender_rank,
        '(all other untagged)'     as offender,
        cast(null as {{ dbt.type_string() }})      as resource_type,
        cast(null as {{ dbt.type_string() }})      as service_name,
        cast(null as {{ dbt.type_string() }})      as billing_account_id,
        cast(null as {{ dbt.type_string() }})      as sub_account_id,
        cast(null as {{ dbt.type_string() }})      as instance_type,
        cast(null as {{ dbt.type_string() }})      as missing_tags,
        sum(billed_cost)           as billed_cost,
        sum(effective_cost)        as effective_cost
    from ranked
    where offender_rank > {{ top_n }}
    group by billing_period

),

combined as (

    select * from top_offenders
    union all
    select * from remainder

)

select
    combined.billing_period,
    cast(combined.offender_rank as bigint)                             as offender_rank,
    combined.offender,
    combined.resource_type,
    combined.service_name,
    combined.billing_account_id,
    combined.sub_account_id,
    combined.instance_type,
    combined.missing_tags,
    combined.billed_cost,
    combined.effective_cost,
    period_usage.usage_effective_cost                                  as period_usage_effective_cost,
    cast(combined.effective_cost as double)
        / nullif(cast(period_usage.usage_effective_cost as double), 0)  as share_of_period_usage
from combined
join period_usage on period_usage.billing_period = combined.billing_period
