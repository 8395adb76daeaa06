"""Readers for inference traffic (CONTRACTS.md, "Inference"):

- Request logs, JSONL, one request a line: LiteLLM proxy spend logs (`request_id`, `startTime`,
  `endTime`, `model`, `api_base`, `prompt_tokens`, `completion_tokens`, `total_tokens`, `status`,
  `metadata` with `user_api_key_team_alias` / `team`, `user_api_key_alias`, `user_api_key_user_id`,
  `user_api_key_org_id`; `user` / `end_user` name the caller), or OpenAI-style responses whose token
  counts sit under `usage`. Files without these metadata keys load with the columns empty.
- SageMaker endpoint metrics exported from CloudWatch to CSV: `timestamp, EndpointName,
  VariantName, metric, value`.
"""

from __future__ import annotations

import csv
import io
import json
import math

import pyarrow as pa

from .errors import BadFileError
from .records import RecordSink, csv_file, parse_instant, parse_time, read_text

REQUEST_SCHEMA = pa.schema([
    ("request_id", pa.string()), ("started_at", pa.timestamp("s")), ("ended_at", pa.timestamp("s")),
    ("latency_ms", pa.float64()), ("model", pa.string()), ("endpoint", pa.string()),
    ("prompt_tokens", pa.int64()), ("completion_tokens", pa.int64()), ("total_tokens", pa.int64()),
    ("status", pa.string()), ("team", pa.string()), ("user_name", pa.string()), ("api_key_alias", pa.string()),
    ("org_id", pa.string()), ("reported_spend_usd", pa.float64()), ("source_file", pa.string()), ("source_row", pa.int64()),
])
ENDPOINT_METRIC_SCHEMA = pa.schema([
    ("sampled_at", pa.timestamp("s")), ("endpoint_name", pa.string()), ("variant_name", pa.string()),
    ("metric", pa.string()), ("value", pa.float64()), ("source_file", pa.string()), ("source_row", pa.int64()),
])


def _epoch_millis(value) -> float | None:
    """Request times keep milliseconds for latency (parse_time rounds to seconds for storage)."""
    dt = parse_instant(value)
    return None if dt is None else dt.timestamp() * 1000.0


def _finite(value) -> float | None:
    """A JSON number that is a finite double, else None (the gateway's own spend is informative only)."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _tokens(value):
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not float(value).is_integer() or not 0 <= float(value) < 2 ** 63:
        raise ValueError(value)
    return int(value)


def read_request_log_jsonl(path: str, name: str | None = None) -> tuple[pa.Table, pa.Table]:
    name = name or path
    text = read_text(path, name, "JSONL request log")
    sink = RecordSink(REQUEST_SCHEMA, name)
    for row, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            sink.reject(row, "(line)", f"not a JSON object: {exc.msg}", line)
            continue
        if not isinstance(rec, dict):
            sink.reject(row, "(line)", "not a JSON object", line)
            continue
        usage = rec.get("usage") if isinstance(rec.get("usage"), dict) else {}
        request_id = rec.get("request_id") or rec.get("id")
        if not request_id:
            sink.reject(row, "request_id", "request without an id", line)
            continue
        try:
            prompt = _tokens(rec.get("prompt_tokens", usage.get("prompt_tokens")))
            completion = _tokens(rec.get("completion_tokens", usage.get("completion_tokens")))
            total = _tokens(rec.get("total_tokens", usage.get("total_tokens")))
        except (TypeError, ValueError, OverflowError) as exc:
            sink.reject(row, "tokens", "token counts must be whole numbers >= 0", exc)
            continue
        if total is None and prompt is not None and completion is not None:
            total = prompt + completion
        start_raw = rec.get("startTime", rec.get("created"))
        end_raw = rec.get("endTime")
        try:
            started, ended = parse_time(start_raw), parse_time(end_raw)
            s_ms, e_ms = _epoch_millis(start_raw), _epoch_millis(end_raw)
        except (TypeError, ValueError, OverflowError):
            sink.reject(row, "startTime", "not a timestamp", f"{start_raw} / {end_raw}")
            continue
        if started is None:
            sink.reject(row, "startTime", "request without a start time", start_raw)
            continue
        if s_ms is not None and e_ms is not None and e_ms < s_ms:
            sink.reject(row, "endTime", "request ends before it starts", f"{start_raw} / {end_raw}")
            continue
        meta = rec.get("metadata") if isinstance(rec.get("metadata"), dict) else {}
        spend = rec.get("spend")
        sink.add(row, {
            "request_id": str(request_id), "started_at": started, "ended_at": ended,
            "latency_ms": (e_ms - s_ms) if s_ms is not None and e_ms is not None else None,
            "model": rec.get("model") or rec.get("model_group"),
            "endpoint": rec.get("api_base") or rec.get("endpoint") or meta.get("endpoint"),
            "prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": total,
            "status": str(rec.get("status") or "success").lower(),
            "team": meta.get("team") or meta.get("user_api_key_team_alias") or meta.get("user_api_key_team_id") or rec.get("team_id"),
            "user_name": (rec.get("user") or rec.get("end_user") or meta.get("user_api_key_end_user_id")
                          or meta.get("user_api_key_user_id")),
            "api_key_alias": meta.get("user_api_key_alias"),
            "org_id": meta.get("user_api_key_org_id") or meta.get("user_api_key_org_alias"),
            "reported_spend_usd": _finite(spend),
        })
    return sink.tables()


@csv_file
def read_cloudwatch_endpoint_metrics_csv(path: str, name: str | None = None) -> tuple[pa.Table, pa.Table]:
    name = name or path
    reader = csv.DictReader(io.StringIO(read_text(path, name, "CSV")))
    fields = reader.fieldnames or []
    for required in ("timestamp", "EndpointName", "metric", "value"):
        if required not in fields:
            raise BadFileError(name, "CloudWatch endpoint metrics CSV without a required column", required)
    sink = RecordSink(ENDPOINT_METRIC_SCHEMA, name)
    for row, r in enumerate(reader, start=1):
        try:
            sampled = parse_time(r["timestamp"])
        except (TypeError, ValueError, OverflowError):
            sampled = None
        if sampled is None:
            sink.reject(row, "timestamp", "not a timestamp", r.get("timestamp"))
            continue
        try:
            value = float(r["value"])
            if not math.isfinite(value) or value < 0:
                raise ValueError
        except (TypeError, ValueError):
            sink.reject(row, "value", "not a finite number >= 0 (counts, latencies and utilizations are never negative)",
                        r.get("value"))
            continue
        sink.add(row, {"sampled_at": sampled, "endpoint_name": r["EndpointName"], "variant_name": r.get("VariantName"),
                       "metric": r["metric"], "value": value})
    return sink.tables()
