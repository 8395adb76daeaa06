"""The bad-input corpus for the workload readers (telemetry, jobs, inference, storage, inventory,
budgets), adding to test_workload_bad_files.py (BOM, CRLF, empty, UTF-16, binary, truncated
gzip) every other case: header only, a required column missing, unknown columns, wrong types,
quoted newlines, NaN / Inf / 1e308, negative values, times in other formats and zones, a file
delivered twice under two names, 1 MB values, and hostile strings. Each case pins its outcome:
read like the clean file, the record in the rejects with row, column and reason, or the file
failing with BadFileError naming file and column.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import time
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from orchestration.ingest.errors import BadFileError
from orchestration.ingest.folders import FILE_ERRORS, RAW_TABLES, load_raw_table
from tests.unit.test_workload_bad_files import GOOD

CSV_FILES = sorted(n for n in GOOD if n.endswith(".csv"))


def read(tmp_path: Path, name: str, text: str, folder: str = "gpu-node-1"):
    """(rows without source_file, [(row, column, reason)], path) of one file through its reader."""
    path = tmp_path / folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, newline="")
    rows, rejects = GOOD[name][0](str(path))
    return ([{k: v for k, v in r.items() if k != "source_file"} for r in rows.to_pylist()],
            [(r["source_row"], r["column_name"], r["reason"]) for r in rejects.to_pylist()], path)


def table(name: str) -> tuple[list[str], list[list[str]]]:
    """The clean file of a CSV reader as header and rows."""
    rows = list(csv.reader(io.StringIO(GOOD[name][1]), skipinitialspace=True))
    return rows[0], rows[1:]


def write_csv(header, rows) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([header, *rows])
    return buf.getvalue()


def with_value(name: str, column: str, value: str) -> str:
    """The clean CSV file with one cell of its (only) record replaced."""
    header, rows = table(name)
    i = [h.split(" [")[0] for h in header].index(column)
    rows[0][i] = value
    return write_csv(header, rows)


# --- header only, missing and unknown columns -------------------------------------------------------

@pytest.mark.parametrize("name", CSV_FILES)
def test_header_only_file_is_an_empty_valid_file(tmp_path, name):
    rows, rejects, _ = read(tmp_path, name, GOOD[name][1].split("\n")[0] + "\n")
    assert (rows, rejects) == ([], [])


REQUIRED = [("smi.csv", "timestamp"), ("smi.csv", "uuid"), ("hosts.csv", "hostname"), ("hosts.csv", "resource_id"),
            ("runs.csv", "run_id"), ("runs.csv", "status"), ("runs.csv", "start_time"),
            ("cloudwatch.csv", "timestamp"), ("cloudwatch.csv", "EndpointName"), ("cloudwatch.csv", "metric"),
            ("cloudwatch.csv", "value"), ("budgets.csv", "team"), ("budgets.csv", "month"), ("budgets.csv", "amount_usd"),
            ("inventory.csv", "bucket"), ("inventory.csv", "key"), ("inventory.csv", "size"),
            ("inventory.csv", "last_modified_date")]


@pytest.mark.parametrize("name,column", REQUIRED)
def test_missing_required_column_fails_the_file_naming_it(tmp_path, name, column):
    header, rows = table(name)
    i = header.index(column)
    text = write_csv(header[:i] + header[i + 1:], [r[:i] + r[i + 1:] for r in rows])
    with pytest.raises(BadFileError) as exc:
        read(tmp_path, name, text)
    assert exc.value.column == column.replace("last_modified_date", "lastmodifieddate")
    assert str(exc.value).startswith(str(tmp_path / "gpu-node-1" / name) + ", column ")
    assert "without a required " in str(exc.value)  # column, or field for nvidia-smi's query fields


@pytest.mark.parametrize("name", sorted(GOOD))
def test_unknown_columns_and_fields_are_ignored(tmp_path, name):
    clean, _, _ = read(tmp_path / "clean", name, GOOD[name][1])
    text = GOOD[name][1]
    if name.endswith(".csv"):
        header, rows = table(name)
        extra = ["x_unknown", "'; drop table raw.jobs; --", "../../etc/passwd", "clocks.sm [MHz]"]
        text = write_csv(header + extra, [r + ["a", "b", "c", "1410 MHz"] for r in rows])
    elif name == "requests.jsonl":
        text = json.dumps(dict(json.loads(text), unknown={"nested": [1, 2]}, **{"'; drop": "x"})) + "\n"
    else:
        doc = json.loads(text)
        doc["UnknownField"] = {"a": [1, {"b": None}]}
        if name == "prometheus.json":
            doc["data"]["result"][0]["metric"]["exported_job"] = "../../etc"
            doc["warnings"] = ["partial response"]
        text = json.dumps(doc)
    rows, rejects, _ = read(tmp_path, name, text)
    assert (rows, rejects) == (clean, [])


# --- wrong types and values that are not what the column holds ----------------------------------------

def _prom(value, labels=None) -> str:
    labels = labels or {"__name__": "DCGM_FI_DEV_GPU_UTIL", "Hostname": "h1", "gpu": "0"}
    return json.dumps({"status": "success", "data": {"resultType": "matrix", "result": [
        {"metric": labels, "values": [[1762164000, value]] if not isinstance(value, list) else value}]}})


def _job(**over) -> str:
    doc = {"TrainingJobName": "j", "TrainingJobStatus": "Completed", "TrainingStartTime": "2026-11-03T10:00:00Z",
           "TrainingEndTime": "2026-11-03T11:00:00Z", "ResourceConfig": {"InstanceType": "ml.g5.xlarge", "InstanceCount": 1}}
    doc.update(over)
    return json.dumps(doc)


def _request(**over) -> str:
    rec = {"request_id": "a", "startTime": "2026-11-03T10:00:00Z", "endTime": "2026-11-03T10:00:01Z", "model": "m",
           "prompt_tokens": 10, "completion_tokens": 5}
    rec.update(over)
    return json.dumps(rec) + "\n"


NOT_A_NUMBER = "not a finite number >= 0 (counts, latencies and utilizations are never negative)"
# (case, file, text, rows kept, [(row, column, reason)])
VALUES = [
    # wrong types
    ("smi text value", "smi.csv", with_value("smi.csv", "utilization.gpu", "abc %"), 0,
     [(1, "utilization.gpu", "value does not parse as a number in %")]),
    ("smi wrong unit", "smi.csv", with_value("smi.csv", "utilization.gpu", "87 W"), 0,
     [(1, "utilization.gpu", "value does not parse as a number in %")]),
    ("prometheus text value", "prometheus.json", _prom("abc"), 0, [(1, "DCGM_FI_DEV_GPU_UTIL", "sample value is not a number")]),
    ("prometheus object value", "prometheus.json", _prom({"v": 1}), 0,
     [(1, "DCGM_FI_DEV_GPU_UTIL", "sample value is not a number")]),
    ("prometheus sample not a pair", "prometheus.json", _prom([[1762164000], "87", [1762164000, "87", 1]]), 0,
     [(1, "values", "a sample is not a [time, value] pair"), (2, "values", "a sample is not a [time, value] pair"),
      (3, "values", "a sample is not a [time, value] pair")]),
    ("prometheus labels not an object", "prometheus.json",
     json.dumps({"status": "success", "data": {"resultType": "matrix", "result": [{"metric": ["x"], "values": []}]}}), 0,
     [(1, "metric", "not a series (an object with `metric` labels and a list of `values`)")]),
    ("prometheus label of the wrong type", "prometheus.json",
     _prom("87", {"__name__": "DCGM_FI_DEV_GPU_UTIL", "Hostname": 7, "gpu": ["0"]}), 1, []),
    ("mlflow unknown status", "runs.csv", with_value("runs.csv", "status", "DONE"), 0,
     [(1, "status", "not an MLflow run status")]),
    ("cloudwatch text value", "cloudwatch.csv", with_value("cloudwatch.csv", "value", "abc"), 0, [(1, "value", NOT_A_NUMBER)]),
    ("cloudwatch bad time", "cloudwatch.csv", with_value("cloudwatch.csv", "timestamp", "yesterday"), 0,
     [(1, "timestamp", "not a timestamp")]),
    ("budget text amount", "budgets.csv", with_value("budgets.csv", "amount_usd", "abc"), 0,
     [(1, "amount_usd", "amount must be a number >= 0 that fits DECIMAL(38,10)")]),
    ("budget month in another format", "budgets.csv", with_value("budgets.csv", "month", "11/2026"), 0,
     [(1, "month", "month must be YYYY-MM")]),
    ("inventory text size", "inventory.csv", with_value("inventory.csv", "size", "abc"), 0,
     [(1, "size", "object size is not a whole number of bytes >= 0")]),
    ("hosts empty resource", "hosts.csv", "hostname,resource_id\nh1,\n", 0, [(1, "resource_id", "empty value")]),
    ("sagemaker name not text", "job.json", _job(TrainingJobName=5), 0,
     [(1, "TrainingJobName", "not a DescribeTrainingJob record")]),
    ("sagemaker status not text", "job.json", _job(TrainingJobStatus={"a": 1}), 0,
     [(1, "TrainingJobStatus", "unknown training job status")]),
    ("sagemaker instance count text", "job.json", _job(ResourceConfig={"InstanceCount": "two"}), 0,
     [(1, "ResourceConfig.InstanceCount", "not a whole number of 0 or more")]),
    ("sagemaker billable seconds text", "job.json", _job(BillableTimeInSeconds="abc"), 0,
     [(1, "BillableTimeInSeconds", "not a number of seconds >= 0")]),
    ("sagemaker fields of the wrong shape", "job.json",
     _job(ResourceConfig=["x"], Tags="team=nlp", ExperimentConfig=3, FinalMetricDataList={"MetricName": "x"},
          TrainingJobSummaries="not a list"), 1, []),
    ("sagemaker arn not text", "job.json", _job(TrainingJobArn={"arn": 1}), 0,
     [(1, "job_id", "not a value of type string (dict)")]),
    ("request tokens text", "requests.jsonl", _request(prompt_tokens="many"), 0,
     [(1, "tokens", "token counts must be whole numbers >= 0")]),
    ("request model not text", "requests.jsonl", _request(model={"name": "m"}), 0,
     [(1, "model", "not a value of type string (dict)")]),
    ("request line not an object", "requests.jsonl", "[1, 2]\n" + _request(), 1, [(1, "(line)", "not a JSON object")]),
    # NaN / Inf / 1e308
    ("prometheus NaN", "prometheus.json", _prom("NaN"), 0,
     [(1, "DCGM_FI_DEV_GPU_UTIL", "sample value is NaN, infinite or negative")]),
    ("prometheus +Inf", "prometheus.json", _prom("+Inf"), 0,
     [(1, "DCGM_FI_DEV_GPU_UTIL", "sample value is NaN, infinite or negative")]),
    ("prometheus 1e308 utilization", "prometheus.json", _prom("1e308"), 0,
     [(1, "DCGM_FI_DEV_GPU_UTIL", "sample value is above 100, the most DCGM_FI_DEV_GPU_UTIL can be")]),
    ("prometheus 150 % utilization", "prometheus.json", _prom("150"), 0,
     [(1, "DCGM_FI_DEV_GPU_UTIL", "sample value is above 100, the most DCGM_FI_DEV_GPU_UTIL can be")]),
    ("prometheus engine activity is a share", "prometheus.json",
     _prom("87", {"__name__": "DCGM_FI_PROF_GR_ENGINE_ACTIVE", "Hostname": "h1", "gpu": "0"}), 0,
     [(1, "DCGM_FI_PROF_GR_ENGINE_ACTIVE", "sample value is above 1, the most DCGM_FI_PROF_GR_ENGINE_ACTIVE can be")]),
    ("prometheus time 1e308", "prometheus.json", _prom([[1e308, "87"], ["NaN", "87"]]), 0,
     [(1, "timestamp", "not a Unix timestamp"), (2, "timestamp", "not a Unix timestamp")]),
    ("smi 1e308", "smi.csv", with_value("smi.csv", "utilization.gpu", "1e308 %"), 0,
     [(1, "utilization.gpu", "value does not parse as a number in %")]),
    ("smi over 100 %", "smi.csv", with_value("smi.csv", "utilization.gpu", "101 %"), 0,
     [(1, "utilization.gpu", "sample value is above 100, the most DCGM_FI_DEV_GPU_UTIL can be")]),
    ("cloudwatch NaN", "cloudwatch.csv", with_value("cloudwatch.csv", "value", "NaN"), 0, [(1, "value", NOT_A_NUMBER)]),
    ("cloudwatch inf", "cloudwatch.csv", with_value("cloudwatch.csv", "value", "inf"), 0, [(1, "value", NOT_A_NUMBER)]),
    ("cloudwatch 1e308 is a finite count", "cloudwatch.csv", with_value("cloudwatch.csv", "value", "1e308"), 1, []),
    ("cloudwatch time 1e20", "cloudwatch.csv", with_value("cloudwatch.csv", "timestamp", "1e20"), 0,
     [(1, "timestamp", "not a timestamp")]),
    ("budget NaN", "budgets.csv", with_value("budgets.csv", "amount_usd", "NaN"), 0,
     [(1, "amount_usd", "amount must be a number >= 0 that fits DECIMAL(38,10)")]),
    ("budget Infinity", "budgets.csv", with_value("budgets.csv", "amount_usd", "Infinity"), 0,
     [(1, "amount_usd", "amount must be a number >= 0 that fits DECIMAL(38,10)")]),
    ("budget 1e308", "budgets.csv", with_value("budgets.csv", "amount_usd", "1e308"), 0,
     [(1, "amount_usd", "amount must be a number >= 0 that fits DECIMAL(38,10)")]),
    ("inventory size inf", "inventory.csv", with_value("inventory.csv", "size", "inf"), 0,
     [(1, "size", "object size is not a whole number of bytes >= 0")]),
    ("inventory size 1e308", "inventory.csv", with_value("inventory.csv", "size", "1e308"), 0,
     [(1, "size", "object size is not a whole number of bytes >= 0")]),
    ("inventory size NaN", "inventory.csv", with_value("inventory.csv", "size", "NaN"), 0,
     [(1, "size", "object size is not a whole number of bytes >= 0")]),
    ("request tokens 1e308", "requests.jsonl", _request(prompt_tokens=1e308), 0,
     [(1, "tokens", "token counts must be whole numbers >= 0")]),
    ("request tokens NaN", "requests.jsonl", '{"request_id": "a", "startTime": "2026-11-03T10:00:00Z", "prompt_tokens": NaN}\n', 0,
     [(1, "tokens", "token counts must be whole numbers >= 0")]),
    ("request tokens beyond int64", "requests.jsonl", _request(total_tokens=10 ** 30), 0,
     [(1, "tokens", "token counts must be whole numbers >= 0")]),
    ("request spend Infinity is dropped, the request kept", "requests.jsonl",
     '{"request_id": "a", "startTime": "2026-11-03T10:00:00Z", "spend": Infinity}\n', 1, []),
    ("sagemaker billable NaN", "job.json", _job(BillableTimeInSeconds=float("nan")), 0,
     [(1, "BillableTimeInSeconds", "not a number of seconds >= 0")]),
    ("sagemaker instance count 1e308", "job.json", _job(ResourceConfig={"InstanceCount": 1e308}), 0,
     [(1, "ResourceConfig.InstanceCount", "not a whole number of 0 or more")]),
    ("sagemaker start 1e308", "job.json", _job(TrainingStartTime=1e308), 0,
     [(1, "start_time/end_time", "not a timestamp: 1e+308 is not a Unix time")]),
    # negative values
    ("prometheus negative", "prometheus.json", _prom("-1"), 0,
     [(1, "DCGM_FI_DEV_GPU_UTIL", "sample value is NaN, infinite or negative")]),
    ("smi negative", "smi.csv", with_value("smi.csv", "utilization.gpu", "-5 %"), 0,
     [(1, "utilization.gpu", "sample value is negative")]),
    ("cloudwatch negative", "cloudwatch.csv", with_value("cloudwatch.csv", "value", "-3"), 0, [(1, "value", NOT_A_NUMBER)]),
    ("budget negative", "budgets.csv", with_value("budgets.csv", "amount_usd", "-100"), 0,
     [(1, "amount_usd", "amount must be a number >= 0 that fits DECIMAL(38,10)")]),
    ("inventory negative size", "inventory.csv", with_value("inventory.csv", "size", "-1"), 0,
     [(1, "size", "object size is not a whole number of bytes >= 0")]),
    ("request negative tokens", "requests.jsonl", _request(completion_tokens=-1), 0,
     [(1, "tokens", "token counts must be whole numbers >= 0")]),
    ("sagemaker negative instances", "job.json", _job(ResourceConfig={"InstanceCount": -1}), 0,
     [(1, "ResourceConfig.InstanceCount", "not a whole number of 0 or more")]),
    ("sagemaker negative billable seconds", "job.json", _job(BillableTimeInSeconds=-60), 0,
     [(1, "BillableTimeInSeconds", "not a number of seconds >= 0")]),
    ("request ends before it starts", "requests.jsonl", _request(endTime="2026-11-03T09:59:59Z"), 0,
     [(1, "endTime", "request ends before it starts")]),
]


@pytest.mark.parametrize("case", [c[0] for c in VALUES])
def test_values_that_are_not_what_the_column_holds(tmp_path, case):
    _, name, text, kept, expected = next(c for c in VALUES if c[0] == case)
    rows, rejects, _ = read(tmp_path, name, text)
    assert (len(rows), rejects) == (kept, expected)


MLFLOW = (",run_id,experiment_id,status,start_time,end_time,metrics.tokens,params.config,tags.team,tags.gpu_count,"
          "tags.instance_count\n")


@pytest.mark.parametrize("column,value", [("tags.gpu_count", "two"), ("tags.gpu_count", "-2"), ("tags.gpu_count", "1e308"),
                                          ("tags.gpu_count", "inf"), ("tags.instance_count", "1.5")])
def test_mlflow_counts_must_be_whole_numbers(tmp_path, column, value):
    values = {"tags.gpu_count": "8", "tags.instance_count": "1", column: value}
    text = MLFLOW + (f"0,r1,1,FINISHED,2026-11-03 10:00:00+00:00,2026-11-03 11:00:00+00:00,5,{{}},nlp,"
                     f"{values['tags.gpu_count']},{values['tags.instance_count']}\n")
    rows, rejects, _ = read(tmp_path, "runs.csv", text)
    assert (rows, rejects) == ([], [(1, column, "not a whole number of 0 or more")])


def test_mlflow_metrics_that_are_not_finite_are_left_out_of_the_json(tmp_path):
    text = MLFLOW + "0,r1,1,FINISHED,2026-11-03 10:00:00+00:00,2026-11-03 11:00:00+00:00,inf,{},nlp,8,1\n" \
                    "1,r2,1,FINISHED,2026-11-03 10:00:00+00:00,2026-11-03 11:00:00+00:00,1e308,{},nlp,8,1\n"
    rows, rejects, _ = read(tmp_path, "runs.csv", text)
    assert [json.loads(r["metrics"]) for r in rows] == [{}, {"tokens": 1e308}] and rejects == []


# --- times in other formats and zones ------------------------------------------------------------

T = datetime(2026, 11, 3, 10, 0)
EPOCH = 1793700000  # 2026-11-03T10:00:00Z
TIMES = [
    # seconds, text, fractional seconds, milliseconds; a minute apart (the same series and second would be a duplicate)
    ("prometheus.json", _prom([[EPOCH, "1"], [str(EPOCH + 60), "2"], [EPOCH + 120.9, "3"], [(EPOCH + 180) * 1000, "4"]]),
     "sampled_at", [datetime(2026, 11, 3, 10, m) for m in range(4)]),
    ("smi.csv", GOOD["smi.csv"][1].split("\n")[0] + "\n" + "".join(
        f"{t}, A10G, GPU-{i}, 87 %\n" for i, t in enumerate(
            ["2026/11/03 10:00:00.123", "2026/11/03 10:00:00", "2026-11-03 10:00:00.500", "2026-11-03T12:00:00+0200"])),
     "sampled_at", [T] * 4),
    ("runs.csv", MLFLOW + "".join(
        f"{i},r{i},1,RUNNING,{t},,,,nlp,8,1\n" for i, t in enumerate(
            ["2026-11-03 10:00:00.123000+00:00", "2026-11-03T12:00:00+02:00", "2026-11-03 05:00:00-05:00", str(EPOCH * 1000),
             "2026-11-03T10:00:00Z", "2026-11-03 10:00:00"])),
     "start_time", [T] * 6),
    ("job.json", json.dumps([json.loads(_job(TrainingJobName=f"j{i}", TrainingJobArn=f"arn:{i}", TrainingStartTime=t, TrainingEndTime=None))
                             for i, t in enumerate(["2026-11-03T10:00:00.123000+00:00", "2026-11-03T11:00:00+01:00",
                                                    EPOCH + 0.5, EPOCH])]),
     "start_time", [T] * 4),
    ("requests.jsonl", "".join(_request(request_id=f"r{i}", startTime=t, endTime=None) for i, t in enumerate(
        ["2026-11-03T10:00:00.123Z", "2026-11-03T10:00:00.123+00:00", "2026-11-03T11:00:00+01:00", EPOCH, EPOCH * 1000 + 123])),
     "started_at", [T] * 5),
    ("cloudwatch.csv", "timestamp,EndpointName,VariantName,metric,value\n" + "".join(
        f"{t},e{i},v,Invocations,3\n" for i, t in enumerate(
            ["2026-11-03T10:00:00Z", "2026-11-03 10:00:00+00:00", "2026-11-03T05:00:00-05:00", str(EPOCH)])),
     "sampled_at", [T] * 4),
    ("inventory.csv", "bucket,key,size,last_modified_date,storage_class\n" + "".join(
        f"b,k{i},10,{t},STANDARD\n" for i, t in enumerate(
            ["2026-11-03T10:00:00.000Z", "2026-11-03 10:00:00", "2026-11-03T11:00:00+01:00"])),
     "last_modified_at", [T] * 3),
]


@pytest.mark.parametrize("name", [t[0] for t in TIMES])
def test_times_in_other_formats_and_zones_are_read_as_utc(tmp_path, name):
    _, text, column, expected = next(t for t in TIMES if t[0] == name)
    rows, rejects, _ = read(tmp_path, name, text)
    assert rejects == []
    assert [r[column] for r in rows] == expected


NOT_TIMES = [
    ("smi.csv", with_value("smi.csv", "timestamp", "03.11.2026 10:00"), (1, "timestamp",
                                                                         "not an nvidia-smi timestamp (YYYY/MM/DD HH:MM:SS.mmm)")),
    ("runs.csv", with_value("runs.csv", "start_time", "yesterday"),
     (1, "start_time/end_time", "not a timestamp: Invalid isoformat string: 'yesterday'")),
    ("job.json", _job(TrainingStartTime="Nov 3, 2026"),
     (1, "start_time/end_time", "not a timestamp: Invalid isoformat string: 'Nov 3, 2026'")),
    ("requests.jsonl", _request(startTime="03/11/2026 10:00"), (1, "startTime", "not a timestamp")),
    ("cloudwatch.csv", with_value("cloudwatch.csv", "timestamp", "03/11/2026"), (1, "timestamp", "not a timestamp")),
    ("inventory.csv", with_value("inventory.csv", "last_modified_date", "last tuesday"),
     (1, "last_modified_date", "not a timestamp")),
]


@pytest.mark.parametrize("name", [t[0] for t in NOT_TIMES])
def test_times_that_are_not_times_are_rejected(tmp_path, name):
    _, text, expected = next(t for t in NOT_TIMES if t[0] == name)
    rows, rejects, _ = read(tmp_path, name, text)
    assert (rows, rejects) == ([], [expected])


# --- quoted newlines, 1 MB values ------------------------------------------------------------------

QUOTED = [
    ("hosts.csv", "resource_id", "resource_id", "i-1\nwith a newline, and a comma"),
    ("runs.csv", "run_id", "params", None),
    ("cloudwatch.csv", "EndpointName", "endpoint_name", 'end"point,\nname'),
    ("budgets.csv", "team", "team", "research,\nplatform"),
    ("inventory.csv", "key", "key", "logs/2026/11/03\nfile, \"quoted\".txt"),
]


@pytest.mark.parametrize("name", [q[0] for q in QUOTED])
def test_quoted_newlines_and_commas_stay_inside_their_value(tmp_path, name):
    _, column, out_column, value = next(q for q in QUOTED if q[0] == name)
    if name == "runs.csv":  # an MLflow param holding a multi-line config
        value = '{"layers": [1, 2],\n "name": "a, b"}'
        text = MLFLOW + write_csv(["0", "r1", "1", "FINISHED", "2026-11-03 10:00:00+00:00", "", "5", value, "nlp", "8", "1"], [])
        rows, rejects, _ = read(tmp_path, name, text)
        assert rejects == [] and json.loads(rows[0]["params"]) == {"config": value}
        return
    rows, rejects, _ = read(tmp_path, name, with_value(name, column, value))
    assert rejects == [] and [r[out_column] for r in rows] == [value]


def test_one_megabyte_values_are_kept_verbatim(tmp_path):
    """Longer than the csv module's 128 KB default: data, not a broken file."""
    big = "x" * (1 << 20)
    rows, rejects, _ = read(tmp_path, "hosts.csv", f"hostname,resource_id\n{big},i-1\n")
    assert rejects == [] and rows[0]["hostname"] == big
    text = MLFLOW + write_csv(["0", "r1", "1", "FINISHED", "2026-11-03 10:00:00+00:00", "", "5", big, big, "8", "1"], [])
    rows, rejects, _ = read(tmp_path, "runs.csv", text)
    assert rejects == [] and rows[0]["team"] == big and json.loads(rows[0]["params"]) == {"config": big}
    rows, rejects, _ = read(tmp_path, "requests.jsonl", _request(metadata={"team": big}, model=big))
    assert rejects == [] and rows[0]["team"] == big and rows[0]["model"] == big


def test_a_value_beyond_16_mb_fails_the_file_not_the_run(tmp_path):
    with pytest.raises(BadFileError, match=r"hosts\.csv: not a readable CSV \(field larger than field limit"):
        read(tmp_path, "hosts.csv", "hostname,resource_id\n" + "x" * (17 << 20) + ",i-1\n")


def test_a_bare_carriage_return_inside_a_value_fails_the_file_by_name(tmp_path):
    with pytest.raises(BadFileError, match=r"inventory\.csv: not a readable CSV \(new-line character seen in unquoted field"):
        read(tmp_path, "inventory.csv", "bucket,key,size,last_modified_date,storage_class\nb,k\rx,1,2026-01-01T00:00:00Z,S\n")


# --- whole folders: duplicated files, hostile strings ------------------------------------------------

# raw table -> (folder, file name, a second name the same reader reads, clean text)
FOLDERS = {
    "gpu_samples": ("utilization", "prometheus.json", "prometheus (1).json"),
    "gpu_hosts": ("inventory", "hosts.csv", "old-hosts.csv"),
    "jobs": ("jobs", "runs.csv", "runs-export-2.csv"),
    "inference_requests": ("inference", "requests.jsonl", "requests.copy.jsonl"),
    "endpoint_metrics": ("inference", "cloudwatch.csv", "cloudwatch-backup.csv"),
    "s3_inventory": ("storage", "inventory.csv", "inventory-again.csv"),
    "budgets": ("budgets", "budgets.csv", "2026-budgets.csv"),
}


def spec(table: str):
    return next(s for s in RAW_TABLES if s.table == table)


@pytest.mark.parametrize("table_name", sorted(FOLDERS))
def test_a_file_delivered_twice_under_two_names_counts_once(tmp_path, con, table_name):
    folder, name, copy_name = FOLDERS[table_name]
    first = tmp_path / folder / name
    first.parent.mkdir(parents=True)
    first.write_text(GOOD[name][1])
    once = load_raw_table(con, str(tmp_path), spec(table_name), log=lambda m: None)
    shutil.copy(first, first.with_name(copy_name))
    later = time.time() + 60
    os.utime(first.with_name(copy_name), (later, later))
    twice = load_raw_table(con, str(tmp_path), spec(table_name), log=lambda m: None)
    assert (twice.files, twice.rows, twice.rejected) == (2, once.rows, once.rows + once.rejected)
    rejects = con.execute(f"SELECT source_file, reason FROM raw.{table_name}_rejects").fetchall()
    # the copy in the newer file is kept; the older file's records are listed as repeats
    assert rejects == [(str(first), f"the same record as row 1 of {first.with_name(copy_name)}: kept once, from the newest file")]


def test_a_re_exported_run_takes_its_newest_state(tmp_path, con):
    folder = tmp_path / "jobs"
    folder.mkdir()
    (folder / "runs-monday.csv").write_text(MLFLOW + "0,r1,1,RUNNING,2026-11-03 10:00:00+00:00,,,{},nlp,8,1\n")
    (folder / "runs-tuesday.csv").write_text(
        MLFLOW + "0,r1,1,FINISHED,2026-11-03 10:00:00+00:00,2026-11-03 20:00:00+00:00,9,{},nlp,8,1\n")
    later = time.time() + 60
    os.utime(folder / "runs-tuesday.csv", (later, later))
    load_raw_table(con, str(tmp_path), spec("jobs"), log=lambda m: None)
    assert con.execute("SELECT job_id, status, end_time FROM raw.jobs").fetchall() == [("r1", "FINISHED", datetime(2026, 11, 3, 20))]
    assert con.execute("SELECT source_file, source_row, column_name FROM raw.jobs_rejects").fetchall() == [
        (str(folder / "runs-monday.csv"), 1, "job_id")]


HOSTILE = "'; drop table raw.jobs; --"


def test_hostile_strings_stay_inert_data(tmp_path, con):
    landing = tmp_path / "landing"
    (landing / "jobs").mkdir(parents=True)
    (landing / "jobs" / "runs.csv").write_text(MLFLOW + write_csv(
        ["0", HOSTILE, "../../etc", "FINISHED", "2026-11-03 10:00:00+00:00", "", "5", "{{ var('x') }}", "../../etc/passwd", "8", "1"], []))
    (landing / "inventory").mkdir()
    (landing / "inventory" / "hosts.csv").write_text(f"hostname,resource_id\n\"{HOSTILE}\",../../etc/passwd\n")
    (landing / "budgets").mkdir()
    (landing / "budgets" / "budgets.csv").write_text(f"team,month,amount_usd\n\"{HOSTILE}\",2026-11,1\n")
    (landing / "inference").mkdir()
    (landing / "inference" / "requests.jsonl").write_text(_request(request_id=HOSTILE, model="$(rm -rf /)", metadata={"team": "../.."}))
    (landing / "utilization").mkdir()
    (landing / "utilization" / "p.json").write_text(_prom("50", {"__name__": "DCGM_FI_DEV_GPU_UTIL", "Hostname": HOSTILE,
                                                                "pod": "../../etc", "gpu": "0"}))
    before = {str(p) for p in tmp_path.rglob("*")}
    for table_name in FOLDERS:
        load_raw_table(con, str(landing), spec(table_name), log=lambda m: None)
    assert {str(p) for p in tmp_path.rglob("*")} == before  # nothing written, anywhere
    assert con.execute("SELECT job_id, experiment_id, team, params FROM raw.jobs").fetchall() == [
        (HOSTILE, "../../etc", "../../etc/passwd", json.dumps({"config": "{{ var('x') }}"}))]
    assert con.execute("SELECT hostname, resource_id FROM raw.gpu_hosts").fetchall() == [(HOSTILE, "../../etc/passwd")]
    assert con.execute("SELECT team, amount_usd FROM raw.budgets").fetchall() == [(HOSTILE, Decimal(1))]
    assert con.execute("SELECT request_id, model, team FROM raw.inference_requests").fetchall() == [(HOSTILE, "$(rm -rf /)", "../..")]
    assert con.execute("SELECT hostname, pod FROM raw.gpu_samples").fetchall() == [(HOSTILE, "../../etc")]
    assert con.execute(f"SELECT COUNT(*) FROM {FILE_ERRORS}").fetchone()[0] == 0
