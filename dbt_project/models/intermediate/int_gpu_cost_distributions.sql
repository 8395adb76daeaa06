-- Each GPU node's monthly cost per owning team under every idle-distribution method of
-- policy.yaml (allocation.idle_distribution); fct_gpu_cost_distributed keeps the chosen one.
-- Direct cost = the team's training jobs and inference (int_resource_hours_allocated). The
-- node-month's idle and unattributed cost (the pool) is
--   separate: kept as its own rows (team '(idle)' / '(unattributed)'), owners pay direct cost only;
--   even:     split equally among the teams with direct use of that node that month, pool / n;
--   weighted: split by their direct GPU-hours there, pool x team GPU-hours / all owners' GPU-hours.
-- A node-month nobody used directly keeps its pool as rows under every method (no one to charge).
-- Under every method the rows of a node-month add up to its cost (singular test).
with allocations as (

    select
        *,
        coalesce(team, '(untagged)')                                                 as owner_team,
        allocation_type in ('training_job', 'inference')                             as is_direct
    from {{ ref('int_resource_hours_allocated') }}

),

nodes as (

    select billing_period, resource_id, max(instance_type) as instance_type, max(gpu_model) as gpu_model
    from allocations
    group by 1, 2

),

owners as (

    select
        billing_period,
        resource_id,
        owner_team                                                                   as team,
        sum(gpu_hours)                                                               as gpu_hours,
        sum(billed_cost)                                                             as direct_billed_cost,
        sum(effective_cost)                                                          as direct_effective_cost
    from allocations
    where is_direct
    group by 1, 2, 3

),

pools as (

    select
        billing_period,
        resource_id,
        allocation_type,
        sum(gpu_hours)                                                               as gpu_hours,
        sum(billed_cost)                                                             as billed_cost,
        sum(effective_cost)                                                          as effective_cost
    from allocations
    where not is_direct
    group by 1, 2, 3

),

pool_totals as (

    select billing_period, resource_id, sum(billed_cost) as pool_billed_cost, sum(effective_cost) as pool_effective_cost
    from pools
    group by 1, 2

),

owner_weights as (

    select
        owners.*,
        1.0 / count(*) over node_month                                               as even_weight,
        case
            when sum(gpu_hours) over node_month > 0 then gpu_hours / sum(gpu_hours) over node_month
            else 1.0 / count(*) over node_month
        end                                                                          as weighted_weight
    from owners
    window node_month as (partition by billing_period, resource_id)

),

methods as (

    select * from (values ('separate'), ('even'), ('weighted')) as methods(idle_distribution)

),

owner_rows as (

    select
        methods.idle_distribution,
        owner_weights.billing_period,
        owner_weights.resource_id,
        owner_weights.team,
        'owner'                                                                      as row_type,
        owner_weights.gpu_hours,
        owner_weights.direct_billed_cost,
        owner_weights.direct_effective_cost,
        case methods.idle_distribution
            when 'even' then owner_weights.even_weight
            when 'weighted' then owner_weights.weighted_weight
            else 0
        end                                                                          as idle_weight,
        coalesce(pool_totals.pool_billed_cost, 0)                                    as pool_billed_cost,
        coalesce(pool_totals.pool_effective_cost, 0)                                 as pool_effective_cost
    from owner_weights
    cross join methods
    left join pool_totals using (billing_period, resource_id)

),

pool_rows as (

    select
        methods.idle_distribution,
        pools.billing_period,
        pools.resource_id,
        '(' || pools.allocation_type || ')'                                          as team,
        pools.allocation_type                                                        as row_type,
        pools.gpu_hours,
        cast(0 as decimal(38, 10))                                                   as direct_billed_cost,
        cast(0 as decimal(38, 10))                                                   as direct_effective_cost,
        cast(null as double)                                                         as idle_weight,
        pools.billed_cost                                                            as pool_billed_cost,
        pools.effective_cost                                                         as pool_effective_cost
    from pools
    cross join methods
    where methods.idle_distribution = 'separate'
       or not exists (
           select 1 from owners
           where owners.billing_period = pools.billing_period and owners.resource_id = pools.resource_id
       )

)

select
    rows.idle_distribution,
    rows.billing_period,
    rows.resource_id,
    nodes.instance_type,
    nodes.gpu_model,
    rows.team,
    rows.row_type,
    rows.gpu_hours,
    rows.idle_weight,
    cast(rows.direct_billed_cost as decimal(38, 10))                                 as direct_billed_cost,
    cast(rows.direct_effective_cost as decimal(38, 10))                              as direct_effective_cost,
    cast(case when rows.row_type = 'owner' then rows.pool_billed_cost * rows.idle_weight else 0 end as decimal(38, 10))
                                                                                     as distributed_billed_cost,
    cast(case when rows.row_type = 'owner' then rows.pool_effective_cost * rows.idle_weight else 0 end as decimal(38, 10))
                                                                                     as distributed_effective_cost,
    cast(case when rows.row_type = 'owner' then rows.direct_billed_cost + rows.pool_billed_cost * rows.idle_weight
              else rows.pool_billed_cost end as decimal(38, 10))                     as billed_cost,
    cast(case when rows.row_type = 'owner' then rows.direct_effective_cost + rows.pool_effective_cost * rows.idle_weight
              else rows.pool_effective_cost end as decimal(38, 10))                  as effective_cost
from (select * from owner_rows union all select * from pool_rows) as rows
inner join nodes using (billing_period, resource_id)
