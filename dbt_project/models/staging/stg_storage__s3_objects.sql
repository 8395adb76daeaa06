with source as (

    select * from {{ source('raw', 's3_inventory') }}

),

renamed as (

    select
        bucket,
        key                     as object_key,
        size_bytes,
        last_modified_at,
        storage_class,
        last_access_at
    from source

)

select * from renamed
