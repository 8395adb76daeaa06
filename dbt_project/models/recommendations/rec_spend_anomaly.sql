-- spend_anomaly: days the anomaly detector (ml.spend_anomalies) found above expectation.
select
    'spend_anomaly'                                                                   as category,
    'Find what ran on ' || {{ format_timestamp('ds', '%Y-%m-%d') }} || ' and stop it if it was not meant to' as action,
    unique_id                                                                         as resource_id,
    'Spend series'                                                                    as resource_type,
    team,
    cast(null as {{ dbt.type_string() }})                                                             as project,
    cast(null as {{ dbt.type_string() }})                                                             as account_id,
    cast(null as {{ dbt.type_string() }})                                                             as region,
    actual * 30.4                                                                     as current_monthly_cost_usd,
    -- one day's excess: what it costs if it happens once a month
    severity_usd                                                                      as estimated_monthly_savings_usd,
    0.6                                                                               as confidence,
    false                                                                             as requires_approval,
    'Spend for ' || replace(replace(unique_id, 'team=', 'team '), '|service=', ', ') || ' on ' || {{ format_timestamp('ds', '%Y-%m-%d') }}
        || ' was $' || cast(cast(round(actual) as bigint) as {{ dbt.type_string() }}) || ', $' || cast(cast(round(severity_usd) as bigint) as {{ dbt.type_string() }})
        || ' above the expected $' || cast(cast(round(expected) as bigint) as {{ dbt.type_string() }}) || '.'         as reason,
    evidence,
    'anomaly.interval_level, anomaly.min_severity_usd'                                as policy,
    'spend_anomaly|' || unique_id || '|' || {{ format_timestamp('ds', '%Y-%m-%d') }}                 as finding_key
from {{ source('ml', 'spend_anomalies') }}
where severity_usd > 0
