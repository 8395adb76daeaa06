with source as (

    select * from {{ source('raw', 'jobs') }}

),

renamed as (

    select
        job_id,
        source                  as job_source,
        experiment_id,
        job_name,
        status,
        start_time,
        end_time,
        user_name,
        team,
        project,
        resource_id,
        hostname,
        instance_type,
        instance_count,
        gpu_count,
        managed_spot,
        billable_seconds,
        params,
        metrics,
        source_file
    from source

)

select * from renamed
