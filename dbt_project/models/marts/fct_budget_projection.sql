-- Will each team stay within its budget this month? Spend so far plus the forecast to month end
-- (ml.month_end_projection, from the spend forecaster) against budgets.csv.
with projection as (

    select * from {{ source('ml', 'month_end_projection') }}
    where team is not null

),

budgets as (

    select * from {{ ref('stg_finance__budgets') }}

)

select
    projection.month                                                        as billing_month,
    projection.team,
    cast(budgets.budget_usd as decimal(38, 10))                             as budget_usd,
    cast(projection.actual_to_date as double)                               as actual_to_date,
    cast(projection.forecast_remaining as double)                           as forecast_remaining,
    cast(projection.projected_total as double)                              as projected_total,
    cast(projection.projected_lo as double)                                 as projected_low,
    cast(projection.projected_hi as double)                                 as projected_high,
    cast(projection.interval_level as integer)                              as interval_level,
    cast(projection.actual_to_date / nullif(budgets.budget_usd, 0) as double)  as actual_share_of_budget,
    cast(projection.projected_total / nullif(budgets.budget_usd, 0) as double) as projected_share_of_budget,
    cast(projection.data_through as date)                                   as data_through
from projection
left join budgets
    on budgets.team = projection.team
   and budgets.budget_month = projection.month
