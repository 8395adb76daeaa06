"""The canonical billing table: FOCUS 1.2 column names plus the `x_` extensions and the flattened
tags of CONTRACTS.md. Every billing reader produces exactly these columns.

A reader describes its file as a `SourceSpec` (a FROM clause plus one SQL expression per
canonical column and the source column each came from); `canonical_select` turns that into one
DuckDB SELECT that casts, derives and validates. Casting happens in DuckDB, streaming, so a month
of line items never has to fit in Python.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..config import GPU_CATALOG_CSV
from ..policy import TAG_COLUMNS, TaggingPolicy, normalise_tag_key
from .sqlutil import ident, literal

MONEY = "DECIMAL(38, 10)"
QUANTITY = "DOUBLE"

# (column, type). Order is the table's column order.
CANONICAL_COLUMNS: list[tuple[str, str]] = [
    ("BillingAccountId", "VARCHAR"),
    ("BillingAccountName", "VARCHAR"),
    ("BillingAccountType", "VARCHAR"),
    ("SubAccountId", "VARCHAR"),
    ("SubAccountName", "VARCHAR"),
    ("SubAccountType", "VARCHAR"),
    ("InvoiceId", "VARCHAR"),
    ("InvoiceIssuerName", "VARCHAR"),
    ("ProviderName", "VARCHAR"),
    ("PublisherName", "VARCHAR"),
    ("BillingCurrency", "VARCHAR"),
    ("BillingPeriodStart", "TIMESTAMP"),
    ("BillingPeriodEnd", "TIMESTAMP"),
    ("ChargePeriodStart", "TIMESTAMP"),
    ("ChargePeriodEnd", "TIMESTAMP"),
    ("ChargeCategory", "VARCHAR"),
    ("ChargeClass", "VARCHAR"),
    ("ChargeDescription", "VARCHAR"),
    ("ChargeFrequency", "VARCHAR"),
    ("BilledCost", MONEY),
    ("EffectiveCost", MONEY),
    ("ListCost", MONEY),
    ("ContractedCost", MONEY),
    ("ListUnitPrice", MONEY),
    ("ContractedUnitPrice", MONEY),
    ("PricingCategory", "VARCHAR"),
    ("PricingQuantity", QUANTITY),
    ("PricingUnit", "VARCHAR"),
    ("ConsumedQuantity", QUANTITY),
    ("ConsumedUnit", "VARCHAR"),
    ("ServiceName", "VARCHAR"),
    ("ServiceCategory", "VARCHAR"),
    ("ServiceSubcategory", "VARCHAR"),
    ("SkuId", "VARCHAR"),
    ("SkuPriceId", "VARCHAR"),
    ("SkuMeter", "VARCHAR"),
    ("ResourceId", "VARCHAR"),
    ("ResourceName", "VARCHAR"),
    ("ResourceType", "VARCHAR"),
    ("RegionId", "VARCHAR"),
    ("RegionName", "VARCHAR"),
    ("AvailabilityZone", "VARCHAR"),
    ("CommitmentDiscountId", "VARCHAR"),
    ("CommitmentDiscountName", "VARCHAR"),
    ("CommitmentDiscountCategory", "VARCHAR"),
    ("CommitmentDiscountType", "VARCHAR"),
    ("CommitmentDiscountStatus", "VARCHAR"),
    ("CommitmentDiscountQuantity", QUANTITY),
    ("CommitmentDiscountUnit", "VARCHAR"),
    ("CapacityReservationId", "VARCHAR"),
    ("CapacityReservationStatus", "VARCHAR"),
    ("Tags", "VARCHAR"),
    ("x_instance_type", "VARCHAR"),
    ("x_gpu_count", "INTEGER"),
    ("x_gpu_model", "VARCHAR"),
    ("x_usage_type", "VARCHAR"),
    ("x_line_item_type", "VARCHAR"),
    ("x_operation", "VARCHAR"),
    ("x_line_item_id", "VARCHAR"),
    ("x_billing_period", "VARCHAR"),
    ("x_source_format", "VARCHAR"),
    ("x_source_file", "VARCHAR"),
    ("x_source_row", "BIGINT"),
    ("x_ingested_at", "TIMESTAMP"),
    # AWS split cost allocation data (EKS / ECS): set on pod and task rows only, NULL elsewhere.
    # Pod rows bill nothing themselves (their BilledCost is the line item's own, zero); the cost
    # they split stays on the parent instance's line, so these columns never add to the bill.
    ("x_split_parent_resource_id", "VARCHAR"),
    ("x_split_cost", MONEY),
    ("x_split_unused_cost", MONEY),
    ("x_split_net_cost", MONEY),
    ("x_split_net_unused_cost", MONEY),
    ("x_split_usage", QUANTITY),
    ("x_split_usage_ratio", QUANTITY),
    ("x_split_actual_usage", QUANTITY),
    ("x_split_reserved_usage", QUANTITY),
    ("team", "VARCHAR"),
    ("project", "VARCHAR"),
    ("job_type", "VARCHAR"),
    ("experiment_id", "VARCHAR"),
    ("env", "VARCHAR"),
]
CANONICAL_NAMES = [c for c, _ in CANONICAL_COLUMNS]
CANONICAL_TYPES = dict(CANONICAL_COLUMNS)
MONEY_COLUMNS = [c for c, t in CANONICAL_COLUMNS if t == MONEY]
# Columns a reader fills itself; the rest are derived here.
DERIVED = {"x_gpu_count", "x_gpu_model", "x_billing_period", "x_source_format", "x_source_file",
           "x_source_row", "x_ingested_at", *TAG_COLUMNS}

# Instance types hide in usage types and descriptions: `USE1-BoxUsage:p4d.24xlarge`,
# `ml.g5.2xlarge-Training`, "$3.06 per On Demand Linux p3.2xlarge Instance Hour".
INSTANCE_TYPE_PATTERN = (
    r"((?:ml\.)?[a-z][a-z0-9-]*\.(?:nano|micro|small|medium|large|metal|[0-9]*xlarge)(?:-[0-9a-z]+)?)"
)


@dataclass
class SourceSpec:
    """How to read one file into canonical columns.

    from_sql: a FROM item yielding the file's rows, with a `_row` column (1-based record number).
    exprs: canonical column -> SQL expression over the FROM item (missing ones become NULL).
    origin: canonical column -> the source column name it came from (for quarantine messages).
    typed: the source carries real types (parquet) rather than text (CSV).
    tag_map: SQL expression of a MAP(VARCHAR, VARCHAR) of the row's tags, or None.
    tag_columns: for formats with one column per tag (legacy CUR): tag key -> SQL expression.
    tag_keys: every tag key present in the file (to build case-insensitive lookups).
    extra_rejects: (source column, condition SQL, raw value SQL, reason) rules of the format.
    """

    format_label: str
    from_sql: str
    exprs: dict[str, str]
    origin: dict[str, str]
    typed: bool
    tag_map: str | None = None
    tag_columns: dict[str, str] = field(default_factory=dict)
    tag_keys: list[str] = field(default_factory=list)
    extra_rejects: list[tuple[str, str, str, str]] = field(default_factory=list)


def money(expr: str) -> str:
    """Text or double -> DECIMAL; NULL when it is not a finite number that fits."""
    return f"TRY_CAST({expr} AS {MONEY})"


def quantity(expr: str) -> str:
    return f"TRY_CAST({expr} AS {QUANTITY})"


def timestamp(expr: str, typed: bool) -> str:
    """Any ISO-8601 form (with `Z`, an offset or none: UTC assumed) -> naive UTC TIMESTAMP.
    A typed (parquet) column of text is read like CSV text; COALESCE only parses the rows the
    typed cast left NULL, so real timestamp columns cost nothing more."""
    text = f"TRIM(CAST({expr} AS VARCHAR))"
    if typed:
        return f"COALESCE(CAST(TRY_CAST({expr} AS TIMESTAMPTZ) AT TIME ZONE 'UTC' AS TIMESTAMP), {timestamp(expr, False)})"
    return (
        f"CAST(COALESCE(TRY_CAST({text} AS TIMESTAMPTZ), "
        f"CAST(TRY_STRPTIME({text}, ['%Y/%m/%d %H:%M:%S', '%m/%d/%Y %H:%M:%S', '%m/%d/%Y %H:%M', "
        f"'%Y-%m-%dT%H:%M:%S.%gZ', '%Y%m%dT%H%M%SZ']) AS TIMESTAMPTZ)) AT TIME ZONE 'UTC' AS TIMESTAMP)"
    )


def text(expr: str) -> str:
    """Any value -> trimmed VARCHAR, empty string as NULL."""
    return f"NULLIF(TRIM(CAST({expr} AS VARCHAR)), '')"


def varchar(expr: str, typed: bool) -> str:
    """parquet strings are already strings; CSV text gets trimmed. Empty means NULL."""
    return f"NULLIF(CAST({expr} AS VARCHAR), '')" if typed else text(expr)


# A billing period starts at midnight on the 1st in the biller's zone; written with an offset
# (`2026-10-01T00:00:00+02:00`) that is up to 14 hours before the month in UTC (UTC+14 is the
# furthest zone), so the period is the month of the start plus 14 hours.
PERIOD_START_SLACK = "INTERVAL 14 HOUR"


def billing_period_expr(spec: SourceSpec) -> str:
    """`YYYY-MM` of the billing period, or of the charge when the file has no billing period."""
    bps = timestamp(spec.exprs["BillingPeriodStart"], spec.typed) if "BillingPeriodStart" in spec.exprs else "NULL"
    cps = timestamp(spec.exprs["ChargePeriodStart"], spec.typed) if "ChargePeriodStart" in spec.exprs else "NULL"
    return f"STRFTIME(COALESCE({bps} + {PERIOD_START_SLACK}, DATE_TRUNC('month', {cps})), '%Y-%m')"


def probe_select(spec: SourceSpec) -> str:
    """Rows and billed cost per (billing period, billing account), as the file states them:
    the least a planner needs, computed without the rest of the canonical columns."""
    account = varchar(spec.exprs["BillingAccountId"], spec.typed) if "BillingAccountId" in spec.exprs else "NULL"
    billed = money(spec.exprs["BilledCost"]) if "BilledCost" in spec.exprs else "NULL"
    return f"""SELECT {billing_period_expr(spec)} AS period, COALESCE({account}, '') AS account,
                      COUNT(*) AS line_items, SUM({billed}) AS billed_cost
               FROM {spec.from_sql} GROUP BY ALL ORDER BY 3 DESC, 1, 2"""


def tag_lookup_exprs(spec: SourceSpec, policy: TaggingPolicy) -> dict[str, str]:
    """One expression per canonical tag column, trying matching keys in policy order."""
    out: dict[str, str] = {}
    for column in TAG_COLUMNS:
        aliases = policy.keys[column]
        ranked = []
        for key in spec.tag_keys:
            norm = normalise_tag_key(key, policy.prefixes)
            if norm in aliases:
                # precedence: alias order, then prefixed (`user_team`) before bare, then the key
                prefixed = key.strip().lower() != norm
                ranked.append((aliases.index(norm), not prefixed, key))
        ranked.sort()
        lookups = []
        for _, _, key in ranked:
            if spec.tag_columns:
                lookups.append(text(spec.tag_columns[key]))
            elif spec.tag_map:
                lookups.append(text(f"{spec.tag_map}[{literal(key)}]"))
        out[column] = f"COALESCE({', '.join(lookups)})" if lookups else "CAST(NULL AS VARCHAR)"
    return out


def tags_json_expr(spec: SourceSpec) -> str:
    """The row's tags as a JSON object (FOCUS `Tags`), empty values left out."""
    if spec.tag_columns:
        entries = ", ".join(
            f"{{'k': {literal(k)}, 'v': {text(e)}}}" for k, e in sorted(spec.tag_columns.items())
        )
        m = f"MAP_FROM_ENTRIES(LIST_FILTER([{entries}], lambda x: x.v IS NOT NULL))"
        return f"CASE WHEN CARDINALITY({m}) = 0 THEN NULL ELSE CAST(TO_JSON({m}) AS VARCHAR) END"
    if spec.tag_map:
        m = spec.tag_map
        return f"CASE WHEN {m} IS NULL OR CARDINALITY({m}) = 0 THEN NULL ELSE CAST(TO_JSON({m}) AS VARCHAR) END"
    return "CAST(NULL AS VARCHAR)"


def _per_file(files: dict[str, tuple[str, str, str | None]], i: int, cast: str = "VARCHAR") -> str:
    """A value per source file: CASE _finops_path WHEN <local path> THEN <value> ... END."""
    whens = " ".join(
        f"WHEN {literal(path)} THEN {literal(meta[i]) if meta[i] is not None else 'NULL'}"
        for path, meta in sorted(files.items())
    )
    return f"CAST(CASE _finops_path {whens} END AS {cast})"


def canonical_select(
    spec: SourceSpec,
    policy: TaggingPolicy,
    *,
    files: dict[str, tuple[str, str, str | None]],
) -> str:
    """One SELECT over the files of `spec` (same format and header): canonical columns plus
    `_reject_column`, `_reject_reason`, `_reject_value` (NULL for good rows) and
    `_landing_billed_cost` (the cost as the file states it, NULL where it does not parse).
    `files` maps each local path to (source URI, delivered-at timestamp, home billing period)."""
    e = dict(spec.exprs)
    base: list[str] = []
    for name, typ in CANONICAL_COLUMNS:
        if name in DERIVED:
            continue
        expr = e.get(name)
        if name == "Tags" and expr is None:
            base.append(f"{tags_json_expr(spec)} AS Tags")  # FOCUS `Tags` rebuilt from CUR tag columns / maps
        elif expr is None:
            base.append(f"CAST(NULL AS {typ}) AS {name}")
        elif typ == MONEY:
            base.append(f"{money(expr)} AS {name}")
        elif typ == QUANTITY:
            base.append(f"{quantity(expr)} AS {name}")
        elif typ == "TIMESTAMP":
            base.append(f"{timestamp(expr, spec.typed)} AS {name}")
        elif typ == "VARCHAR" and name != "Tags":
            base.append(f"{varchar(expr, spec.typed)} AS {name}")
        else:
            base.append(f"CAST({expr} AS {typ}) AS {name}")
    tags = tag_lookup_exprs(spec, policy)
    base += [f"{expr} AS {col}" for col, expr in tags.items()]
    base.append("_row AS x_source_row")
    base.append("_finops_path")

    # Raw values the reject rules quote back to the user.
    # Text sources keep the raw text for the quarantine; typed (parquet) sources keep the typed
    # value and only turn it into text for rows that are rejected (casting every double to text
    # would double the cost of a load).
    raw = {c: (e[c] if spec.typed else f"CAST({e[c]} AS VARCHAR)") for c in e}
    base += [f"{raw[c]} AS _raw_{c}" for c in ("BilledCost", "EffectiveCost", "ListCost",
                                                 "ContractedCost", "ChargePeriodStart",
                                                 "ChargePeriodEnd", "BillingAccountId")
             if c in raw]
    for i, (_, _, value_sql, _) in enumerate(spec.extra_rejects):
        base.append(f"{value_sql} AS _xraw_{i}")
    for i, (_, cond_sql, _, _) in enumerate(spec.extra_rejects):
        base.append(f"({cond_sql}) AS _xbad_{i}")

    def origin(c: str) -> str:
        return spec.origin.get(c, c)

    rules: list[tuple[str, str, str, str]] = []  # (source column, condition, raw value, reason)
    for c in ("BilledCost", "EffectiveCost", "ListCost", "ContractedCost"):
        if c not in raw:
            if c == "BilledCost":
                rules.append((origin(c), "TRUE", "NULL", "the cost column is missing"))
            continue
        if spec.typed:
            # DuckDB folds `TRY_CAST(x AS DECIMAL) IS NULL` to false from parquet statistics,
            # which leave NaN out: a NaN or infinite double is caught on the double itself.
            as_double = f"TRY_CAST(_raw_{c} AS DOUBLE)"
            bad = f"_raw_{c} IS NOT NULL AND (t.{c} IS NULL OR NOT isfinite({as_double}))"
        else:
            bad = f"_raw_{c} IS NOT NULL AND TRIM(_raw_{c}) <> '' AND t.{c} IS NULL"
        rules.append((origin(c), bad,
                      f"_raw_{c}", "not a finite decimal number that fits DECIMAL(38,10)"))
    rules.append((origin("BilledCost"), "t.BilledCost IS NULL", "_raw_BilledCost" if "BilledCost" in raw else "NULL",
                  "required cost is empty"))
    if "ChargePeriodStart" in raw:
        rules.append((origin("ChargePeriodStart"), "t.ChargePeriodStart IS NULL", "_raw_ChargePeriodStart",
                      "missing or not a timestamp"))
    if "ChargePeriodEnd" in raw:
        rules.append((origin("ChargePeriodEnd"),
                      "t.ChargePeriodEnd IS NOT NULL AND t.ChargePeriodEnd < t.ChargePeriodStart",
                      "_raw_ChargePeriodEnd", "charge period ends before it starts"))
    rules.append((origin("BillingAccountId"), "t.BillingAccountId IS NULL",
                  "_raw_BillingAccountId" if "BillingAccountId" in raw else "NULL", "billing account is empty"))
    for i, (col, _, _, reason) in enumerate(spec.extra_rejects):
        rules.append((col, f"_xbad_{i}", f"_xraw_{i}", reason))

    reject_column = "CASE " + " ".join(f"WHEN {c} THEN {literal(col)}" for col, c, _, _ in rules) + " END"
    reject_reason = "CASE " + " ".join(f"WHEN {c} THEN {literal(r)}" for _, c, _, r in rules) + " END"
    reject_value = "CASE " + " ".join(f"WHEN {c} THEN LEFT(CAST({v} AS VARCHAR), 500)" for _, c, v, _ in rules) + " END"
    landing_billed = money("_raw_BilledCost") if "BilledCost" in raw else f"CAST(NULL AS {MONEY})"

    return f"""
WITH src AS (SELECT * FROM {spec.from_sql}),
t AS (SELECT {', '.join(base)} FROM src)
SELECT t.* EXCLUDE ({', '.join(c for c in _helper_columns(spec, raw) + ["_finops_path"])}),
    COALESCE(STRFTIME(COALESCE(t.BillingPeriodStart + {PERIOD_START_SLACK}, DATE_TRUNC('month', t.ChargePeriodStart)), '%Y-%m'),
             {_per_file(files, 2)}) AS x_billing_period,
    c.gpu_count AS x_gpu_count,
    c.gpu_model AS x_gpu_model,
    {literal(spec.format_label)} AS x_source_format,
    {_per_file(files, 0)} AS x_source_file,
    {_per_file(files, 1, "TIMESTAMP")} AS x_ingested_at,
    {reject_column} AS _reject_column,
    {reject_reason} AS _reject_reason,
    {reject_value} AS _reject_value,
    {landing_billed} AS _landing_billed_cost
FROM t
LEFT JOIN _gpu_catalog c ON c.instance_type_lc = LOWER(t.x_instance_type)
"""


def _helper_columns(spec: SourceSpec, raw: dict[str, str]) -> list[str]:
    cols = [f"_raw_{c}" for c in ("BilledCost", "EffectiveCost", "ListCost", "ContractedCost",
                                   "ChargePeriodStart", "ChargePeriodEnd", "BillingAccountId") if c in raw]
    for i in range(len(spec.extra_rejects)):
        cols += [f"_xraw_{i}", f"_xbad_{i}"]
    return cols


def register_gpu_catalog(con) -> None:
    """A per-connection temp table of the GPU catalog; SageMaker `ml.` types fall back to the
    EC2 type's GPUs when the catalog has no `ml.` row of their own."""
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _gpu_catalog AS
        WITH cat AS (SELECT * FROM read_csv({literal(str(GPU_CATALOG_CSV))}, header = true, all_varchar = true))
        SELECT LOWER(instance_type) AS instance_type_lc, CAST(gpu_count AS INTEGER) AS gpu_count, gpu_model FROM cat
        UNION ALL
        SELECT 'ml.' || LOWER(instance_type), CAST(gpu_count AS INTEGER), gpu_model FROM cat
        WHERE provider = 'AWS' AND instance_type NOT LIKE 'ml.%'
          AND 'ml.' || LOWER(instance_type) NOT IN (SELECT LOWER(instance_type) FROM cat)
        """
    )


def ddl(table: str) -> str:
    cols = ",\n  ".join(f"{ident(c)} {t}" for c, t in CANONICAL_COLUMNS)
    return f"CREATE TABLE IF NOT EXISTS {table} (\n  {cols}\n)"
