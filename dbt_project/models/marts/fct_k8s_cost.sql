-- What each Kubernetes pod, workload and namespace cost per day, from AWS split cost allocation
-- data for EKS. How AWS writes it (AWS Data Exports user guide: "Understanding split cost
-- allocation data", "Split line item columns", "Example of split cost allocation data for
-- accelerated instances"): per pod and hour one Usage row per resource (usage types
-- `<region>-EKS-EC2-vCPU-Hours`, `-GB-Hours`, accelerator-hours for GPU pods; operation
-- EKSPod-EC2), the pod ARN as resource id, the node as split_line_item_parent_resource_id, and
-- the cost in split_line_item_split_cost (the pod's share of the node's amortised cost) and
-- split_line_item_unused_cost (the capacity no pod asked for, spread over the pods). The node's
-- own EC2 line keeps the bill; the pod rows add nothing to it, so nothing here is summed with the
-- node's cost. AWS spreads the unused cost over the pods; here it stays with the node as its
-- idle row (the node's cost minus its pods' split cost, with AWS's own unused figure beside it),
-- so a pod is charged for what it asked for and the idle capacity stays visible.
{{ config(materialized='table') }}

with billing as (

    select * from {{ ref('stg_billing') }}

),

pod_rows as (

    select
        usage_date,
        billing_period,
        sub_account_id,
        split_parent_resource_id                                           as node_resource_id,
        resource_id                                                        as pod_arn,
        -- arn:aws:eks:<region>:<account>:pod/<cluster>/<namespace>/<pod>/<uid>
        split_part(resource_id, '/', 2)                                    as cluster_name,
        split_part(resource_id, '/', 3)                                    as namespace,
        split_part(resource_id, '/', 4)                                    as pod_name,
        coalesce(
            {{ json_string('tags', 'aws_eks_workload_name') }},
            {{ json_string('tags', 'aws:eks:workload-name') }},
            split_part(resource_id, '/', 4)
        )                                                                  as workload_name,
        case
            when usage_type like '%vCPU-Hours' then 'cpu'
            when usage_type like '%GB-Hours' then 'memory'
            else 'accelerator'
        end                                                                as split_resource,
        coalesce(split_cost, 0)                                            as split_cost,
        coalesce(split_unused_cost, 0)                                     as split_unused_cost,
        split_usage,
        split_usage_ratio
    from billing
    where split_parent_resource_id is not null

),

pods as (

    select
        usage_date,
        billing_period,
        sub_account_id,
        cluster_name,
        node_resource_id,
        namespace,
        workload_name,
        pod_name,
        max(pod_arn)                                                       as pod_arn,
        false                                                              as is_idle,
        sum(split_cost)                                                    as split_cost,
        sum(split_cost) filter (where split_resource = 'cpu')              as cpu_split_cost,
        sum(split_cost) filter (where split_resource = 'memory')           as memory_split_cost,
        sum(split_cost) filter (where split_resource = 'accelerator')      as gpu_split_cost,
        cast(0 as decimal(38, 10))                                         as idle_cost,
        cast(null as decimal(38, 10))                                      as reported_unused_cost,
        sum(split_usage) filter (where split_resource = 'accelerator')     as gpu_hours,
        -- the pod's GPU-hours over the node's GPU-hours in the hours it ran
        sum(split_usage) filter (where split_resource = 'accelerator')
            / nullif(sum(split_usage / nullif(split_usage_ratio, 0)) filter (where split_resource = 'accelerator'), 0)
                                                                           as gpu_share
    from pod_rows
    group by 1, 2, 3, 4, 5, 6, 7, 8

),

node_days as (
    -- the node's own cost per day (AWS splits its amortised cost), the pods' share of it, and the
    -- unused cost AWS reports
    select
        pod_rows.usage_date,
        pod_rows.billing_period,
        pod_rows.sub_account_id,
        pod_rows.cluster_name,
        pod_rows.node_resource_id,
        sum(pod_rows.split_cost)                                           as pods_split_cost,
        sum(pod_rows.split_unused_cost)                                    as reported_unused_cost
    from pod_rows
    group by 1, 2, 3, 4, 5
),

node_cost as (
    select usage_date, resource_id as node_resource_id, sum(effective_cost) as node_effective_cost
    from billing
    where charge_category = 'Usage'
      and split_parent_resource_id is null
      and resource_id in (select node_resource_id from node_days)
    group by 1, 2
),

idle as (
    -- idle = what the node cost that day minus what its pods were charged: by construction the
    -- pods plus idle are the node's cost, whatever rounding or restatement the split rows carry
    -- (the unused cost AWS reported is kept beside it)
    select
        node_days.usage_date,
        node_days.billing_period,
        node_days.sub_account_id,
        node_days.cluster_name,
        node_days.node_resource_id,
        '(idle)'                                                           as namespace,
        '(idle)'                                                           as workload_name,
        '(idle)'                                                           as pod_name,
        cast(null as {{ dbt.type_string() }})                                              as pod_arn,
        true                                                               as is_idle,
        cast(0 as decimal(38, 10))                                         as split_cost,
        cast(0 as decimal(38, 10))                                         as cpu_split_cost,
        cast(0 as decimal(38, 10))                                         as memory_split_cost,
        cast(0 as decimal(38, 10))                                         as gpu_split_cost,
        coalesce(node_cost.node_effective_cost, node_days.reported_unused_cost + node_days.pods_split_cost)
            - node_days.pods_split_cost                                    as idle_cost,
        node_days.reported_unused_cost,
        cast(null as double)                                               as gpu_hours,
        cast(null as double)                                               as gpu_share
    from node_days
    left join node_cost using (usage_date, node_resource_id)
),

unioned as (

    select * from pods
    union all
    select * from idle

)

select
    cast(usage_date as date)                                    as usage_date,
    cast(billing_period as {{ dbt.type_string() }})                             as billing_period,
    cast(sub_account_id as {{ dbt.type_string() }})                             as sub_account_id,
    cast(cluster_name as {{ dbt.type_string() }})                               as cluster_name,
    cast(node_resource_id as {{ dbt.type_string() }})                           as node_resource_id,
    cast(namespace as {{ dbt.type_string() }})                                  as namespace,
    cast(workload_name as {{ dbt.type_string() }})                              as workload_name,
    cast(pod_name as {{ dbt.type_string() }})                                   as pod_name,
    cast(pod_arn as {{ dbt.type_string() }})                                    as pod_arn,
    cast(is_idle as boolean)                                    as is_idle,
    cast(split_cost as decimal(38, 10))                         as split_cost,
    cast(coalesce(cpu_split_cost, 0) as decimal(38, 10))        as cpu_split_cost,
    cast(coalesce(memory_split_cost, 0) as decimal(38, 10))     as memory_split_cost,
    cast(coalesce(gpu_split_cost, 0) as decimal(38, 10))        as gpu_split_cost,
    cast(idle_cost as decimal(38, 10))                          as idle_cost,
    cast(split_cost + idle_cost as decimal(38, 10))             as total_cost,
    cast(reported_unused_cost as decimal(38, 10))               as reported_unused_cost,
    cast(gpu_hours as double)                                   as gpu_hours,
    cast(gpu_share as double)                                   as gpu_share
from unioned
