{#
  The idle-distribution methods of policy.yaml allocation.idle_distribution, for any grain
  (a node-month, a GPU-month). `usage` names a relation or CTE with one row per piece of usage:
    the grain columns, `owner` (who used it), `is_direct` (false for the pool: idle, unattributed),
    `pool_type` (the pool row's label, e.g. 'idle'), `gpu_hours`, `billed_cost`, `effective_cost`.
  Returns, for every method, one row per grain and owner plus the pool rows it keeps:
    separate: the pool stays as its own rows ('(idle)', '(unattributed)'), owners pay direct cost;
    even:     pool / n to each of the n owners with direct use in the grain;
    weighted: pool x the owner's direct GPU-hours / all owners' direct GPU-hours there
              (evenly when none of them has GPU-hours).
  A grain nobody used directly keeps its pool as rows under every method (no one to charge), so
  under every method a grain's rows add up to its cost.
#}
{% macro distribute_idle_cost(usage, grain) %}
{%- set keys = grain | join(', ') -%}
{%- set on_grain -%}
    {%- for column in grain %}{{ 'and ' if not loop.first }}owners.{{ column }} = pools.{{ column }} {% endfor -%}
{%- endset -%}

distribution_owners as (

    select {{ keys }}, owner, sum(gpu_hours) as gpu_hours,
           sum(billed_cost) as direct_billed_cost, sum(effective_cost) as direct_effective_cost
    from {{ usage }}
    where is_direct
    group by {{ keys }}, owner

),

distribution_pools as (

    select {{ keys }}, pool_type, sum(gpu_hours) as gpu_hours,
           sum(billed_cost) as billed_cost, sum(effective_cost) as effective_cost
    from {{ usage }}
    where not is_direct
    group by {{ keys }}, pool_type

),

distribution_pool_totals as (

    select {{ keys }}, sum(billed_cost) as pool_billed_cost, sum(effective_cost) as pool_effective_cost
    from distribution_pools
    group by {{ keys }}

),

distribution_weights as (

    select
        distribution_owners.*,
        1.0 / count(*) over grain_window                                             as even_weight,
        case
            when sum(gpu_hours) over grain_window > 0 then gpu_hours / sum(gpu_hours) over grain_window
            else 1.0 / count(*) over grain_window
        end                                                                          as weighted_weight
    from distribution_owners
    window grain_window as (partition by {{ keys }})

),

distribution_methods as (

    select * from (values ('separate'), ('even'), ('weighted')) as methods(idle_distribution)

),

distribution_owner_rows as (

    select
        distribution_methods.idle_distribution,
        {% for column in grain %}distribution_weights.{{ column }}, {% endfor %}
        distribution_weights.owner,
        'owner'                                                                      as row_type,
        distribution_weights.gpu_hours,
        distribution_weights.direct_billed_cost,
        distribution_weights.direct_effective_cost,
        case distribution_methods.idle_distribution
            when 'even' then distribution_weights.even_weight
            when 'weighted' then distribution_weights.weighted_weight
            else 0
        end                                                                          as idle_weight,
        coalesce(distribution_pool_totals.pool_billed_cost, 0)                       as pool_billed_cost,
        coalesce(distribution_pool_totals.pool_effective_cost, 0)                    as pool_effective_cost
    from distribution_weights
    cross join distribution_methods
    left join distribution_pool_totals using ({{ keys }})

),

distribution_pool_rows as (

    select
        distribution_methods.idle_distribution,
        {% for column in grain %}pools.{{ column }}, {% endfor %}
        '(' || pools.pool_type || ')'                                                as owner,
        pools.pool_type                                                              as row_type,
        pools.gpu_hours,
        cast(0 as decimal(38, 10))                                                   as direct_billed_cost,
        cast(0 as decimal(38, 10))                                                   as direct_effective_cost,
        cast(null as double)                                                         as idle_weight,
        pools.billed_cost                                                            as pool_billed_cost,
        pools.effective_cost                                                         as pool_effective_cost
    from distribution_pools as pools
    cross join distribution_methods
    where distribution_methods.idle_distribution = 'separate'
       or not exists (select 1 from distribution_owners as owners where {{ on_grain }})

),

distributed as (

    select
        idle_distribution,
        {{ keys }},
        owner,
        row_type,
        gpu_hours,
        idle_weight,
        cast(direct_billed_cost as decimal(38, 10))                                  as direct_billed_cost,
        cast(direct_effective_cost as decimal(38, 10))                               as direct_effective_cost,
        cast(case when row_type = 'owner' then pool_billed_cost * idle_weight else 0 end as decimal(38, 10))
                                                                                     as distributed_billed_cost,
        cast(case when row_type = 'owner' then pool_effective_cost * idle_weight else 0 end as decimal(38, 10))
                                                                                     as distributed_effective_cost,
        cast(case when row_type = 'owner' then direct_billed_cost + pool_billed_cost * idle_weight
                  else pool_billed_cost end as decimal(38, 10))                      as billed_cost,
        cast(case when row_type = 'owner' then direct_effective_cost + pool_effective_cost * idle_weight
                  else pool_effective_cost end as decimal(38, 10))                   as effective_cost
    from (select * from distribution_owner_rows union all select * from distribution_pool_rows) as distribution_rows

)
{% endmacro %}
