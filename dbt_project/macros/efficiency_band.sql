{% macro efficiency_band(utilization, bands) -%}
{#- bands: upper bounds of poor / average / good / elite from policy.yaml (efficiency.*_bands);
    at or above the good bound is elite. -#}
case
    when {{ utilization }} is null then null
    when {{ utilization }} < {{ bands[0] }} then 'poor'
    when {{ utilization }} < {{ bands[1] }} then 'average'
    when {{ utilization }} < {{ bands[2] }} then 'good'
    else 'elite'
end
{%- endmacro %}
