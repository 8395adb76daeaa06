-- Line items with the flags the marts group by: is it GPU compute, is it allocatable usage,
-- and which required tags (policy.yaml: tagging.required) it lacks.
{%- set required = var('untagged_required_tags') %}

with billing as (

    select * from {{ ref('stg_billing') }}

)

select
    billing.*,
    gpu_count is not null and gpu_count > 0           as is_gpu,
    -- tags can allocate usage; tax, credits and commitment fees are not tagged per resource
    charge_category = 'Usage'                          as is_allocatable,
    -- usage only: credits, fees and Savings Plan purchases pay for no SageMaker capability
    case when charge_category = 'Usage'
         then {{ sagemaker_usage_kind('service_name', 'usage_type', 'pricing_category') }} end as sagemaker_usage_kind,
    {%- for tag in required %}
    case when {{ tag }} is null then '{{ tag }}' end   as missing_{{ tag }}{{ "," if not loop.last }}
    {%- endfor %}
    {%- if required | length > 0 %},{% endif %}
    {% if required | length > 0 -%}
    ({%- for tag in required %}{{ tag }} is null{{ " or " if not loop.last }}{%- endfor %})
    {%- else -%} false {%- endif %}                    as is_untagged
from billing
