-- Billed SageMaker endpoints by name: CloudWatch metrics and the gateway's runtime URLs name an
-- endpoint, CUR names its ARN (arn:aws:sagemaker:<region>:<account>:endpoint/<name>, lower case).
-- A table: every reader of CloudWatch metrics and request logs joins it, and a view would scan
-- every billed hour again for each.
{{ config(materialized='table') }}
select
    resource_id,
    lower(split_part(resource_id, 'endpoint/', 2))     as endpoint_name,
    max(gpu_count)                                     as gpu_count
from {{ ref('int_resource_hours_costed') }}
where resource_id like '%:endpoint/%'
group by resource_id
