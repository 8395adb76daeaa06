-- storage_tiering: S3 prefixes (bucket + first three key levels) whose objects nobody has written
-- or read for the policy's days -> the colder storage class, priced with policy.yaml storage.*.
-- Age is counted back from the newest date the inventory or the bill knows.
{%- set st = var('rec')['storage'] %}

with objects as (

    select * from {{ ref('stg_storage__s3_objects') }}

),

as_of as (

    select greatest(
        (select max(last_modified_at) from objects),
        (select max(charge_period_end) from {{ ref('stg_billing') }})
    ) as as_of

),

aged as (

    select
        objects.*,
        {{ leading_parts('objects.object_key', '/', 3) }} as prefix,
        {{ dbt.datediff('greatest(objects.last_modified_at, coalesce(objects.last_access_at, objects.last_modified_at))', '(select as_of from as_of)', 'day') }} as idle_days,
        objects.size_bytes / 1e9                                                      as size_gb
    from objects

),

targeted as (

    select
        aged.*,
        case
            when idle_days >= {{ st['deep_archive_after_days'] | int }} then 'DEEP_ARCHIVE'
            when idle_days >= {{ st['glacier_after_days'] | int }} then 'GLACIER_IR'
            when idle_days >= {{ st['infrequent_access_after_days'] | int }} then 'STANDARD_IA'
        end                                                                           as target_class,
        case storage_class
            when 'STANDARD' then {{ st['standard_usd_per_gb_month'] }}
            when 'STANDARD_IA' then {{ st['infrequent_access_usd_per_gb_month'] }}
            when 'ONEZONE_IA' then {{ st['infrequent_access_usd_per_gb_month'] }}
            when 'INTELLIGENT_TIERING' then {{ st['standard_usd_per_gb_month'] }}
            when 'GLACIER_IR' then {{ st['glacier_usd_per_gb_month'] }}
            else {{ st['deep_archive_usd_per_gb_month'] }}
        end                                                                           as current_price
    from aged

),

priced as (

    select
        targeted.*,
        case target_class
            when 'STANDARD_IA' then {{ st['infrequent_access_usd_per_gb_month'] }}
            when 'GLACIER_IR' then {{ st['glacier_usd_per_gb_month'] }}
            when 'DEEP_ARCHIVE' then {{ st['deep_archive_usd_per_gb_month'] }}
        end                                                                           as target_price
    from targeted
    where target_class is not null

),

prefixes as (

    select
        bucket,
        prefix,
        target_class,
        count(*)                                                                      as objects,
        sum(size_gb)                                                                  as size_gb,
        min(idle_days)                                                                as min_idle_days,
        sum(size_gb * current_price)                                                  as current_monthly_cost,
        sum(size_gb * greatest(current_price - target_price, 0))                      as monthly_savings
    from priced
    where current_price > target_price
    group by bucket, prefix, target_class

),

owners as (

    select resource_id, max(team) as team, max(project) as project, max(billing_account_id) as account_id,
           max(region_id) as region
    from {{ ref('int_billing_line_items_classified') }}
    where service_name ilike '%Simple Storage Service%'
    group by resource_id

)

select
    'storage_tiering'                                                                 as category,
    'Move s3://' || prefixes.bucket || '/' || prefixes.prefix || '/ to ' || prefixes.target_class as action,
    prefixes.bucket                                                                   as resource_id,
    'S3 prefix'                                                                       as resource_type,
    owners.team,
    owners.project,
    owners.account_id,
    owners.region,
    prefixes.current_monthly_cost                                                     as current_monthly_cost_usd,
    prefixes.monthly_savings                                                          as estimated_monthly_savings_usd,
    0.9                                                                               as confidence,
    prefixes.target_class = 'DEEP_ARCHIVE'                                            as requires_approval,
    cast(prefixes.objects as {{ dbt.type_string() }}) || ' objects (' || cast(cast(round(prefixes.size_gb) as bigint) as {{ dbt.type_string() }}) || ' GB) under s3://'
        || prefixes.bucket || '/' || prefixes.prefix || '/ were not written or read for at least '
        || cast(prefixes.min_idle_days as {{ dbt.type_string() }}) || ' days; ' || prefixes.target_class || ' saves about $'
        || cast(cast(round(prefixes.monthly_savings) as bigint) as {{ dbt.type_string() }}) || ' a month.'            as reason,
    {{ json_object({
        'objects': 'prefixes.objects',
        'size_gb': 'prefixes.size_gb',
        'min_idle_days': 'prefixes.min_idle_days',
        'target_class': 'prefixes.target_class'
    }) }}                         as evidence,
    'storage.' || case prefixes.target_class when 'STANDARD_IA' then 'infrequent_access' when 'GLACIER_IR' then 'glacier' else 'deep_archive' end
        || '_after_days'                                                              as policy,
    'storage_tiering|' || prefixes.bucket || '/' || prefixes.prefix || '|' || prefixes.target_class as finding_key
from prefixes
left join owners on owners.resource_id = prefixes.bucket
where prefixes.monthly_savings >= {{ st['min_monthly_savings_usd'] }}
