{% test distributions_reconcile_to_cost(model, cost_model, distributions_model, grain) %}
{#- Every idle-distribution method (separate, even, weighted, in `distributions_model`) and the
    one in force (`model`) charge exactly the cost they distribute: per method and `grain`, the
    rows add up to `cost_model`'s billed and amortised cost, to the cent. Returns the
    (method, grain) pairs that do not reconcile. -#}
{%- set keys = grain | join(', ') %}
with cost as (

    select {{ keys }}, sum(billed_cost) as billed_cost, sum(effective_cost) as effective_cost
    from {{ cost_model }}
    group by {{ keys }}

),

expected as (

    select methods.idle_distribution, cost.*
    from cost
    cross join (values ('separate'), ('even'), ('weighted'), ('in force')) as methods(idle_distribution)

),

distributed as (

    select idle_distribution, {{ keys }}, sum(billed_cost) as billed_cost, sum(effective_cost) as effective_cost
    from {{ distributions_model }}
    group by idle_distribution, {{ keys }}
    union all
    select 'in force', {{ keys }}, sum(billed_cost), sum(effective_cost)
    from {{ model }}
    group by {{ keys }}

)

select
    idle_distribution,
    {{ keys }},
    expected.billed_cost,
    distributed.billed_cost as distributed_billed_cost
from expected
full join distributed using (idle_distribution, {{ keys }})
where abs(coalesce(expected.billed_cost, 0) - coalesce(distributed.billed_cost, 0)) >= 0.005
   or abs(coalesce(expected.effective_cost, 0) - coalesce(distributed.effective_cost, 0)) >= 0.005
{% endtest %}
