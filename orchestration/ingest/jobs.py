"""Readers for ML job records (CONTRACTS.md, "Jobs") into one job table:

- MLflow: the CSV that `mlflow.search_runs(...).to_csv()` writes (MLflow 2.x; pandas adds an
  unnamed index column first; times as `2026-11-03 10:00:00.123000+00:00`; `params.*`,
  `metrics.*`, `tags.*` columns).
- SageMaker: `DescribeTrainingJob` responses, one JSON object per file or a JSON list, as the AWS
  CLI (ISO-8601 times), boto3 + json.dumps(default=str), or the raw API (epoch seconds) write them.

Statuses are normalised to MLflow's: FINISHED, FAILED, KILLED, RUNNING (SageMaker Completed,
Failed, Stopped, InProgress/Stopping). A record whose end precedes its start, or with no id or
no parseable start, is rejected with the reason; nothing is dropped silently.
"""

from __future__ import annotations

import csv
import io
import json
import math

import pyarrow as pa

from .errors import BadFileError
from .records import RecordSink, csv_file, parse_time, read_json, read_text  # noqa: F401  (parse_time is part of this module's API)

JOB_SCHEMA = pa.schema([
    ("job_id", pa.string()), ("source", pa.string()), ("experiment_id", pa.string()), ("job_name", pa.string()),
    ("status", pa.string()), ("start_time", pa.timestamp("s")), ("end_time", pa.timestamp("s")),
    ("user_name", pa.string()), ("team", pa.string()), ("project", pa.string()), ("resource_id", pa.string()),
    ("hostname", pa.string()), ("instance_type", pa.string()), ("instance_count", pa.int64()), ("gpu_count", pa.int64()),
    ("managed_spot", pa.bool_()), ("billable_seconds", pa.float64()),
    ("params", pa.string()), ("metrics", pa.string()), ("source_file", pa.string()), ("source_row", pa.int64()),
])

_SAGEMAKER_STATUS = {"Completed": "FINISHED", "Failed": "FAILED", "Stopped": "KILLED",
                     "InProgress": "RUNNING", "Stopping": "RUNNING"}
_MLFLOW_STATUS = {"FINISHED", "FAILED", "KILLED", "RUNNING", "SCHEDULED"}


def _int(value) -> int | None:
    try:
        return int(float(value)) if value not in (None, "") else None
    except (TypeError, ValueError, OverflowError):
        return None


def _count(value) -> int | None:
    """A count (GPUs, instances): empty is None; anything but a whole number 0..2^31 raises ValueError."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(value)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(value) from None
    if not math.isfinite(number) or not number.is_integer() or not 0 <= number < 2 ** 31:
        raise ValueError(value)
    return int(number)


def _seconds(value) -> float | None:
    """A duration in seconds: a finite number >= 0, or None when absent; else ValueError."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(value)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(value) from None
    if not math.isfinite(number) or number < 0:
        raise ValueError(value)
    return number


class _Jobs(RecordSink):
    def __init__(self, source_file: str):
        super().__init__(JOB_SCHEMA, source_file)

    def add(self, row, rec: dict, start_raw, end_raw) -> None:  # type: ignore[override]
        if not rec.get("job_id"):
            self.reject(row, "job_id", "record without an id", None)
            return
        try:
            start = parse_time(start_raw)
            end = parse_time(end_raw)
        except (ValueError, OverflowError) as exc:
            self.reject(row, "start_time/end_time", f"not a timestamp: {exc}", f"{start_raw} / {end_raw}")
            return
        if start is None and rec["status"] != "SCHEDULED":
            self.reject(row, "start_time", "job without a start time", start_raw)
            return
        if start and end and end < start:
            self.reject(row, "end_time", "job ends before it starts", f"{start_raw} / {end_raw}")
            return
        super().add(row, dict(rec, start_time=start, end_time=end))


@csv_file
def read_mlflow_runs_csv(path: str, name: str | None = None) -> tuple[pa.Table, pa.Table]:
    name = name or path
    reader = csv.reader(io.StringIO(read_text(path, name, "MLflow runs CSV")))
    header = next(reader, None)
    if header is None:
        raise BadFileError(name, "the file is empty")
    for required in ("run_id", "status", "start_time"):
        if required not in header:
            raise BadFileError(name, "MLflow runs CSV without a required column", required)
    out = _Jobs(name)
    for row_no, values in enumerate(reader, start=1):
        if len(values) != len(header):
            out.reject(row_no, "(row)", f"expected {len(header)} values, found {len(values)}", ",".join(values))
            continue
        r = dict(zip(header, values))
        status = (r.get("status") or "").strip().upper()
        if status not in _MLFLOW_STATUS:
            out.reject(row_no, "status", "not an MLflow run status", r.get("status"))
            continue
        params = {k[len("params."):]: v for k, v in r.items() if k.startswith("params.") and v != ""}
        metrics = {}
        for k, v in r.items():
            if k.startswith("metrics.") and v != "":
                try:
                    number = float(v)
                except ValueError:
                    continue
                if math.isfinite(number):  # the column is JSON: NaN and Infinity are not numbers there
                    metrics[k[len("metrics."):]] = number
        tag = lambda k: (r.get(f"tags.{k}") or "").strip() or None  # noqa: E731
        try:
            counts = {k: _count(tag(k)) for k in ("instance_count", "gpu_count")}
        except ValueError:
            bad = next(k for k in ("instance_count", "gpu_count") if not _is_count(tag(k)))
            out.reject(row_no, f"tags.{bad}", "not a whole number of 0 or more", tag(bad))
            continue
        out.add(row_no, {
            "job_id": (r.get("run_id") or "").strip(), "source": "mlflow", "experiment_id": r.get("experiment_id") or None,
            "job_name": tag("mlflow.runName"), "status": status, "user_name": tag("mlflow.user"),
            "team": tag("team"), "project": tag("project"), "resource_id": tag("resource_id"),
            "hostname": tag("hostname") or tag("host"), "instance_type": tag("instance_type"),
            "instance_count": counts["instance_count"] or 1,
            "gpu_count": counts["gpu_count"], "managed_spot": (tag("spot") or "").lower() in ("true", "1", "yes"),
            "billable_seconds": None, "params": json.dumps(params, sort_keys=True),
            "metrics": json.dumps(metrics, sort_keys=True),
        }, r.get("start_time"), r.get("end_time"))
    return out.tables()


def read_sagemaker_training_jobs(path: str, name: str | None = None) -> tuple[pa.Table, pa.Table]:
    name = name or path
    doc = read_json(path, name, "DescribeTrainingJob JSON")
    summaries = doc.get("TrainingJobSummaries") if isinstance(doc, dict) else None
    records = doc if isinstance(doc, list) else summaries if isinstance(summaries, list) else [doc] if isinstance(doc, dict) else None
    if records is None:
        raise BadFileError(name, "expected a DescribeTrainingJob object or a list of them")
    out = _Jobs(name)
    for row_no, job in enumerate(records, start=1):
        if not isinstance(job, dict) or not isinstance(job.get("TrainingJobName"), str):
            out.reject(row_no, "TrainingJobName", "not a DescribeTrainingJob record", json.dumps(job, default=str)[:200])
            continue
        raw_status = job.get("TrainingJobStatus")
        status = _SAGEMAKER_STATUS.get(raw_status) if isinstance(raw_status, str) else None
        if status is None:
            out.reject(row_no, "TrainingJobStatus", "unknown training job status", raw_status)
            continue
        resources = _obj(job.get("ResourceConfig"))
        try:
            instance_count = _count(resources.get("InstanceCount"))
        except ValueError:
            out.reject(row_no, "ResourceConfig.InstanceCount", "not a whole number of 0 or more", resources.get("InstanceCount"))
            continue
        try:
            billable = _seconds(job.get("BillableTimeInSeconds"))
        except ValueError:
            out.reject(row_no, "BillableTimeInSeconds", "not a number of seconds >= 0", job.get("BillableTimeInSeconds"))
            continue
        tag_list = job.get("Tags") if isinstance(job.get("Tags"), list) else []
        tags = {t.get("Key"): t.get("Value") for t in tag_list if isinstance(t, dict) and isinstance(t.get("Key"), str)}
        tag = lambda k: next((v for kk, v in tags.items() if kk and kk.lower() in (k, f"user:{k}")), None)  # noqa: E731
        metric_list = job.get("FinalMetricDataList") if isinstance(job.get("FinalMetricDataList"), list) else []
        out.add(row_no, {
            "job_id": job.get("TrainingJobArn") or job["TrainingJobName"], "source": "sagemaker",
            "experiment_id": _obj(job.get("ExperimentConfig")).get("ExperimentName"),
            "job_name": job["TrainingJobName"], "status": status, "user_name": tag("user"),
            "team": tag("team"), "project": tag("project"), "resource_id": job.get("TrainingJobArn"),
            "instance_type": resources.get("InstanceType"), "instance_count": instance_count or 1,
            "gpu_count": None, "managed_spot": bool(job.get("EnableManagedSpotTraining")),
            "billable_seconds": billable,
            "params": json.dumps(job.get("HyperParameters") or {}, sort_keys=True, default=str), "metrics": json.dumps(
                {m["MetricName"]: m.get("Value") for m in metric_list
                 if isinstance(m, dict) and isinstance(m.get("MetricName"), str)}, sort_keys=True, default=str),
        }, job.get("TrainingStartTime"), job.get("TrainingEndTime"))
    return out.tables()


def _obj(value) -> dict:
    """A JSON object, or {} for anything else (a field that should hold one but does not)."""
    return value if isinstance(value, dict) else {}


def _is_count(value) -> bool:
    try:
        _count(value)
        return True
    except ValueError:
        return False
