-- One row per billed GPU resource with what the recommendation rules need to know about it:
-- its workload tier (policy.yaml workload_tiers, by job_type tag), whether a protected tag
-- (policy.yaml protected.tags) shields it from destructive actions, whether it is still running
-- at the end of the bill, and its recent hourly run rate.
-- A table: the four GPU recommendation rules read it, and a view would re-read every line item's
-- tags for each.
{{ config(materialized='table') }}
{%- set tiers = var('workload_tiers') %}
{%- set protected = var('protected_tags') %}
{%- set prefixes = var('tag_prefixes') %}

with hours as (

    select * from {{ ref('int_resource_hours_costed') }}

),

bill_end as (

    select max(hour_start) as last_hour from hours

),

tag_entries as (
    -- every tag a resource carried, keys normalised the way the tagging policy reads them
    select distinct
        resource_id,
        regexp_replace(lower(entry.key), '^({% for p in prefixes %}{{ p | replace(':', '\\:') }}{{ '|' if not loop.last }}{% endfor %})', '') as tag_key,
        lower(entry.value) as tag_value
    from (
        {{ json_object_entries(
            relation="(select distinct resource_id, tags from " ~ ref('stg_billing') ~ " where resource_id is not null and tags is not null) tagged",
            id='resource_id', json='tags') }}
    ) as entry

),

protection as (

    select resource_id, {{ string_agg_distinct("tag_key || '=' || tag_value", ', ') }} as protected_by
    from tag_entries
    where {% if protected | length == 0 %}false{% else %}
        {%- for kv in protected %}
        (tag_key = '{{ kv[0] }}' and tag_value = '{{ kv[1] }}'){{ ' or' if not loop.last }}
        {%- endfor %}{% endif %}
    group by resource_id

),

profile as (

    select
        resource_id,
        max(provider_name)                                  as provider_name,
        max(billing_account_id)                             as billing_account_id,
        max(sub_account_id)                                 as sub_account_id,
        max(region_id)                                      as region_id,
        max(service_name)                                   as service_name,
        max(instance_type)                                  as instance_type,
        max(gpu_count)                                      as gpu_count,
        max(gpu_model)                                      as gpu_model,
        max(team)                                           as team,
        max(project)                                        as project,
        lower(max(job_type))                                as job_type,
        bool_or(is_spot)                                    as is_spot,
        min(hour_start)                                     as first_hour,
        max(hour_start)                                     as last_hour,
        -- run rate over the last week it ran
        cast(sum(effective_cost) filter (where hour_start > (select last_hour from bill_end) - interval 7 day) as double)
            / nullif(count(*) filter (where hour_start > (select last_hour from bill_end) - interval 7 day), 0) as recent_hourly_cost
    from hours
    group by resource_id

)

select
    profile.*,
    profile.last_hour >= (select last_hour from bill_end) - interval 2 hour       as is_running,
    profile.resource_id like '%:endpoint/%'                                         as is_endpoint,
    protection.protected_by is not null                                             as is_protected,
    protection.protected_by,
    case
        {%- for name, tier in tiers.items() if tier['job_types'] | length > 0 %}
        when profile.job_type in ({% for j in tier['job_types'] %}'{{ j }}'{{ ', ' if not loop.last }}{% endfor %}) then '{{ name }}'
        {%- endfor %}
        else 'default'
    end                                                                             as workload_tier
from profile
left join protection using (resource_id)
