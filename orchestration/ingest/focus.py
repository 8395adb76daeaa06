"""Reader for FinOps Foundation FOCUS cost-and-usage exports, versions 1.0 to 1.3, from any
provider (AWS Data Exports FOCUS, Azure Cost Management FOCUS export, Google Cloud FOCUS BigQuery
view exported to CSV/parquet, OCI, and generators validated by the focus-validator).

FOCUS columns keep their names; `Tags` (a JSON object) is parsed into the tag columns by the
tagging policy, and provider extensions (`x_*`) are searched for an instance type.
"""

from __future__ import annotations

from .canonical import CANONICAL_NAMES, INSTANCE_TYPE_PATTERN, SourceSpec
from .cur import _as_map, csv_rows_from, parquet_from
from .detect import FileHeader, focus_version
from .sqlutil import ident

# Provider extension columns that carry an instance type, lower-cased.
_INSTANCE_TYPE_EXTENSIONS = ("x_instancetype", "x_instance_type", "x_skuinstancetype", "x_vmsize")


def focus_source(con, path: str | list[str], header: FileHeader, rejects: str | None = None, with_tags: bool = True) -> SourceSpec:
    cols = list(header.columns)
    typed = header.container == "parquet"
    from_sql = parquet_from(path) if typed else csv_rows_from(path, rejects)
    present = set(cols)
    exprs = {name: ident(name) for name in CANONICAL_NAMES if name in present and name != "Tags"}

    # Instance type: SkuPriceDetails.InstanceType (FOCUS 1.1+), a provider extension column,
    # or the charge description ("... per On Demand Linux g4dn.xlarge Instance Hour").
    candidates = []
    if "SkuPriceDetails" in present:
        candidates.append(
            "NULLIF(TRIM(TRY_CAST(SkuPriceDetails AS JSON) ->> 'InstanceType'), '')"
            if not typed else "NULLIF(TRIM(TRY_CAST(CAST(SkuPriceDetails AS VARCHAR) AS JSON) ->> 'InstanceType'), '')"
        )
    lower_cols = {c.lower(): c for c in cols}
    for ext in _INSTANCE_TYPE_EXTENSIONS:
        if ext in lower_cols:
            candidates.append(f"NULLIF(TRIM(CAST({ident(lower_cols[ext])} AS VARCHAR)), '')")
    if "ChargeDescription" in present:
        candidates.append(
            f"NULLIF(REGEXP_EXTRACT(CAST(ChargeDescription AS VARCHAR), '\\b{INSTANCE_TYPE_PATTERN}\\b', 1), '')"
        )
    if candidates:
        exprs["x_instance_type"] = f"COALESCE({', '.join(candidates)})"
    for ext, target in (("x_usagetype", "x_usage_type"), ("x_operation", "x_operation")):
        if ext in lower_cols:
            exprs[target] = ident(lower_cols[ext])

    tag_map = None
    extra_rejects: list[tuple[str, str, str, str]] = []
    if "Tags" in present:
        # JSON text in CSV; in parquet a MAP (AWS Data Exports FOCUS), a struct or JSON text
        tag_map = _as_map(con, from_sql, "Tags", typed)
        if tag_map != ident("Tags"):
            extra_rejects.append((
                "Tags",
                f"NULLIF(TRIM(CAST(Tags AS VARCHAR)), '') IS NOT NULL AND {tag_map} IS NULL",
                "CAST(Tags AS VARCHAR)", "not a JSON object of tag keys and values",
            ))
    spec = SourceSpec(
        f"focus-{focus_version(tuple(cols))}", from_sql, exprs, {}, typed,
        tag_map=tag_map, extra_rejects=extra_rejects,
    )
    if tag_map and with_tags:
        rows = con.execute(
            f"SELECT DISTINCT k FROM (SELECT UNNEST(MAP_KEYS({tag_map})) AS k FROM {from_sql}) "
            "WHERE k IS NOT NULL ORDER BY k"
        ).fetchall()
        spec.tag_keys = [r[0] for r in rows]
    return spec
