{% test unique_combination(model, columns) %}
{#- No row may repeat the combination of `columns` (the grain of the model). -#}
select {{ columns | join(', ') }}, count(*) as rows_at_grain
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
