-- One row per billing period with a version that moves whenever the period's canonical line
-- items move (a re-delivery, a restatement, one more day) or the policy that classifies them
-- does. Incremental models rebuild exactly the periods whose version moved
-- (macros/incremental_by_billing_period.sql).
{{ config(materialized='table') }}

with periods as (

    select
        x_billing_period                                              as billing_period,
        count(*)                                                      as line_items,
        max(x_ingested_at)                                            as last_ingested_at,
        sum(BilledCost)                                               as billed_cost,
        sum(EffectiveCost)                                            as effective_cost,
        md5({{ string_agg_distinct('x_source_file', '|') }}) as source_files_digest
    from {{ source('raw', 'billing_line_items') }}
    group by x_billing_period

)

select
    billing_period,
    line_items,
    last_ingested_at,
    billed_cost,
    effective_cost,
    md5(concat_ws('|', billing_period, cast(line_items as {{ dbt.type_string() }}), cast(last_ingested_at as {{ dbt.type_string() }}),
                  cast(billed_cost as {{ dbt.type_string() }}), cast(effective_cost as {{ dbt.type_string() }}), source_files_digest,
                  '{{ tojson(var("untagged_required_tags")) }}')) as period_version
from periods
