"""Readers for AWS Cost and Usage Reports: CUR 2.0 (AWS Data Exports, parquet or csv.gz) and
the legacy CUR (csv/csv.gz with `lineItem/UnblendedCost`-style slash headers).

Both are mapped to FOCUS the way AWS's own FOCUS export does it, so amortisation is right:
- BilledCost is the unblended cost of every line, so the canonical total equals the invoice.
- EffectiveCost is the amortised cost: Savings Plan covered usage at its Savings Plan effective
  cost and the negation at zero (the negation only undoes the on-demand charge, it must not
  count twice); RI-covered usage (DiscountedUsage) at the reservation's effective cost; the
  recurring fees of a Savings Plan or RI only for their unused part (the used part already sits
  in the usage it covered); upfront fees at zero (amortised into usage).
Column sets drift from month to month (legacy CUR only writes columns that month used), so the
SQL is built from the columns the file actually has, quoting every name taken from the file.
"""

from __future__ import annotations

import re

from .canonical import INSTANCE_TYPE_PATTERN, SourceSpec
from .detect import FileHeader
from .sqlutil import ident, literal

_CAMEL = re.compile(r"([A-Z])")


def legacy_to_cur2_name(column: str) -> str:
    """`lineItem/UnblendedCost` -> `line_item_unblended_cost`; `reservation/ReservationARN` ->
    `reservation_reservation_a_r_n`, the same rule AWS used to name CUR 2.0's columns."""
    category, _, name = column.partition("/")
    snake = lambda s: _CAMEL.sub(r"_\1", s).lower().lstrip("_")  # noqa: E731
    return f"{snake(category)}_{snake(name)}"


# CUR line item type -> FOCUS ChargeCategory.
_CHARGE_CATEGORY = {
    "Usage": "Usage",
    "DiscountedUsage": "Usage",
    "SavingsPlanCoveredUsage": "Usage",
    "SavingsPlanNegation": "Usage",
    "Fee": "Purchase",
    "RIFee": "Purchase",
    "SavingsPlanRecurringFee": "Purchase",
    "SavingsPlanUpfrontFee": "Purchase",
    "Tax": "Tax",
    "Credit": "Credit",
    "Refund": "Credit",
    "EdpDiscount": "Credit",
    "BundledDiscount": "Credit",
    "PrivateRateDiscount": "Credit",
    "DistributorDiscount": "Credit",
}


def _case_map(expr: str, mapping: dict[str, str], default: str) -> str:
    whens = " ".join(f"WHEN {literal(k)} THEN {literal(v)}" for k, v in mapping.items())
    return f"CASE {expr} {whens} ELSE {default} END"


def _cur_exprs(col, typed: bool, product_map: str | None) -> tuple[dict[str, str], dict[str, str]]:
    """Canonical expressions from CUR 2.0-named inputs. `col(name)` gives a SQL expression for a
    CUR 2.0 column or NULL when the file lacks it."""

    def prod(flat: str, key: str) -> str:
        parts = [col(flat)]
        if product_map:
            parts.append(f"{product_map}[{literal(key)}]")
        return "COALESCE(" + ", ".join(f"NULLIF(CAST({p} AS VARCHAR), '')" for p in parts) + ")"

    def num(name: str) -> str:
        return f"TRY_CAST({col(name)} AS DECIMAL(38, 10))"

    lit = f"NULLIF(TRIM(CAST({col('line_item_line_item_type')} AS VARCHAR)), '')"
    unblended = col("line_item_unblended_cost")
    effective = f"""CASE {lit}
        WHEN 'SavingsPlanCoveredUsage' THEN COALESCE({num('savings_plan_savings_plan_effective_cost')}, {num('line_item_unblended_cost')})
        WHEN 'SavingsPlanNegation' THEN 0
        WHEN 'SavingsPlanUpfrontFee' THEN 0
        WHEN 'SavingsPlanRecurringFee' THEN COALESCE({num('savings_plan_total_commitment_to_date')} - {num('savings_plan_used_commitment')}, {num('line_item_unblended_cost')})
        WHEN 'DiscountedUsage' THEN COALESCE({num('reservation_effective_cost')}, {num('line_item_unblended_cost')})
        WHEN 'RIFee' THEN COALESCE({num('reservation_unused_amortized_upfront_fee_for_billing_period')}, 0) + COALESCE({num('reservation_unused_recurring_fee')}, 0)
        WHEN 'Fee' THEN CASE WHEN NULLIF(CAST({col('reservation_reservation_a_r_n')} AS VARCHAR), '') IS NOT NULL THEN 0 ELSE {num('line_item_unblended_cost')} END
        ELSE {num('line_item_unblended_cost')} END"""
    on_demand = num("pricing_public_on_demand_cost")
    list_cost = f"""CASE WHEN {lit} = 'SavingsPlanNegation' THEN 0
        WHEN {lit} IN ('Usage', 'DiscountedUsage', 'SavingsPlanCoveredUsage') THEN COALESCE({on_demand}, {num('line_item_unblended_cost')})
        ELSE {num('line_item_unblended_cost')} END"""
    contracted = f"""CASE WHEN {lit} = 'SavingsPlanNegation' THEN 0
        WHEN {lit} IN ('DiscountedUsage', 'SavingsPlanCoveredUsage') THEN COALESCE({on_demand}, {num('line_item_unblended_cost')})
        ELSE {num('line_item_unblended_cost')} END"""
    term = f"CAST({col('pricing_term')} AS VARCHAR)"
    sp_arn = f"NULLIF(CAST({col('savings_plan_savings_plan_a_r_n')} AS VARCHAR), '')"
    ri_arn = f"NULLIF(CAST({col('reservation_reservation_a_r_n')} AS VARCHAR), '')"
    commitment_related = "('SavingsPlanCoveredUsage', 'SavingsPlanRecurringFee', 'SavingsPlanUpfrontFee', 'DiscountedUsage', 'RIFee')"
    usage_type = f"CAST({col('line_item_usage_type')} AS VARCHAR)"
    product_code = f"CAST({col('line_item_product_code')} AS VARCHAR)"
    resource_id = f"NULLIF(CAST({col('line_item_resource_id')} AS VARCHAR), '')"
    instance_type = (
        f"COALESCE({prod('product_instance_type', 'instance_type')}, "
        f"NULLIF(REGEXP_EXTRACT({usage_type}, '(ml\\.[a-z0-9]+\\.[a-z0-9]+)', 1), ''), "
        f"NULLIF(REGEXP_EXTRACT({usage_type}, '(?:BoxUsage|SpotUsage|DedicatedUsage|HostUsage|Reservation|UnusedBox):{INSTANCE_TYPE_PATTERN}', 1), ''))"
    )
    exprs = {
        "BillingAccountId": col("bill_payer_account_id"),
        "BillingAccountName": col("bill_payer_account_name"),
        "SubAccountId": col("line_item_usage_account_id"),
        "SubAccountName": col("line_item_usage_account_name"),
        "InvoiceId": col("bill_invoice_id"),
        "InvoiceIssuerName": col("bill_invoicing_entity"),
        "ProviderName": "'AWS'",
        "PublisherName": f"COALESCE(NULLIF(CAST({col('bill_billing_entity')} AS VARCHAR), ''), 'AWS')",
        "BillingCurrency": f"COALESCE(NULLIF(CAST({col('line_item_currency_code')} AS VARCHAR), ''), 'USD')",
        "BillingPeriodStart": col("bill_billing_period_start_date"),
        "BillingPeriodEnd": col("bill_billing_period_end_date"),
        "ChargePeriodStart": col("line_item_usage_start_date"),
        "ChargePeriodEnd": col("line_item_usage_end_date"),
        "ChargeCategory": _case_map(lit, _CHARGE_CATEGORY, "'Usage'"),
        "ChargeClass": f"CASE WHEN {lit} = 'Refund' THEN 'Correction' END",
        "ChargeDescription": col("line_item_line_item_description"),
        "ChargeFrequency": f"""CASE WHEN {lit} IN ('RIFee', 'SavingsPlanRecurringFee') THEN 'Recurring'
            WHEN {lit} IN ('Fee', 'SavingsPlanUpfrontFee') THEN 'One-Time'
            WHEN {lit} IN ('Tax', 'Credit', 'Refund') THEN 'One-Time' ELSE 'Usage-Based' END""",
        "BilledCost": unblended,
        "EffectiveCost": effective,
        "ListCost": list_cost,
        "ContractedCost": contracted,
        "ListUnitPrice": col("pricing_public_on_demand_rate"),
        "ContractedUnitPrice": col("line_item_unblended_rate"),
        "PricingCategory": f"""CASE WHEN {lit} IN ('DiscountedUsage', 'SavingsPlanCoveredUsage') THEN 'Committed'
            WHEN {term} = 'Spot' THEN 'Dynamic' WHEN {term} = 'OnDemand' THEN 'Standard'
            WHEN {term} = 'Reserved' THEN 'Committed' END""",
        "PricingQuantity": col("line_item_usage_amount"),
        "PricingUnit": f"COALESCE(NULLIF(CAST({col('pricing_unit')} AS VARCHAR), ''), {prod('product_pricing_unit', 'pricing_unit')})",
        "ConsumedQuantity": f"CASE WHEN {lit} IN ('Usage', 'DiscountedUsage', 'SavingsPlanCoveredUsage') THEN {col('line_item_usage_amount')} END",
        "ConsumedUnit": f"CASE WHEN {lit} IN ('Usage', 'DiscountedUsage', 'SavingsPlanCoveredUsage') THEN CAST({col('pricing_unit')} AS VARCHAR) END",
        "ServiceName": f"COALESCE({prod('product_product_name', 'product_name')}, {prod('product_servicename', 'servicename')}, {product_code})",
        "ServiceCategory": f"""CASE
            WHEN {product_code} IN ('AmazonSageMaker', 'AmazonBedrock', 'AmazonComprehend') THEN 'AI and Machine Learning'
            WHEN {product_code} IN ('AmazonEC2', 'AWSLambda', 'AmazonECS', 'AmazonEKS', 'AWSBatch') THEN 'Compute'
            WHEN {product_code} IN ('AmazonS3', 'AmazonEFS', 'AmazonFSx', 'AmazonGlacier', 'AWSBackup') THEN 'Storage'
            WHEN {product_code} IN ('AWSDataTransfer', 'AmazonCloudFront', 'AmazonVPC', 'AmazonRoute53') THEN 'Networking'
            WHEN {product_code} IN ('AmazonRDS', 'AmazonDynamoDB', 'AmazonRedshift', 'AmazonElastiCache') THEN 'Databases'
            WHEN {product_code} IN ('AmazonCloudWatch', 'AWSCloudTrail', 'AWSConfig') THEN 'Management and Governance'
            ELSE 'Other' END""",
        "ServiceSubcategory": prod("product_product_family", "product_family"),
        "SkuId": prod("product_sku", "sku"),
        "SkuPriceId": col("pricing_rate_id"),
        "SkuMeter": usage_type,
        "ResourceId": resource_id,
        "ResourceType": f"""CASE
            WHEN {resource_id} LIKE 'i-%' THEN 'EC2 Instance'
            WHEN {resource_id} LIKE 'vol-%' THEN 'EBS Volume'
            WHEN {resource_id} LIKE '%:training-job/%' THEN 'SageMaker Training Job'
            WHEN {resource_id} LIKE '%:endpoint/%' THEN 'SageMaker Endpoint'
            WHEN {resource_id} LIKE '%:notebook-instance/%' THEN 'SageMaker Notebook'
            WHEN {resource_id} LIKE '%:pod/%' THEN 'EKS Pod'
            WHEN {product_code} = 'AmazonS3' AND {resource_id} IS NOT NULL THEN 'S3 Bucket'
            END""",
        "RegionId": f"COALESCE({prod('product_region_code', 'region')}, NULLIF(CAST({col('product_region')} AS VARCHAR), ''))",
        "RegionName": prod("product_location", "location"),
        "AvailabilityZone": col("line_item_availability_zone"),
        "CommitmentDiscountId": f"CASE WHEN {lit} IN {commitment_related} THEN COALESCE({sp_arn}, {ri_arn}) END",
        "CommitmentDiscountCategory": f"CASE WHEN {lit} IN {commitment_related} THEN CASE WHEN {sp_arn} IS NOT NULL THEN 'Spend' WHEN {ri_arn} IS NOT NULL THEN 'Usage' END END",
        "CommitmentDiscountType": f"CASE WHEN {lit} IN {commitment_related} THEN CASE WHEN {sp_arn} IS NOT NULL THEN 'Savings Plan' WHEN {ri_arn} IS NOT NULL THEN 'Reserved Instance' END END",
        "CommitmentDiscountStatus": f"CASE WHEN {lit} IN ('SavingsPlanCoveredUsage', 'DiscountedUsage') THEN 'Used' WHEN {lit} IN ('SavingsPlanRecurringFee', 'RIFee') THEN 'Unused' END",
        "x_instance_type": instance_type,
        "x_usage_type": usage_type,
        "x_line_item_type": lit,
        "x_operation": col("line_item_operation"),
        "x_line_item_id": col("identity_line_item_id"),
        # Split cost allocation data: pod rows (product AmazonEKS, operation EKSPod-EC2, usage
        # types `<region>-EKS-EC2-vCPU-Hours` / `-GB-Hours`, accelerator-hours for GPU pods) carry
        # their share in these columns; their line_item_unblended_cost is not the node's cost,
        # which stays on the EC2 instance's own line (AWS Data Exports user guide, "Understanding
        # split cost allocation data" and "Split line item columns").
        "x_split_parent_resource_id": col("split_line_item_parent_resource_id"),
        "x_split_cost": col("split_line_item_split_cost"),
        "x_split_unused_cost": col("split_line_item_unused_cost"),
        "x_split_net_cost": col("split_line_item_net_split_cost"),
        "x_split_net_unused_cost": col("split_line_item_net_unused_cost"),
        "x_split_usage": col("split_line_item_split_usage"),
        "x_split_usage_ratio": col("split_line_item_split_usage_ratio"),
        "x_split_actual_usage": col("split_line_item_actual_usage"),
        "x_split_reserved_usage": col("split_line_item_reserved_usage"),
    }
    origin = {
        "BillingAccountId": "bill_payer_account_id",
        "BilledCost": "line_item_unblended_cost",
        "EffectiveCost": "line_item_unblended_cost",
        "ListCost": "pricing_public_on_demand_cost",
        "ContractedCost": "line_item_unblended_cost",
        "ChargePeriodStart": "line_item_usage_start_date",
        "ChargePeriodEnd": "line_item_usage_end_date",
    }
    return exprs, origin


def _col_fn(available: dict[str, str]):
    def col(name: str) -> str:
        return available.get(name, "NULL")
    return col


def _distinct_map_keys(con, from_sql: str, map_expr: str) -> list[str]:
    rows = con.execute(
        f"SELECT DISTINCT k FROM (SELECT UNNEST(MAP_KEYS({map_expr})) AS k FROM {from_sql}) WHERE k IS NOT NULL ORDER BY k"
    ).fetchall()
    return [r[0] for r in rows]


PATH_COLUMN = "_finops_path"  # which file a row came from, when one scan reads several


def paths_sql(paths: str | list[str]) -> str:
    paths = [paths] if isinstance(paths, str) else paths
    return "[" + ", ".join(literal(p) for p in paths) + "]"


def parquet_from(paths: str | list[str]) -> str:
    return (f"(SELECT *, file_row_number + 1 AS _row FROM read_parquet({paths_sql(paths)}, "
            f"file_row_number = true, filename = {literal(PATH_COLUMN)}))")


def unique_column_names(columns) -> list[str]:
    """Header names made unique ignoring case (DuckDB's column names are case-insensitive, while
    legacy CUR writes `resourceTags/user:Team` and `resourceTags/user:team` as two columns): the
    second spelling becomes `resourceTags/user:team#2`."""
    seen: dict[str, int] = {}
    out = []
    for c in columns:
        n = seen[c.lower()] = seen.get(c.lower(), 0) + 1
        out.append(c if n == 1 else f"{c}#{n}")
    return out


def csv_rows_from(paths: str | list[str], rejects: str | None = None, names: list[str] | None = None) -> str:
    """One CSV file per scan: ROW_NUMBER() OVER () streams in file order, so record numbers are
    the same on every run (a partitioned window would number rows in arbitrary order)."""
    paths = [paths] if isinstance(paths, str) else paths
    if len(paths) != 1:
        raise ValueError("CSV files are read one per scan so their record numbers are stable")
    return f"(SELECT *, ROW_NUMBER() OVER () AS _row FROM {csv_from(paths, rejects, names)})"


def csv_from(path: str | list[str], rejects: str | None = None, names: list[str] | None = None) -> str:
    """A DuckDB CSV scan that keeps every value as text: ids keep their leading zeros and no
    type is guessed from a sample. Rows DuckDB cannot parse go to a rejects table (quarantined
    by the caller), never silently dropped."""
    opts = (
        "header = true, all_varchar = true, delim = ',', quote = '\"', escape = '\"', "
        f"nullstr = ['', 'NULL'], compression = 'auto', max_line_size = 16777216, filename = {literal(PATH_COLUMN)}"
    )
    if names:
        opts += f", names = [{', '.join(literal(n) for n in names)}]"
    if rejects:
        opts += f", store_rejects = true, rejects_table = {literal(rejects + '_errors')}, rejects_scan = {literal(rejects + '_scans')}"
    return f"read_csv({paths_sql(path)}, {opts})"


def cur2_source(con, path: str | list[str], header: FileHeader, rejects: str | None = None, with_tags: bool = True) -> SourceSpec:
    """AWS CUR 2.0 as AWS Data Exports writes it (2023-11 schema): snake_case columns, `product`,
    `resource_tags`, `cost_category` as MAPs in parquet and as JSON text in CSV."""
    cols = list(header.columns)
    typed = header.container == "parquet"
    from_sql = parquet_from(path) if typed else csv_rows_from(path, rejects)
    available = {c: ident(c) for c in cols}
    tag_map = product_map = None
    extra_rejects: list[tuple[str, str, str, str]] = []
    if "resource_tags" in available:
        tag_map = _as_map(con, from_sql, "resource_tags", typed)
        if tag_map != ident("resource_tags"):  # JSON text (CSV, or parquet without a MAP): it may not parse
            tags_text = "NULLIF(TRIM(CAST(resource_tags AS VARCHAR)), '')"
            extra_rejects.append((
                "resource_tags",
                f"{tags_text} IS NOT NULL AND {tags_text} <> '{{}}' AND {tag_map} IS NULL",
                "resource_tags", "not a JSON object of tag keys and values",
            ))
    if "product" in available:
        product_map = _as_map(con, from_sql, "product", typed)
    exprs, origin = _cur_exprs(_col_fn(available), typed, product_map)
    spec = SourceSpec("cur2", from_sql, exprs, origin, typed, tag_map=tag_map, extra_rejects=extra_rejects)
    if tag_map and with_tags:
        spec.tag_keys = _distinct_map_keys(con, from_sql, tag_map)
    return spec


def _as_map(con, from_sql: str, column: str, typed: bool) -> str:
    if typed:
        kind = con.execute(f"SELECT typeof({ident(column)}) FROM {from_sql} LIMIT 1").fetchone()
        if kind and kind[0].upper().startswith("MAP"):
            return ident(column)
    return f"TRY_CAST(TRY_CAST({ident(column)} AS JSON) AS MAP(VARCHAR, VARCHAR))"


def cur_legacy_source(con, path: str | list[str], header: FileHeader, rejects: str | None = None, with_tags: bool = True) -> SourceSpec:
    """The legacy AWS Cost and Usage Report (CSV, slash headers such as `lineItem/UnblendedCost`,
    `product/instanceType`, `resourceTags/user:team`), as AWS has written it since 2017."""
    names = unique_column_names(header.columns)
    from_sql = csv_rows_from(path, rejects, names)
    available: dict[str, str] = {}
    tag_columns: dict[str, str] = {}
    for c, name in zip(header.columns, names):
        if c.startswith("resourceTags/"):
            tag_columns[c[len("resourceTags/"):]] = ident(name)
        elif "/" in c:
            available.setdefault(legacy_to_cur2_name(c), ident(name))
    exprs, origin = _cur_exprs(_col_fn(available), False, None)
    legacy_names = {legacy_to_cur2_name(c): c for c in header.columns if "/" in c}
    origin = {k: legacy_names.get(v, v) for k, v in origin.items()}
    return SourceSpec(
        "cur_legacy", from_sql, exprs, origin, False,
        tag_columns=tag_columns, tag_keys=sorted(tag_columns),
    )
