"""The generated sample tells one story: every landing folder is filled from the same resources,
hosts and hours as the bill, with a learnable runtime relation and realistic failure rates."""

import csv
import json
from collections import Counter
from pathlib import Path

import duckdb
import numpy as np

from orchestration.ingest.jobs import read_mlflow_runs_csv, read_sagemaker_training_jobs
from orchestration.sample_data.generator import generate
from orchestration.sample_data.workloads import UNMAPPED_HOST


def billed_resource_ids(landing: Path) -> set[str]:
    con = duckdb.connect()
    ids = set()
    for sql in (
        f"SELECT DISTINCT line_item_resource_id FROM read_parquet('{landing}/billing/cur2/**/*.parquet')",
        f"SELECT DISTINCT \"lineItem/ResourceId\" FROM read_csv('{landing}/billing/cur-legacy/**/*.csv.gz', all_varchar=true)",
        f"SELECT DISTINCT ResourceId FROM read_csv('{landing}/billing/focus/**/*.csv.gz', all_varchar=true)",
    ):
        ids |= {r[0] for r in con.execute(sql).fetchall() if r[0]}
    return ids


def jobs(landing: Path) -> list[dict]:
    rows = []
    for f in sorted((landing / "jobs" / "mlflow").glob("*.csv")):
        rows += read_mlflow_runs_csv(str(f))[0].to_pylist()
    for f in sorted((landing / "jobs" / "sagemaker").glob("*.json")):
        rows += read_sagemaker_training_jobs(str(f))[0].to_pylist()
    return rows


def test_every_landing_folder_is_filled(sample_landing_master):
    for folder, pattern in (("billing", "*.parquet"), ("utilization/prometheus", "*.json"),
                            ("utilization/nvidia-smi", "*.csv"), ("jobs/mlflow", "*.csv"), ("jobs/sagemaker", "*.json"),
                            ("inference/litellm", "*.jsonl"), ("inference/cloudwatch", "*.csv"),
                            ("storage", "*.csv.gz"), ("inventory", "hosts.csv"), ("budgets", "budgets.csv")):
        assert list((sample_landing_master / folder).rglob(pattern)), folder


def test_hosts_jobs_and_endpoints_name_billed_resources(sample_landing_master):
    billed = billed_resource_ids(sample_landing_master)
    with open(sample_landing_master / "inventory" / "hosts.csv", newline="") as fh:
        hosts = {r["hostname"]: r["resource_id"] for r in csv.DictReader(fh)}
    assert hosts and set(hosts.values()) <= billed
    all_jobs = jobs(sample_landing_master)
    sagemaker = [j for j in all_jobs if j["source"] == "sagemaker"]
    assert sagemaker and {j["resource_id"] for j in sagemaker} <= billed  # CUR bills each training job by its ARN
    linked = [j for j in all_jobs if j["source"] == "mlflow"]
    by_id = [j for j in linked if j["resource_id"]]
    by_host = [j for j in linked if not j["resource_id"]]
    assert by_id and by_host  # both ways a run can name its box
    assert {j["resource_id"] for j in by_id} <= billed
    unmapped = [j for j in by_host if j["hostname"] not in hosts]
    assert {j["hostname"] for j in unmapped} == {UNMAPPED_HOST}
    endpoints = {r["EndpointName"] for r in csv.DictReader(open(sample_landing_master / "inference" / "cloudwatch" / "sagemaker-endpoint-metrics.csv"))}
    assert endpoints and all(any(b.endswith(f"endpoint/{e}") for b in billed) for e in endpoints)


def test_run_outcomes_are_realistic(sample_landing_master):
    statuses = Counter(j["status"] for j in jobs(sample_landing_master))
    total = sum(statuses.values())
    assert 0.06 <= (statuses["FAILED"] + statuses["KILLED"]) / total <= 0.10, statuses
    assert statuses["RUNNING"] >= 1 and statuses["KILLED"] >= 1


def test_runtime_is_learnable_from_job_parameters(sample_landing_master):
    """log runtime is close to linear in the log of the parameters: a model that reads them must
    beat the per-instance-type median by a wide margin (issue 4 builds on this)."""
    rows = [j for j in jobs(sample_landing_master) if j["source"] == "mlflow" and j["status"] == "FINISHED"]
    params = [json.loads(j["params"]) for j in rows]
    hours = np.array([(j["end_time"] - j["start_time"]).total_seconds() / 3600 for j in rows])
    types = sorted({j["instance_type"] for j in rows})
    X = np.column_stack([
        np.log([float(p[k]) for p in params]) for k in ("epochs", "dataset_gb", "model_params_m", "batch_size")
    ] + [np.log([j["gpu_count"] for j in rows])] + [[j["instance_type"] == t for j in rows] for t in types]).astype(float)
    y = np.log(hours)
    coef, *_ = np.linalg.lstsq(X, y, rcond=None)
    model_error = np.median(np.abs(np.exp(X @ coef) - hours) / hours)
    medians = {t: np.median(hours[[j["instance_type"] == t for j in rows]]) for t in types}
    baseline_error = np.median(np.abs(np.array([medians[j["instance_type"]] for j in rows]) - hours) / hours)
    assert model_error < 0.25 < baseline_error, (model_error, baseline_error)


def test_telemetry_has_one_unmapped_host_and_a_duplicated_scrape(sample_landing_master):
    with open(sample_landing_master / "inventory" / "hosts.csv", newline="") as fh:
        hosts = {r["hostname"] for r in csv.DictReader(fh)}
    seen, duplicated = set(), False
    for f in (sample_landing_master / "utilization" / "prometheus").glob("dcgm_fi_dev_gpu_util_*.json"):
        result = json.loads(f.read_text())["data"]["result"]
        keys = [json.dumps(s["metric"], sort_keys=True) for s in result]
        duplicated |= len(keys) != len(set(keys))
        seen |= {s["metric"]["Hostname"] for s in result}
    seen |= {p.parent.name for p in (sample_landing_master / "utilization" / "nvidia-smi").rglob("*.csv")}
    assert seen - hosts == {UNMAPPED_HOST}
    assert duplicated


def test_workload_files_are_deterministic(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for d in (a, b):
        generate(d, seed=3, days=12, log=lambda m: None)
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert all((a / f).read_bytes() == (b / f).read_bytes() for f in files)


def test_a_shared_llm_endpoint_has_tenants_with_different_token_mixes_and_a_notebook_is_billed(sample_landing_master):
    from orchestration.ingest.inference import read_request_log_jsonl

    rows = []
    for f in sorted((sample_landing_master / "inference" / "litellm").glob("*.jsonl")):
        rows += read_request_log_jsonl(str(f))[0].to_pylist()
    by_endpoint: dict[str, list[dict]] = {}
    for r in rows:
        by_endpoint.setdefault(r["endpoint"], []).append(r)
    shared = [reqs for reqs in by_endpoint.values() if len({r["team"] for r in reqs}) >= 4]
    assert shared
    for reqs in shared:
        assert len({r["api_key_alias"] for r in reqs}) >= 5 and len({r["user_name"] for r in reqs}) >= 5
        assert {r["org_id"] for r in reqs} == {"acme"}
        mix = {}
        for r in reqs:
            p, c = mix.get(r["api_key_alias"], (0, 0))
            mix[r["api_key_alias"]] = (p + r["prompt_tokens"], c + r["completion_tokens"])
        ratios = sorted(c / p for p, c in mix.values())
        assert ratios[-1] / ratios[0] > 10  # RAG search vs code generation
    assert any(":notebook-instance/" in b for b in billed_resource_ids(sample_landing_master))


def test_a_larger_sample_keeps_every_line_item_id_unique(tmp_path):
    """From scale 8 up the world reserves several boxes: each reservation has its own ARN and its
    own RIFee line each month (one id shared by all of them broke no_duplicate_line_items)."""
    generate(tmp_path, seed=11, scale=8, days=40, formats=("cur2",), workloads=False, log=lambda m: None)
    files = str(tmp_path / "billing" / "cur2" / "**" / "*.parquet")
    rows, ids, fees, reservations, used = duckdb.sql(f"""
        SELECT COUNT(*), COUNT(DISTINCT identity_line_item_id),
               COUNT(*) FILTER (WHERE line_item_line_item_type = 'RIFee'),
               COUNT(DISTINCT line_item_resource_id) FILTER (WHERE line_item_line_item_type = 'RIFee'),
               COUNT(DISTINCT reservation_reservation_a_r_n) FILTER (WHERE line_item_line_item_type = 'DiscountedUsage')
        FROM read_parquet('{files}')""").fetchall()[0]
    assert rows == ids
    assert reservations > 1 and fees == 2 * reservations  # 40 days: two billing periods
    assert used == reservations  # every reserved box's usage names its own reservation
