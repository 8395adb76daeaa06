with source as (

    select * from {{ source('raw', 'gpu_hosts') }}

),

renamed as (

    select
        hostname,
        resource_id
    from source

)

select * from renamed
