{#- What a SageMaker line item pays for, from its usage type. CUR writes
    `<region>-Notebk:ml.t3.medium`, `-Studio:JupyterLab-ml.g5.xlarge`, `-Train:ml.p4d.24xlarge`,
    `-Host:ml.g5.xlarge`, `-Processing:ml.m5.xlarge`, `-AsyncInf:`, `-ServerlessInf`,
    `-BatchTransform` (older exports: `ml.p4d.24xlarge-Training`, `ml.g5.xlarge-Hosting`,
    `ml.t3.xlarge-Notebook`). Managed spot training is a training usage type priced as spot
    (FOCUS PricingCategory 'Dynamic') or named `...Spot...`. Null for anything not SageMaker. -#}
{% macro sagemaker_usage_kind(service_name, usage_type, pricing_category) -%}
    case
        when not (coalesce({{ service_name }}, '') ilike '%sagemaker%'
                  or coalesce({{ usage_type }}, '') ilike 'ml.%'
                  or coalesce({{ usage_type }}, '') ilike '%:ml.%') then null
        when {{ usage_type }} ilike '%studio%' or {{ usage_type }} ilike '%rsession%' then 'studio_app'
        when {{ usage_type }} ilike '%notebk%' or {{ usage_type }} ilike '%notebook%' then 'notebook'
        when {{ usage_type }} ilike '%processing%' then 'processing'
        when {{ usage_type }} ilike '%train%'
             and ({{ usage_type }} ilike '%spot%' or {{ pricing_category }} = 'Dynamic') then 'spot_training'
        when {{ usage_type }} ilike '%train%' then 'training'
        when {{ usage_type }} ilike '%asyncinf%' then 'async_inference'
        when {{ usage_type }} ilike '%serverless%' then 'serverless_inference'
        when {{ usage_type }} ilike '%transform%' then 'batch_transform'
        when {{ usage_type }} ilike '%host%' then 'hosting'
        else 'other'
    end
{%- endmacro %}
