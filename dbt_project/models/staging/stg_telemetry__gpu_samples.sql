with source as (

    select * from {{ source('raw', 'gpu_samples') }}

),

renamed as (

    select
        sampled_at,
        metric,
        value,
        hostname,
        gpu                     as gpu_index,
        gpu_uuid,
        gpu_model,
        namespace,
        pod,
        container,
        gpu_instance_id,
        gpu_instance_profile,
        source_file
    from source

)

select * from renamed
