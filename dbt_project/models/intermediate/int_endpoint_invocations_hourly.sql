-- CloudWatch Invocations of each SageMaker endpoint per hour, on the billed resource that serves
-- it: evidence that a serving box was used (int_resource_hours_allocated), that it serves at all
-- (int_gpu_resource_evidence) and an input of the allocation's period versions.

select
    endpoints.resource_id,
    date_trunc('hour', metrics.sampled_at)  as hour_start,
    sum(metrics.value)                      as invocations
from {{ ref('stg_inference__endpoint_metrics') }} as metrics
inner join {{ ref('int_sagemaker_endpoints') }} as endpoints on endpoints.endpoint_name = lower(metrics.endpoint_name)
where metrics.metric = 'Invocations'
group by 1, 2
