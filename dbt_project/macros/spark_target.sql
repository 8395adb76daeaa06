{#-
  What the `spark` target (dbt-spark, session method, plain parquet: profiles.yml) needs besides
  the dispatched SQL of cross_engine.sql. Both macros do nothing on DuckDB.
-#}

{% macro create_spark_sources() %}
    {#- on-run-start: on Spark each source is a table over the parquet folder the export writes
        (orchestration/ingest/parquet_export.py: <FINOPS_SPARK_DIR>/parquet/<schema>/<table>/,
        billing line items partitioned by x_billing_period). Re-created on every run, so a new
        export is read as it is; dropping an external table leaves its files alone. -#}
    {%- if execute and target.type == 'spark' %}
        {%- set root = env_var('FINOPS_SPARK_DIR', '../data/spark') ~ '/parquet' %}
        {%- for source in graph.sources.values() | sort(attribute='unique_id') %}
            {%- do run_query('create database if not exists ' ~ source.schema) %}
            {%- do run_query('drop table if exists ' ~ source.schema ~ '.' ~ source.identifier) %}
            {%- do run_query('create table ' ~ source.schema ~ '.' ~ source.identifier ~ " using parquet location '"
                             ~ root ~ '/' ~ source.schema ~ '/' ~ source.identifier ~ "'") %}
        {%- endfor %}
    {%- endif %}
{% endmacro %}


{% macro incremental_materialization() %}
    {#- The incremental models (by billing period; recommendation_history) delete rows before they
        insert. Plain parquet tables on Spark cannot delete (that takes Delta or Iceberg, whose jars
        this target does not download), so there they are rebuilt whole as tables: the same rows
        as a full build on DuckDB. The one place that choice is made. -#}
    {{ return('table' if target.type == 'spark' else 'incremental') }}
{% endmacro %}
