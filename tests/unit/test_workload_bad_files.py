"""Every workload reader on files that are broken the ways real files break: a clear BadFileError
naming the file, or a correct read - never a stray exception, never a silent empty table."""

import gzip

import pytest

from orchestration.ingest.budgets import read_budgets_csv
from orchestration.ingest.errors import BadFileError
from orchestration.ingest.inference import read_cloudwatch_endpoint_metrics_csv, read_request_log_jsonl
from orchestration.ingest.jobs import read_mlflow_runs_csv, read_sagemaker_training_jobs
from orchestration.ingest.storage import read_s3_inventory
from orchestration.ingest.telemetry import read_hosts_csv, read_nvidia_smi_csv, read_prometheus_query_range

GOOD = {
    "prometheus.json": (read_prometheus_query_range,
                        '{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"DCGM_FI_DEV_GPU_UTIL",'
                        '"Hostname":"h1","gpu":"0"},"values":[[1762164000,"87"]]}]}}'),
    "smi.csv": (read_nvidia_smi_csv, "timestamp, name, uuid, utilization.gpu [%]\n2026/11/03 10:00:00.123, A10G, GPU-1, 87 %\n"),
    "hosts.csv": (read_hosts_csv, "hostname,resource_id\nh1,i-1\n"),
    "runs.csv": (read_mlflow_runs_csv, ",run_id,experiment_id,status,start_time,end_time\n0,r1,1,FINISHED,2026-11-03 10:00:00+00:00,2026-11-03 11:00:00+00:00\n"),
    "job.json": (read_sagemaker_training_jobs, '{"TrainingJobName":"j","TrainingJobStatus":"Completed","TrainingStartTime":"2026-11-03T10:00:00Z",'
                                               '"TrainingEndTime":"2026-11-03T11:00:00Z"}'),
    "requests.jsonl": (read_request_log_jsonl, '{"request_id":"a","startTime":"2026-11-03T10:00:00Z","endTime":"2026-11-03T10:00:01Z","model":"m"}\n'),
    "cloudwatch.csv": (read_cloudwatch_endpoint_metrics_csv, "timestamp,EndpointName,VariantName,metric,value\n2026-11-03T10:00:00Z,e,v,Invocations,3\n"),
    "budgets.csv": (read_budgets_csv, "team,month,amount_usd\nnlp,2026-11,1000\n"),
    "inventory.csv": (read_s3_inventory, "bucket,key,size,last_modified_date,storage_class\nb,k,10,2026-01-01T00:00:00.000Z,STANDARD\n"),
}


@pytest.mark.parametrize("name", sorted(GOOD))
def test_bom_and_crlf_read_like_the_clean_file(tmp_path, name):
    reader, text = GOOD[name]
    clean = tmp_path / name
    clean.write_text(text)
    rows = lambda table: table.drop([c for c in ("source_file",) if c in table.column_names]).to_pylist()  # noqa: E731
    expected = rows(reader(str(clean))[0])
    assert expected, "the clean file must give rows"
    messy = tmp_path / "messy" / name
    messy.parent.mkdir()
    messy.write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode())
    got = rows(reader(str(messy))[0])
    if name == "smi.csv":  # the host comes from the parent folder
        expected = [dict(r, hostname="messy") for r in expected]
    assert got == expected


# An empty request log (a quiet hour) and an empty inventory (an empty bucket) are real, valid files.
EMPTY_IS_VALID = {"requests.jsonl", "inventory.csv"}


@pytest.mark.parametrize("name", sorted(GOOD))
@pytest.mark.parametrize("broken", ["empty", "utf16", "binary", "truncated_gzip"])
def test_broken_files_fail_with_the_file_named(tmp_path, name, broken):
    reader, text = GOOD[name]
    path = tmp_path / name
    if broken == "empty":
        path.write_bytes(b"")
    elif broken == "utf16":
        path.write_bytes(text.encode("utf-16"))
    elif broken == "binary":
        path.write_bytes(bytes(range(256)) * 4)
    else:
        path.write_bytes(gzip.compress(text.encode())[:25])
    if broken == "empty" and name in EMPTY_IS_VALID:
        rows, rejects = reader(str(path))
        assert rows.num_rows == 0 and rejects.num_rows == 0
        return
    try:
        rows, rejects = reader(str(path))
    except BadFileError as exc:
        assert name in str(exc)
        return
    # a reader may also accept the file if every record it could not read is in the rejects
    assert rows.num_rows == 0 and rejects.num_rows > 0, (broken, rows.num_rows, rejects.num_rows)
