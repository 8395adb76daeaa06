{#-
  The few things DuckDB and Spark SQL spell differently, each one macro with a DuckDB (default__)
  and a Spark implementation, dispatched on the target's adapter (adapter.dispatch). The models
  call these, or dbt's own cross-database macros (dbt.datediff, dbt.type_string, ...), and are the
  same file on every engine. Athena/Trino would add a trino__ version of each (README).
  On DuckDB every macro renders exactly the SQL the models had before, so its results do not move.
-#}


{#- a timestamp as text with a strftime format ('%Y-%m', '%Y-%m-%d') -#}
{% macro format_timestamp(ts, fmt) %}{{ return(adapter.dispatch('format_timestamp', 'gpu_finops')(ts, fmt)) }}{% endmacro %}
{% macro default__format_timestamp(ts, fmt) %}strftime({{ ts }}, '{{ fmt }}'){% endmacro %}
{% macro spark__format_timestamp(ts, fmt) -%}
    date_format({{ ts }}, '{{ fmt | replace('%Y', 'yyyy') | replace('%m', 'MM') | replace('%d', 'dd') | replace('%H', 'HH') }}')
{%- endmacro %}


{#- a record of named fields; entries are 'expression as name' or a bare column name -#}
{% macro struct_pack(fields) %}{{ return(adapter.dispatch('struct_pack', 'gpu_finops')(fields)) }}{% endmacro %}
{% macro _struct_field(entry) %}
    {%- set parts = entry.split(' as ') -%}
    {{ return((parts[-1] | trim, parts[:-1] | join(' as ') | trim) if parts | length > 1 else (entry | trim, entry | trim)) }}
{% endmacro %}
{% macro default__struct_pack(fields) -%}
    struct_pack({% for entry in fields %}{% set f = _struct_field(entry) %}{{ f[0] }} := {{ f[1] }}{{ ', ' if not loop.last }}{% endfor %})
{%- endmacro %}
{% macro spark__struct_pack(fields) -%}
    named_struct({% for entry in fields %}{% set f = _struct_field(entry) %}'{{ f[0] }}', {{ f[1] }}{{ ', ' if not loop.last }}{% endfor %})
{%- endmacro %}


{#- the value of the row with the greatest ordering (structs compare field by field) -#}
{% macro arg_max(value, ordering) %}{{ return(adapter.dispatch('arg_max', 'gpu_finops')(value, ordering)) }}{% endmacro %}
{% macro default__arg_max(value, ordering) %}arg_max({{ value }}, {{ ordering }}){% endmacro %}
{% macro spark__arg_max(value, ordering) %}max_by({{ value }}, {{ ordering }}){% endmacro %}


{#- the distinct non-null values, sorted, joined by `delimiter`; null when there are none -#}
{% macro string_agg_distinct(expr, delimiter) %}{{ return(adapter.dispatch('string_agg_distinct', 'gpu_finops')(expr, delimiter)) }}{% endmacro %}
{% macro default__string_agg_distinct(expr, delimiter) %}string_agg(distinct {{ expr }}, '{{ delimiter }}' order by {{ expr }}){% endmacro %}
{% macro spark__string_agg_distinct(expr, delimiter) -%}
    case when count({{ expr }}) > 0 then array_join(array_sort(collect_set({{ expr }})), '{{ delimiter }}') end
{%- endmacro %}


{#- every clock hour from `start` to `stop` (both hour starts, inclusive), as a list -#}
{% macro hour_series(start, stop) %}{{ return(adapter.dispatch('hour_series', 'gpu_finops')(start, stop)) }}{% endmacro %}
{% macro default__hour_series(start, stop) %}generate_series(
        {{ start }},
        {{ stop }},
        interval 1 hour
    ){% endmacro %}
{#- Spark's sequence() fails on an empty range where DuckDB returns no hours: guard it -#}
{% macro spark__hour_series(start, stop) %}case when {{ stop }} >= {{ start }} then sequence(
        {{ start }},
        {{ stop }},
        interval 1 hour
    ) end{% endmacro %}


{#- one row per element of a list column, joined to the row it came from (a lateral join) -#}
{% macro cross_join_unnest(list_expr, table_alias, column) %}{{ return(adapter.dispatch('cross_join_unnest', 'gpu_finops')(list_expr, table_alias, column)) }}{% endmacro %}
{% macro default__cross_join_unnest(list_expr, table_alias, column) %}cross join unnest({{ list_expr }}) as {{ table_alias }}({{ column }}){% endmacro %}
{% macro spark__cross_join_unnest(list_expr, table_alias, column) %}lateral view explode({{ list_expr }}) {{ table_alias }} as {{ column }}{% endmacro %}


{#- continuous (interpolated) percentile; `fraction` may be a list, giving a list -#}
{% macro percentile_cont(expr, fraction) %}{{ return(adapter.dispatch('percentile_cont', 'gpu_finops')(expr, fraction)) }}{% endmacro %}
{% macro default__percentile_cont(expr, fraction) %}quantile_cont({{ expr }}, {{ fraction }}){% endmacro %}
{% macro spark__percentile_cont(expr, fraction) -%}
    percentile({{ expr }}, {% if fraction is string or fraction is number %}{{ fraction }}{% else %}array({{ fraction | join(', ') }}){% endif %})
{%- endmacro %}


{#- a top-level field of a JSON text, as text -#}
{% macro json_string(json, key) %}{{ return(adapter.dispatch('json_string', 'gpu_finops')(json, key)) }}{% endmacro %}
{% macro default__json_string(json, key) -%}
    json_extract_string({{ json }}, '$.{{ key if key.replace('_', '').isalnum() else '"' ~ key ~ '"' }}')
{%- endmacro %}
{% macro spark__json_string(json, key) %}get_json_object({{ json }}, "$['{{ key }}']"){% endmacro %}


{#- the (key, value) text pairs of a JSON object column, one row each, beside `id` -#}
{% macro json_object_entries(relation, id, json) %}{{ return(adapter.dispatch('json_object_entries', 'gpu_finops')(relation, id, json)) }}{% endmacro %}
{% macro default__json_object_entries(relation, id, json) -%}
    select {{ id }}, entry.key as key, entry.value as value
    from {{ relation }},
    unnest(map_entries(try_cast({{ json }}::json as map(varchar, varchar)))) as t(entry)
{%- endmacro %}
{% macro spark__json_object_entries(relation, id, json) -%}
    select {{ id }}, entries.key, entries.value
    from {{ relation }}
    lateral view explode(from_json({{ json }}, 'map<string,string>')) entries as key, value
{%- endmacro %}


{#- a JSON object (as text) of named values: {'name': 'expression', ...} -#}
{% macro json_object(fields) %}{{ return(adapter.dispatch('json_object', 'gpu_finops')(fields)) }}{% endmacro %}
{% macro default__json_object(fields) -%}
    to_json({ {%- for name, expr in fields.items() %}'{{ name }}': {{ expr }}{{ ', ' if not loop.last }}{% endfor -%} })::varchar
{%- endmacro %}
{% macro spark__json_object(fields) -%}
    to_json(named_struct({%- for name, expr in fields.items() %}'{{ name }}', {{ expr }}{{ ', ' if not loop.last }}{% endfor -%}),
            map('timestampFormat', 'yyyy-MM-dd HH:mm:ss'))
{%- endmacro %}


{#- JSON objects of named values collected over a window, as one JSON array (text) -#}
{% macro json_array_over(fields, window) %}{{ return(adapter.dispatch('json_array_over', 'gpu_finops')(fields, window)) }}{% endmacro %}
{% macro default__json_array_over(fields, window) -%}
    to_json(list({ {%- for name, expr in fields.items() %}'{{ name }}': {{ expr }}{{ ', ' if not loop.last }}{% endfor -%} })
            over ({{ window }}))::varchar
{%- endmacro %}
{% macro spark__json_array_over(fields, window) -%}
    to_json(collect_list(named_struct({%- for name, expr in fields.items() %}'{{ name }}', {{ expr }}{{ ', ' if not loop.last }}{% endfor -%}))
            over ({{ window }}))
{%- endmacro %}


{#- JSON text embedded as JSON (not as a quoted string) in json_object(); Spark needs its shape -#}
{% macro as_json(expr, spark_schema) %}{{ return(adapter.dispatch('as_json', 'gpu_finops')(expr, spark_schema)) }}{% endmacro %}
{% macro default__as_json(expr, spark_schema) %}{{ expr }}::json{% endmacro %}
{% macro spark__as_json(expr, spark_schema) %}from_json({{ expr }}, '{{ spark_schema }}'){% endmacro %}


{#- ISO day of the week: Monday 1 ... Sunday 7 -#}
{% macro iso_day_of_week(ts) %}{{ return(adapter.dispatch('iso_day_of_week', 'gpu_finops')(ts)) }}{% endmacro %}
{% macro default__iso_day_of_week(ts) %}isodow({{ ts }}){% endmacro %}
{% macro spark__iso_day_of_week(ts) %}(weekday({{ ts }}) + 1){% endmacro %}


{#- whole-number division of integers -#}
{% macro integer_divide(numerator, denominator) %}{{ return(adapter.dispatch('integer_divide', 'gpu_finops')(numerator, denominator)) }}{% endmacro %}
{% macro default__integer_divide(numerator, denominator) %}{{ numerator }} // {{ denominator }}{% endmacro %}
{% macro spark__integer_divide(numerator, denominator) %}{{ numerator }} div {{ denominator }}{% endmacro %}


{#- an interval of a (column's) number of days -#}
{% macro days_interval(days) %}{{ return(adapter.dispatch('days_interval', 'gpu_finops')(days)) }}{% endmacro %}
{% macro default__days_interval(days) %}to_days({{ days }}){% endmacro %}
{% macro spark__days_interval(days) %}make_dt_interval({{ days }}){% endmacro %}


{#- the first `n` parts of a delimited text, joined again ('a/b/c/d', '/', 3 -> 'a/b/c') -#}
{% macro leading_parts(expr, delimiter, n) %}{{ return(adapter.dispatch('leading_parts', 'gpu_finops')(expr, delimiter, n)) }}{% endmacro %}
{% macro default__leading_parts(expr, delimiter, n) %}array_to_string(list_slice(string_split({{ expr }}, '{{ delimiter }}'), 1, {{ n }}), '{{ delimiter }}'){% endmacro %}
{% macro spark__leading_parts(expr, delimiter, n) %}array_join(slice(split({{ expr }}, '{{ delimiter }}'), 1, {{ n }}), '{{ delimiter }}'){% endmacro %}


{#- when this dbt invocation started, as a UTC timestamp -#}
{% macro run_started_timestamp() %}{{ return(adapter.dispatch('run_started_timestamp', 'gpu_finops')()) }}{% endmacro %}
{% macro default__run_started_timestamp() %}cast('{{ run_started_at }}' as timestamptz)::timestamp{% endmacro %}
{% macro spark__run_started_timestamp() %}cast('{{ run_started_at }}' as timestamp){% endmacro %}


{#- a row's 64-bit hash as an exact number: summed over rows it is an order-free digest of a set
    (a row added, removed or changed moves the sum). DuckDB's hash() may change with its version:
    an upgrade then rebuilds the incremental models once. -#}
{% macro row_hash(columns) %}{{ return(adapter.dispatch('row_hash', 'gpu_finops')(columns)) }}{% endmacro %}
{% macro default__row_hash(columns) %}cast(hash({{ columns | join(', ') }}) as hugeint){% endmacro %}
{% macro spark__row_hash(columns) %}cast(xxhash64({{ columns | join(', ') }}) as decimal(38, 0)){% endmacro %}
