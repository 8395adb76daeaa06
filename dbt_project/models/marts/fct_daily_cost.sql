-- Spend per day, account, service and owner. The grain every spend chart starts from.
-- Incremental by billing period: a nightly run rebuilds only the periods whose line items moved.
{{ config(
    materialized=incremental_materialization(),
    incremental_strategy='append',
    on_schema_change='append_new_columns',
    pre_hook="{{ delete_outdated_billing_periods() }}",
) }}

with line_items as (

    {{ classified_line_items_to_build() }}

)

select
    usage_date,
    billing_period,
    provider_name,
    billing_account_id,
    sub_account_id,
    service_category,
    service_name,
    charge_category,
    coalesce(team, '(untagged)')       as team,
    coalesce(project, '(untagged)')    as project,
    coalesce(job_type, '(untagged)')   as job_type,
    sum(billed_cost)                   as billed_cost,
    sum(effective_cost)                as effective_cost,
    sum(list_cost)                     as list_cost,
    sum(case when is_gpu then effective_cost else 0 end) as gpu_effective_cost,
    -- summed as DECIMAL so the total is the same whatever order the rows are added in
    sum(case when is_gpu and pricing_unit in ('Hrs', 'Hours', 'Hour')
             then cast(pricing_quantity as decimal(38, 10)) * gpu_count else 0 end) as gpu_hours,
    count(*)                           as line_items,
    min(period_version)                as period_version
from line_items
group by
    usage_date, billing_period, provider_name, billing_account_id, sub_account_id,
    service_category, service_name, charge_category,
    coalesce(team, '(untagged)'), coalesce(project, '(untagged)'), coalesce(job_type, '(untagged)')
