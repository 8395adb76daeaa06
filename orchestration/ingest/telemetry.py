"""Readers for GPU telemetry (CONTRACTS.md, "GPU utilization"): plain functions from one landing
file to a long Arrow table of samples plus a table of rejected samples (file, row, column,
reason, raw value). Nothing is dropped silently.

- Prometheus HTTP API `/api/v1/query_range` responses (`resultType: matrix`) for NVIDIA DCGM
  exporter series (dcgm-exporter 3.x/4.x labels: gpu, UUID, modelName, Hostname, and on Kubernetes
  namespace, pod, container; MIG adds GPU_I_ID and GPU_I_PROFILE).
- nvidia-smi CSV as `nvidia-smi --query-gpu=timestamp,name,uuid,utilization.gpu,utilization.memory,
  memory.used,memory.total,power.draw --format=csv -l N` writes it (driver 470-570): headers with
  units in brackets (`utilization.gpu [%]`), values with units (`87 %`, `30000 MiB`, `250.12 W`),
  timestamps `YYYY/MM/DD HH:MM:SS.mmm` in the host's local time (taken as UTC unless a zone is set).
- inventory/hosts.csv: hostname,resource_id.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa

from .errors import BadFileError
from .records import RecordSink, csv_file, parse_time, read_json, read_text

SAMPLE_SCHEMA = pa.schema([
    ("sampled_at", pa.timestamp("s")),      # UTC
    ("metric", pa.string()),                # DCGM field name (nvidia-smi mapped to the DCGM name)
    ("value", pa.float64()),
    ("hostname", pa.string()),
    ("gpu", pa.string()),                   # device index
    ("gpu_uuid", pa.string()),
    ("gpu_model", pa.string()),
    ("namespace", pa.string()),
    ("pod", pa.string()),
    ("container", pa.string()),
    ("gpu_instance_id", pa.string()),       # MIG instance
    ("gpu_instance_profile", pa.string()),  # MIG profile, e.g. 1g.10gb
    ("source_file", pa.string()),
    ("source_row", pa.int64()),
])
# Counters (monotonic since the driver loaded) are stored as the increase over each scrape
# interval under this name; a drop is a reset (reboot, driver reload), and the interval's increase
# then counts from zero, as Prometheus' increase() does. The reset is listed in the rejects.
COUNTER_METRICS = {"DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION": "gpu_energy_mj_increase"}
DCGM_METRICS = {
    "DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_DEV_FB_USED", "DCGM_FI_DEV_FB_FREE", "DCGM_FI_DEV_POWER_USAGE",
    "DCGM_FI_PROF_GR_ENGINE_ACTIVE", "DCGM_FI_PROF_SM_ACTIVE", "DCGM_FI_DEV_MEM_COPY_UTIL",
}
# nvidia-smi query field -> (DCGM metric it corresponds to, unit it must carry)
NVIDIA_SMI_FIELDS = {
    "utilization.gpu": ("DCGM_FI_DEV_GPU_UTIL", "%"),
    "utilization.memory": ("DCGM_FI_DEV_MEM_COPY_UTIL", "%"),
    "memory.used": ("DCGM_FI_DEV_FB_USED", "MiB"),
    "memory.total": ("nvidia_smi_memory_total_mib", "MiB"),
    "power.draw": ("DCGM_FI_DEV_POWER_USAGE", "W"),
}
_NOT_AVAILABLE = {"[N/A]", "[Not Supported]", "N/A", "[Unknown Error]", ""}
# The values a gauge can take: utilizations are percent, profiling ratios are shares of 1.
_RANGE = {"DCGM_FI_DEV_GPU_UTIL": 100.0, "DCGM_FI_DEV_MEM_COPY_UTIL": 100.0,
          "DCGM_FI_PROF_GR_ENGINE_ACTIVE": 1.0, "DCGM_FI_PROF_SM_ACTIVE": 1.0}


def out_of_range(metric: str, value: float) -> str | None:
    """Why a finite sample value cannot be what the metric measures, or None."""
    if value < 0:
        return "sample value is negative"
    top = _RANGE.get(metric)
    if top is not None and value > top:
        return f"sample value is above {top:g}, the most {metric} can be"
    return None


class _Collector(RecordSink):
    """Samples plus rejects; a repeated (series, time) sample is rejected as a duplicate."""

    def __init__(self, source_file: str):
        super().__init__(SAMPLE_SCHEMA, source_file)
        self.seen: set[tuple] = set()

    def add(self, row: int, **values) -> None:  # type: ignore[override]
        key = (values["sampled_at"], values["metric"], values.get("hostname"), values.get("gpu_uuid"),
               values.get("gpu"), values.get("gpu_instance_id"), values.get("pod"))
        if key in self.seen:
            # Prometheus federation and overlapping scrapes repeat samples: keep the first
            self.reject(row, values["metric"], "duplicate sample of the same series and time", str(values["value"]))
            return
        self.seen.add(key)
        super().add(row, values)


def read_prometheus_query_range(path: str, name: str | None = None) -> tuple[pa.Table, pa.Table]:
    """A saved `/api/v1/query_range` response of DCGM exporter series."""
    name = name or path
    doc = read_json(path, name, "Prometheus JSON response")
    if not isinstance(doc, dict) or doc.get("status") != "success":
        raise BadFileError(name, f"Prometheus response status is {doc.get('status') if isinstance(doc, dict) else type(doc).__name__!r}, not 'success'", "status")
    data = doc.get("data") or {}
    if not isinstance(data, dict) or data.get("resultType") != "matrix":
        raise BadFileError(name, f"expected a range query (resultType 'matrix'), got "
                                 f"{data.get('resultType') if isinstance(data, dict) else type(data).__name__!r}",
                           "data.resultType")
    result = data.get("result") or []
    if not isinstance(result, list):
        raise BadFileError(name, "data.result is not a list of series", "data.result")
    out = _Collector(name)
    row = 0
    for series in result:
        labels = series.get("metric") if isinstance(series, dict) else None
        values = series.get("values") if isinstance(series, dict) else None
        if not isinstance(labels, dict) or not isinstance(values, list):
            row += 1
            out.reject(row, "metric", "not a series (an object with `metric` labels and a list of `values`)",
                       json.dumps(series, default=str)[:200])
            continue
        labels = {k: v if isinstance(v, str) or v is None else json.dumps(v) for k, v in labels.items()}
        metric = labels.get("__name__")
        previous = None  # last good value of a counter series
        for sample in values:
            row += 1
            if not isinstance(sample, list) or len(sample) != 2:
                out.reject(row, "values", "a sample is not a [time, value] pair", json.dumps(sample, default=str)[:200])
                continue
            ts, raw = sample
            if metric in COUNTER_METRICS:
                previous = _counter_sample(out, row, labels, metric, ts, raw, previous)
                continue
            if metric not in DCGM_METRICS:
                out.reject(row, "__name__", "not a DCGM exporter metric this pipeline uses", metric)
                continue
            try:
                sampled_at = parse_time(ts)
            except (TypeError, ValueError, OverflowError):
                sampled_at = None
            if sampled_at is None:
                out.reject(row, "timestamp", "not a Unix timestamp", ts)
                continue
            try:
                value = float(raw)
            except (TypeError, ValueError):
                out.reject(row, metric, "sample value is not a number", raw)
                continue
            if not math.isfinite(value) or value < 0:
                out.reject(row, metric, "sample value is NaN, infinite or negative", raw)
                continue
            if out_of_range(metric, value):
                out.reject(row, metric, out_of_range(metric, value), raw)
                continue
            out.add(row, sampled_at=sampled_at, metric=metric, value=value, **_labels(labels))
    return out.tables()


def _labels(labels: dict) -> dict:
    return dict(hostname=labels.get("Hostname") or labels.get("hostname") or labels.get("instance"),
                gpu=labels.get("gpu"), gpu_uuid=labels.get("UUID") or labels.get("uuid"),
                gpu_model=labels.get("modelName"), namespace=labels.get("namespace"), pod=labels.get("pod"),
                container=labels.get("container"), gpu_instance_id=labels.get("GPU_I_ID"),
                gpu_instance_profile=labels.get("GPU_I_PROFILE"))


def _counter_sample(out: "_Collector", row: int, labels: dict, metric: str, ts, raw, previous):
    """One sample of a counter series: emit the increase since the previous sample."""
    try:
        sampled_at = parse_time(ts)
        value = float(raw)
    except (TypeError, ValueError, OverflowError):
        out.reject(row, metric, "counter sample with a bad timestamp or value", f"{ts} {raw}")
        return previous
    if sampled_at is None or not math.isfinite(value) or value < 0:
        out.reject(row, metric, "counter sample with a bad timestamp or value", f"{ts} {raw}")
        return previous
    if previous is not None:
        if value < previous:
            out.reject(row, metric, f"counter reset (fell from {previous:g} to {value:g}); "
                                    "the interval's increase is counted from zero and kept", raw)
        increase = value if value < previous else value - previous
        out.add(row, sampled_at=sampled_at, metric=COUNTER_METRICS[metric], value=increase, **_labels(labels))
    return value


_HEADER_FIELD = re.compile(r"^\s*([a-z_.]+)\s*(?:\[(.+)\])?\s*$")
_VALUE_UNIT = re.compile(r"^\s*(-?[0-9]+(?:\.[0-9]+)?)\s*(%|MiB|W|GiB|MB)?\s*$")


def _nvidia_smi_time(text: str) -> datetime:
    text = text.strip()
    for fmt in ("%Y/%m/%d %H:%M:%S.%f", "%Y/%m/%d %H:%M:%S", "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S%z"):
        try:
            dt = datetime.strptime(text, fmt)
        except ValueError:
            continue
        if dt.tzinfo is not None:
            dt = dt.astimezone(timezone.utc).replace(tzinfo=None)
        return dt.replace(microsecond=0)
    raise ValueError(text)


@csv_file
def read_nvidia_smi_csv(path: str, name: str | None = None, hostname: str | None = None) -> tuple[pa.Table, pa.Table]:
    """nvidia-smi --query-gpu ... --format=csv log. The host is the `hostname` column, else
    `hostname`, else the file's parent folder name."""
    name = name or path
    text = read_text(path, name, "nvidia-smi CSV")
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines:
        raise BadFileError(name, "the file is empty")
    header = [h.strip() for h in next(csv.reader([lines[0]]))]
    fields = []
    for h in header:
        m = _HEADER_FIELD.match(h)
        fields.append((m.group(1), m.group(2)) if m else (h, None))
    names = [f for f, _ in fields]
    for required in ("timestamp", "uuid"):
        if required not in names:
            raise BadFileError(name, "nvidia-smi CSV without a required field", required)
    host_default = hostname or Path(path).parent.name
    out = _Collector(name)
    # the same query header repeats when nvidia-smi is restarted into the same log: skip it
    for row_no, values in enumerate(csv.reader(io.StringIO("\n".join(lines[1:]))), start=1):
        values = [v.strip() for v in values]
        if [v for v in values] == header:
            continue
        if len(values) != len(fields):
            out.reject(row_no, "(row)", f"expected {len(fields)} values, found {len(values)}", ",".join(values))
            continue
        rec = dict(zip(names, values))
        try:
            sampled_at = _nvidia_smi_time(rec["timestamp"])
        except ValueError:
            out.reject(row_no, "timestamp", "not an nvidia-smi timestamp (YYYY/MM/DD HH:MM:SS.mmm)", rec["timestamp"])
            continue
        host = rec.get("hostname") or host_default
        for (field, unit), raw in zip(fields, values):
            if field not in NVIDIA_SMI_FIELDS:
                continue
            metric, expected_unit = NVIDIA_SMI_FIELDS[field]
            if raw in _NOT_AVAILABLE:
                continue  # the driver does not report it for this GPU: no sample, not an error
            m = _VALUE_UNIT.match(raw)
            if not m or (m.group(2) and m.group(2) != expected_unit):
                out.reject(row_no, field, f"value does not parse as a number in {expected_unit}", raw)
                continue
            if out_of_range(metric, float(m.group(1))):
                out.reject(row_no, field, out_of_range(metric, float(m.group(1))), raw)
                continue
            out.add(row_no, sampled_at=sampled_at, metric=metric, value=float(m.group(1)), hostname=host,
                    gpu=rec.get("index"), gpu_uuid=rec.get("uuid"), gpu_model=rec.get("name"))
    return out.tables()


HOSTS_SCHEMA = pa.schema([("hostname", pa.string()), ("resource_id", pa.string()), ("source_row", pa.int64())])


@csv_file
def read_hosts_csv(path: str, name: str | None = None) -> tuple[pa.Table, pa.Table]:
    """inventory/hosts.csv: `hostname,resource_id`, one row per GPU host."""
    name = name or path
    rows = list(csv.reader(io.StringIO(read_text(path, name, "CSV"))))
    if not rows:
        raise BadFileError(name, "the file is empty")
    header = [h.strip().lower() for h in rows[0]]
    for required in ("hostname", "resource_id"):
        if required not in header:
            raise BadFileError(name, "hosts.csv without a required column", required)
    hi, ri = header.index("hostname"), header.index("resource_id")
    sink = RecordSink(HOSTS_SCHEMA, name)
    seen: dict[str, str] = {}
    for n, r in enumerate(rows[1:], start=1):
        host = r[hi].strip() if len(r) > hi else ""
        rid = r[ri].strip() if len(r) > ri else ""
        if not host or not rid:
            sink.reject(n, "hostname" if not host else "resource_id", "empty value", ",".join(r))
        elif host in seen and seen[host] != rid:
            sink.reject(n, "hostname", f"host already mapped to {seen[host]}", ",".join(r))
        elif host not in seen:  # an exact repeat of a mapping adds nothing
            seen[host] = rid
            sink.add(n, {"hostname": host, "resource_id": rid})
    return sink.tables()
