{#-
  Incremental by billing period. A nightly run lands one more day in the current month, and AWS
  re-delivers (restates) whole months: both change whole billing periods. The models that read
  every line item therefore rebuild only the periods whose inputs moved:

  - `int_billing_period_versions` gives each billing period a version (a digest of its line
    items: count, costs, files, latest delivery) and of what shapes them (policy vars);
  - each incremental model stores on its rows the period's version combined with its code
    version (the checksums of its own SQL and of every model and seed upstream of it), so a
    restated month, a changed policy or a changed model all rebuild what they touch;
  - a pre-hook deletes rows whose stored version is no longer current (changed or vanished
    periods), then the model inserts the periods that have no current rows.
  `dbt build --full-refresh` rebuilds everything, as the first run does.
-#}

{% macro _collect_checksums(unique_id, seen, sums) %}
    {%- if unique_id not in seen %}
        {%- do seen.append(unique_id) %}
        {%- set node = graph.get('nodes', {}).get(unique_id) %}
        {%- if node %}
            {%- do sums.append(unique_id ~ '=' ~ node.checksum.checksum) %}
            {%- for parent in node.depends_on.nodes %}
                {%- do _collect_checksums(parent, seen, sums) %}
            {%- endfor %}
        {%- endif %}
    {%- endif %}
{% endmacro %}


{% macro code_version() %}
    {#- the SQL of this model and of everything upstream of it, as one digest -#}
    {#- (unit tests run without the project graph: the version is then the data's alone) -#}
    {%- if not execute or not graph.get('nodes') %}{{ return('') }}{% endif %}
    {%- set seen = [] %}
    {%- set sums = [] %}
    {%- do _collect_checksums(model.unique_id, seen, sums) %}
    {{- return(local_md5(sums | sort | join(','))) }}
{% endmacro %}


{% macro period_version() %}
    {#- the version a row of billing period `billing_period` is stored with -#}
    md5(period_versions.period_version || '{{ code_version() }}')
{% endmacro %}


{% macro delete_outdated_billing_periods(versions='int_billing_period_versions') %}
    {#- pre-hook: drop the rows of periods whose inputs or code changed (or that vanished) -#}
    {%- if is_incremental() %}
    {%- set columns = adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list %}
    {%- if 'period_version' not in columns %}
    {#- a table built before it was incremental: emptied, so every period is rebuilt -#}
    delete from {{ this }};
    alter table {{ this }} add column period_version varchar
    {%- else %}
    delete from {{ this }}
    where period_version not in (
        select {{ period_version() }} from {{ ref(versions) }} as period_versions
    )
    {%- endif %}
    {%- endif %}
{% endmacro %}


{% macro billing_periods_to_build(versions='int_billing_period_versions') %}
    {#- the billing periods (with their current version) this run builds: all on a full build,
        on an incremental one only those with no rows at their current version -#}
    select billing_period, {{ period_version() }} as period_version
    from {{ ref(versions) }} as period_versions
    {%- if is_incremental() %}
    where {{ period_version() }} not in (select distinct period_version from {{ this }})
    {%- endif %}
{% endmacro %}


{% macro classified_line_items_to_build() %}
    {#- the classified line items of the billing periods this run builds, each with the version
        its rows are stored with -#}
    select line_items.*, periods_to_build.period_version
    from {{ ref('int_billing_line_items_classified') }} as line_items
    inner join ({{ billing_periods_to_build() }}) as periods_to_build using (billing_period)
{% endmacro %}
