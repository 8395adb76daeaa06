"""Telemetry, jobs, inference, storage, inventory and budget landing folders as raw tables."""

import dagster as dg

from ..ingest.folders import FILE_ERRORS, RAW_TABLES, RawTable, load_raw_table
from ..resources import LandingResource, WarehouseResource


def _raw_table_asset(spec: RawTable) -> dg.AssetsDefinition:
    key = dg.AssetKey(["raw", spec.table])

    @dg.asset(
        key=key,
        group_name="workloads",
        kinds={"python", "duckdb"},
        pool="duckdb_warehouse",
        description=f"{spec.description} Rebuilt from landing/{spec.folder}; rejected records in raw.{spec.table}_rejects.",
        check_specs=[dg.AssetCheckSpec("all_files_readable", asset=key,
                                       description=f"Every file in landing/{spec.folder} could be read.")],
    )
    def _load(context: dg.AssetExecutionContext, warehouse: WarehouseResource, landing: LandingResource):
        with warehouse.connect() as con:
            result = load_raw_table(con, landing.uri, spec, log=context.log.info, warn=context.log.warning)
        return dg.MaterializeResult(
            metadata={"files": result.files, "rows": result.rows, "rows_rejected": result.rejected,
                      "seconds": round(result.seconds, 2)},
            check_results=[dg.AssetCheckResult(
                check_name="all_files_readable", passed=not result.bad_files,
                severity=dg.AssetCheckSeverity.WARN,
                metadata={"unreadable_files": dg.MetadataValue.md(
                    "\n".join(f"- `{f}`" for f in result.bad_files) or "none"), "details_in": FILE_ERRORS},
            )],
        )

    return _load


raw_table_assets = [_raw_table_asset(spec) for spec in RAW_TABLES]
