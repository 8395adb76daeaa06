{% macro bill_lookback_start(days) -%}
{#- The start of a lookback window that ends at the last billed GPU hour (not at today: a bill
    arrives a day or more late, and a re-delivered month must give the same answer). -#}
(select max(hour_start) from {{ ref('int_resource_hours_costed') }}) - interval {{ days | int }} day
{%- endmacro %}
