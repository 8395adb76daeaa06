"""Readers for request logs (LiteLLM / OpenAI usage), CloudWatch endpoint metrics, S3 Inventory and budgets."""

import gzip
import json
from datetime import datetime
from decimal import Decimal

import pytest

from orchestration.ingest.budgets import read_budgets_csv
from orchestration.ingest.errors import BadFileError
from orchestration.ingest.inference import read_cloudwatch_endpoint_metrics_csv, read_request_log_jsonl
from orchestration.ingest.storage import read_s3_inventory


def test_litellm_and_openai_usage_lines(tmp_path):
    lines = [
        {"request_id": "chatcmpl-1", "call_type": "acompletion", "api_key": "88dc28d0f030c55ed4ab77ed8faf098196cb1c05df778539800c9f1243fe6b4b",
         "spend": 0.00123, "total_tokens": 1500, "prompt_tokens": 1200, "completion_tokens": 300,
         "startTime": "2026-11-03T10:00:00.250Z", "endTime": "2026-11-03T10:00:01.750Z", "model": "llama-3-70b",
         "api_base": "https://runtime.sagemaker.us-east-1.amazonaws.com/endpoints/chat-llm-0001", "user": "u-42",
         "metadata": {"user_api_key_team_alias": "nlp", "user_api_key_alias": "chat-prod"}, "status": "success"},
        {"id": "chatcmpl-2", "object": "chat.completion", "created": 1762164000, "model": "llama-3-8b",
         "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}, "endpoint": "chat-small"},
        {"request_id": "r3", "startTime": "2026-11-03T10:00:00Z", "prompt_tokens": -4},
        {"request_id": "r4", "startTime": "2026-11-03T10:00:05Z", "endTime": "2026-11-03T10:00:01Z"},
    ]
    f = tmp_path / "requests.jsonl"
    f.write_text("\n".join(json.dumps(x) for x in lines) + "\n{not json\n")
    good, rejects = read_request_log_jsonl(str(f))
    rows = good.to_pylist()
    assert rows[0]["latency_ms"] == 1500.0 and rows[0]["team"] == "nlp" and rows[0]["api_key_alias"] == "chat-prod"
    assert (rows[0]["prompt_tokens"], rows[0]["completion_tokens"], rows[0]["total_tokens"]) == (1200, 300, 1500)
    assert rows[1]["total_tokens"] == 15 and rows[1]["started_at"] == datetime(2025, 11, 3, 10) and rows[1]["endpoint"] == "chat-small"
    assert [(r["source_row"], r["column_name"]) for r in rejects.to_pylist()] == [(3, "tokens"), (4, "endTime"), (5, "(line)")]


def test_cloudwatch_endpoint_metrics(tmp_path):
    f = tmp_path / "cw.csv"
    f.write_text("timestamp,EndpointName,VariantName,metric,value\n"
                 "2026-11-03T10:00:00Z,chat-llm-0001,AllTraffic,Invocations,120\n"
                 "2026-11-03T10:00:00Z,chat-llm-0001,AllTraffic,GPUUtilization,NaN\n")
    good, rejects = read_cloudwatch_endpoint_metrics_csv(str(f))
    assert good.to_pylist()[0]["value"] == 120.0
    assert rejects.to_pylist()[0]["column_name"] == "value"


def test_s3_inventory_csv_without_header_uses_manifest_and_decodes_keys(tmp_path):
    d = tmp_path / "acme-data" / "inventory" / "data"
    d.mkdir(parents=True)
    (tmp_path / "acme-data" / "inventory" / "manifest.json").write_text(json.dumps(
        {"sourceBucket": "acme-data", "fileFormat": "CSV",
         "fileSchema": "Bucket, Key, Size, LastModifiedDate, StorageClass, ETag"}))
    body = ('"acme-data","datasets/imagenet+train/part%2B0001.tar","1048576","2026-01-05T10:00:00.000Z","STANDARD","e1"\n'
            '"acme-data","tmp/x","-5","2026-01-05T10:00:00.000Z","STANDARD","e2"\n')
    (d / "a.csv.gz").write_bytes(gzip.compress(body.encode()))
    good, rejects = read_s3_inventory(str(d / "a.csv.gz"))
    row = good.to_pylist()[0]
    assert row["key"] == "datasets/imagenet train/part+0001.tar" and row["size_bytes"] == 1048576
    assert row["last_modified_at"] == datetime(2026, 1, 5, 10)
    assert rejects.to_pylist()[0]["column_name"] == "size"


def test_s3_inventory_with_header_row(tmp_path):
    f = tmp_path / "inv.csv"
    f.write_text("bucket,key,size,last_modified_date,storage_class,last_access_date\n"
                 "acme,ckpt/a.pt,10,2026-01-01T00:00:00Z,STANDARD_IA,2026-02-01T00:00:00Z\n")
    row = read_s3_inventory(str(f))[0].to_pylist()[0]
    assert row["storage_class"] == "STANDARD_IA" and row["last_access_at"] == datetime(2026, 2, 1)


def test_budgets(tmp_path):
    f = tmp_path / "budgets.csv"
    f.write_text("team,month,amount_usd\nnlp,2026-11,120000.50\nnlp,2026-11,1\nvision,2026-13,5\nrecsys,2026-11,-3\n")
    good, rejects = read_budgets_csv(str(f))
    assert good.to_pylist()[0]["amount_usd"] == Decimal("120000.50")
    assert [r["column_name"] for r in rejects.to_pylist()] == ["team", "month", "amount_usd"]
    (tmp_path / "b2.csv").write_text("team,amount\n")
    with pytest.raises(BadFileError, match="column 'month'"):
        read_budgets_csv(str(tmp_path / "b2.csv"))


def test_s3_inventory_manifest_in_its_dated_sibling_folder(tmp_path):
    """S3 writes <config>/data/<uuid>.csv.gz and <config>/<YYYY-MM-DDTHH-MMZ>/manifest.json; the
    newest manifest that lists the data file gives its column order."""
    config = tmp_path / "acme-inventory" / "acme-datasets" / "daily"
    (config / "data").mkdir(parents=True)
    data = config / "data" / "5f0e.csv.gz"
    data.write_bytes(gzip.compress(b'"acme-datasets","a/b+c.tar","10","2026-01-02T03:04:05.000Z","GLACIER","2026-06-01T00:00:00.000Z"\n'))
    for stamp, schema, key in (("2026-11-18T01-00Z", "Bucket, Key, Size, LastModifiedDate, StorageClass, LastAccessDate", "data/5f0e.csv.gz"),
                               ("2026-11-19T01-00Z", "Bucket, Key, Size", "data/other.csv.gz")):
        (config / stamp).mkdir()
        (config / stamp / "manifest.json").write_text(json.dumps(
            {"fileSchema": schema, "files": [{"key": f"acme-datasets/daily/{key}"}]}))
    rows, rejects = read_s3_inventory(str(data))
    assert rejects.num_rows == 0
    row = rows.to_pylist()[0]
    assert (row["key"], row["storage_class"], row["last_access_at"]) == ("a/b c.tar", "GLACIER", datetime(2026, 6, 1))


def test_litellm_tenant_user_and_key_alias_from_metadata(tmp_path):
    """LiteLLM spend logs name the tenant (team alias, org), the user and the API key alias; older
    logs without them still load with those columns empty."""
    lines = [
        {"request_id": "a", "startTime": "2026-11-03T10:00:00Z", "model": "llama", "prompt_tokens": 10, "completion_tokens": 2,
         "end_user": "cust-7", "metadata": {"user_api_key_team_alias": "support", "user_api_key_alias": "support-bot",
                                             "user_api_key_user_id": "u-1", "user_api_key_org_id": "org-acme"}},
        {"request_id": "b", "startTime": "2026-11-03T10:00:01Z", "model": "llama",
         "metadata": {"user_api_key_user_id": "u-2", "user_api_key_team_id": "team-uuid-9"}},
        {"request_id": "c", "startTime": "2026-11-03T10:00:02Z", "model": "llama", "prompt_tokens": 1, "completion_tokens": 1},
    ]
    f = tmp_path / "spend.jsonl"
    f.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    rows = read_request_log_jsonl(str(f))[0].to_pylist()
    pick = [(r["team"], r["org_id"], r["user_name"], r["api_key_alias"]) for r in rows]
    assert pick == [("support", "org-acme", "cust-7", "support-bot"), ("team-uuid-9", None, "u-2", None), (None, None, None, None)]
