"""Load the non-billing landing folders (telemetry, jobs, inference, storage, inventory, budgets)
into raw tables: every file through its reader, rejected records into `<table>_rejects`, and
files that cannot be read at all into `raw.landing_file_errors`, with the reason. Each table is
replaced whole in one transaction (these exports are small next to billing and re-sent whole)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import pyarrow as pa
import pyarrow.compute as pc

from .budgets import BUDGET_SCHEMA, read_budgets_csv
from .errors import IngestError
from .inference import ENDPOINT_METRIC_SCHEMA, REQUEST_SCHEMA, read_cloudwatch_endpoint_metrics_csv, read_request_log_jsonl
from .jobs import JOB_SCHEMA, read_mlflow_runs_csv, read_sagemaker_training_jobs
from .landing import LandingFile, list_files, local_path
from .records import REJECT_SCHEMA
from .sqlutil import ident
from .storage import INVENTORY_SCHEMA, read_s3_inventory
from .telemetry import HOSTS_SCHEMA, SAMPLE_SCHEMA, read_hosts_csv, read_nvidia_smi_csv, read_prometheus_query_range

Reader = Callable[[str, str], tuple[pa.Table, pa.Table]]


@dataclass(frozen=True)
class RawTable:
    table: str                        # raw.<table>
    folder: str                       # landing sub-folder
    readers: tuple[tuple[tuple[str, ...], Reader], ...]  # (file name endings, reader)
    schema: pa.Schema                 # the readers' output, so an empty folder still gives a typed table
    description: str
    # what makes a record the same record: a copy of it in another file (a file delivered twice
    # under two names, overlapping exports) is kept once, from the newest file, and the other
    # copies are listed in the rejects with the file and row they repeat
    key: tuple[str, ...] = ()


RAW_TABLES = [
    RawTable("gpu_samples", "utilization",
             (((".json",), read_prometheus_query_range), ((".csv", ".log"), read_nvidia_smi_csv)), SAMPLE_SCHEMA,
             "GPU telemetry samples: DCGM exporter series from Prometheus query_range JSON and nvidia-smi CSV logs.",
             ("sampled_at", "metric", "hostname", "gpu_uuid", "gpu", "gpu_instance_id", "pod")),
    RawTable("gpu_hosts", "inventory", ((("hosts.csv",), read_hosts_csv),), HOSTS_SCHEMA,
             "GPU host -> billed resource id (inventory/hosts.csv).", ("hostname",)),
    RawTable("jobs", "jobs", (((".csv",), read_mlflow_runs_csv), ((".json",), read_sagemaker_training_jobs)), JOB_SCHEMA,
             "ML jobs: MLflow runs (search_runs CSV) and SageMaker training jobs (DescribeTrainingJob JSON).", ("job_id",)),
    RawTable("inference_requests", "inference", (((".jsonl",), read_request_log_jsonl),), REQUEST_SCHEMA,
             "Inference requests from LiteLLM / OpenAI-usage JSONL logs.", ("request_id",)),
    RawTable("endpoint_metrics", "inference", (((".csv",), read_cloudwatch_endpoint_metrics_csv),), ENDPOINT_METRIC_SCHEMA,
             "SageMaker endpoint metrics exported from CloudWatch (CSV).",
             ("sampled_at", "endpoint_name", "variant_name", "metric")),
    RawTable("s3_inventory", "storage", (((".csv", ".csv.gz", ".parquet"), read_s3_inventory),), INVENTORY_SCHEMA,
             "S3 Inventory reports: one row per object.", ("bucket", "key")),
    RawTable("budgets", "budgets", ((("budgets.csv",), read_budgets_csv),), BUDGET_SCHEMA,
             "Budgets per team and month (budgets.csv).", ("team", "month")),
]
FILE_ERRORS = "raw.landing_file_errors"


@dataclass
class FolderLoad:
    table: str
    files: int
    rows: int
    rejected: int
    bad_files: list[str]
    seconds: float


def _reader_for(spec: RawTable, f: LandingFile) -> Reader | None:
    name = f.name.lower()
    if name == "manifest.json" or name.startswith("."):
        return None
    for endings, reader in spec.readers:
        if name.endswith(endings):
            return reader
    return None


def _keep_once(con, spec: RawTable, goods: list[pa.Table], files: list[LandingFile]) -> tuple[pa.Table, pa.Table]:
    """The records of all files with every key once: the copy in the newest file (latest
    modification, then the later path), first by row; the other copies as rejects. One GROUP BY
    looks for repeats first, so folders without any cost no more than that."""
    newest_first = sorted(range(len(files)), key=lambda i: (files[i].modified, files[i].uri), reverse=True)
    rank = {i: r for r, i in enumerate(newest_first)}
    ranked = pa.concat_tables([
        g.select([*spec.key, "source_row"]).append_column("_rank", pa.array([rank[i]] * g.num_rows, pa.int32()))
        for i, g in enumerate(goods)])
    ranked = ranked.append_column("_i", pa.array(range(ranked.num_rows), pa.int64()))
    keys = ", ".join(ident(k) for k in spec.key)
    con.register("_keyed", ranked)
    try:
        if not con.execute(f"SELECT COUNT(*) FROM (SELECT 1 FROM _keyed GROUP BY {keys} HAVING COUNT(*) > 1 LIMIT 1)").fetchall()[0][0]:
            return pa.concat_tables(goods), REJECT_SCHEMA.empty_table()
        repeats = con.execute(f"""
            SELECT _i, _rank, source_row, kept_rank, kept_row, CONCAT_WS(' | ', {', '.join(f'CAST({ident(k)} AS VARCHAR)' for k in spec.key)})
            FROM (SELECT *, ROW_NUMBER() OVER w AS n, FIRST_VALUE(_rank) OVER w AS kept_rank, FIRST_VALUE(source_row) OVER w AS kept_row
                  FROM _keyed WINDOW w AS (PARTITION BY {keys} ORDER BY _rank, source_row, _i))
            WHERE n > 1 ORDER BY _i""").fetchall()
    finally:
        con.unregister("_keyed")
    uri = {rank[i]: files[i].uri for i in rank}
    drop = pc.is_in(ranked["_i"], pa.array([r[0] for r in repeats], pa.int64()))
    good = pa.concat_tables(goods).filter(pc.invert(drop))
    rejected = pa.table({
        "source_file": [uri[r[1]] for r in repeats], "source_row": [r[2] for r in repeats],
        "column_name": [", ".join(spec.key)] * len(repeats),
        "reason": [f"the same record as row {r[4]} of {uri[r[3]]}: kept once, from the newest file" for r in repeats],
        "raw_value": [r[5][:500] for r in repeats]}, schema=REJECT_SCHEMA)
    return good, rejected


def load_raw_table(con, landing: str, spec: RawTable, log=print, warn=None) -> FolderLoad:
    """`log` gets the progress (a line per file with its rows and seconds, then the totals);
    `warn` (default: `log`) gets one line per file that cannot be read, saying what to do."""
    warn = warn or log
    started = time.monotonic()
    files = [f for f in list_files(landing, spec.folder) if _reader_for(spec, f)]
    goods, rejects, bad, read = [], [], [], []
    for i, f in enumerate(files, 1):
        file_started = time.monotonic()
        try:
            good, rej = _reader_for(spec, f)(local_path(f), f.uri)
        except IngestError as exc:
            bad.append((spec.table, f.uri, str(exc)))
            warn(f"raw.{spec.table} is loaded without an unreadable file: {exc} (listed in {FILE_ERRORS})")
            continue
        log(f"[{i}/{len(files)}] {f.uri}: {good.num_rows:,} rows, {rej.num_rows:,} rejected, "
            f"in {time.monotonic() - file_started:.1f}s")
        goods.append(good)
        rejects.append(rej)
        read.append(f)
    good = pa.concat_tables(goods) if goods else spec.schema.empty_table()
    if spec.key and good.num_rows:
        good, repeated = _keep_once(con, spec, goods, read)
        rejects.append(repeated)
    rej = pa.concat_tables(rejects) if rejects else REJECT_SCHEMA.empty_table()
    con.execute("CREATE SCHEMA IF NOT EXISTS raw")
    con.execute(f"CREATE TABLE IF NOT EXISTS {FILE_ERRORS} (raw_table VARCHAR, source_file VARCHAR, message VARCHAR)")
    con.register("_good", good)
    con.register("_rej", rej)
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(f"CREATE OR REPLACE TABLE raw.{spec.table} AS SELECT * FROM _good")
        con.execute(f"CREATE OR REPLACE TABLE raw.{spec.table}_rejects AS SELECT * FROM _rej")
        con.execute(f"DELETE FROM {FILE_ERRORS} WHERE raw_table = ?", [spec.table])
        if bad:
            con.executemany(f"INSERT INTO {FILE_ERRORS} VALUES (?, ?, ?)", bad)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        con.unregister("_good")
        con.unregister("_rej")
    result = FolderLoad(spec.table, len(files), good.num_rows, rej.num_rows, [b[1] for b in bad], time.monotonic() - started)
    log(f"raw.{spec.table}: {result.files - len(bad)} file(s) read from {spec.folder}/ ({len(bad)} unreadable), "
        f"{result.rows:,} rows, {result.rejected:,} rejected, in {result.seconds:.1f}s")
    return result
