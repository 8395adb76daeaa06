with source as (

    select * from {{ source('raw', 'inference_requests') }}

),

renamed as (

    select
        request_id,
        started_at,
        ended_at,
        latency_ms,
        model,
        endpoint,
        prompt_tokens,
        completion_tokens,
        total_tokens,
        status,
        team,
        user_name,
        api_key_alias,
        org_id,
        reported_spend_usd,
        source_file
    from source

)

select * from renamed
