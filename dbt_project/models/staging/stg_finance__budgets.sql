with source as (

    select * from {{ source('raw', 'budgets') }}

),

renamed as (

    select
        team,
        month                   as budget_month,
        amount_usd              as budget_usd
    from source

)

select * from renamed
