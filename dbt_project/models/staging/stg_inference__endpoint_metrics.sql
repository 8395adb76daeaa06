with source as (

    select * from {{ source('raw', 'endpoint_metrics') }}

),

renamed as (

    select
        sampled_at,
        endpoint_name,
        variant_name,
        metric,
        value
    from source

)

select * from renamed
