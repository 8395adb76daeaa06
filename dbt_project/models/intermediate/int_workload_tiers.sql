-- policy.yaml workload_tiers as a table: what each tier allows.
{%- set tiers = var('workload_tiers') %}
{% for name, tier in tiers.items() %}
select
    '{{ name }}'                                         as workload_tier,
    {{ tier['idle_pause_after_hours'] | int }}           as idle_pause_after_hours,
    {{ tier['allow_spot'] }}                             as allow_spot,
    {{ tier['requires_approval'] }}                      as requires_approval
{{ 'union all' if not loop.last }}
{% endfor %}
