"""The whole graph against a real S3 API (moto's standalone server on 127.0.0.1): a CUR 2.0
delivery laid out as AWS Data Exports writes it, the landing sensor's view of it, a re-delivery
that replaces its period, and exports that land in the bucket. Credentials come from boto3's own
chain (environment variables here); none are written to files."""

import os
import subprocess
import sys
import time
import urllib.request
from decimal import Decimal
from pathlib import Path

import boto3
import duckdb
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from orchestration.billing.sensors import changed_periods
from orchestration.config import REPO_ROOT
from orchestration.ingest.pipeline import scan_billing
from orchestration.sample_data.generator import generate
from tests.conftest import free_port

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def s3_env():
    port = free_port()
    server = subprocess.Popen([str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(endpoint, timeout=1)
            break
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                pytest.fail("moto_server did not start")
            time.sleep(0.2)
    env = {"AWS_ENDPOINT_URL_S3": endpoint, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_DEFAULT_REGION": "us-east-1"}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield env
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        server.terminate()
        server.wait(timeout=10)


def _upload(s3, local_root: Path, bucket: str, prefix: str) -> list[str]:
    keys = []
    for path in sorted(p for p in local_root.rglob("*") if p.is_file()):
        key = f"{prefix}/{path.relative_to(local_root).as_posix()}"
        s3.upload_file(str(path), bucket, key)
        keys.append(key)
    return keys


def test_cur2_delivery_on_s3_runs_end_to_end_and_a_redelivery_replaces_its_period(s3_env, tmp_path, tagging):
    s3 = boto3.client("s3")
    for bucket in ("acme-billing", "acme-bi"):
        s3.create_bucket(Bucket=bucket)
    local = tmp_path / "landing"
    generate(local, days=40, formats=("cur2",), workloads=False, log=lambda m: None)
    keys = _upload(s3, local, "acme-billing", "finops-landing")
    assert any("/data/BILLING_PERIOD=" in k for k in keys) and any(k.endswith("-Manifest.json") for k in keys)
    landing = "s3://acme-billing/finops-landing"

    # the landing sensor sees every period of the first delivery
    cursor, touched = changed_periods({}, scan_billing(landing), tagging)
    periods = sorted(touched)
    assert len(periods) >= 2

    env = dict(os.environ, **s3_env, FINOPS_LANDING=landing, FINOPS_EXPORTS="s3://acme-bi/finops",
               FINOPS_WAREHOUSE=str(tmp_path / "wh.duckdb"), FINOPS_MODELS=str(tmp_path / "models"),
               DAGSTER_HOME=str(tmp_path / "dagster_home"))
    run = lambda: subprocess.run([sys.executable, "-m", "orchestration.cli", "run"], cwd=REPO_ROOT, env=env,  # noqa: E731
                                 capture_output=True, text=True, timeout=900)
    first = run()
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    exported = {o["Key"] for o in s3.list_objects_v2(Bucket="acme-bi", Prefix="finops/")["Contents"]}
    for name in ("daily_cost.parquet", "daily_cost.csv", "recommendations.parquet", "unit_costs.csv", "spend_forecast.png"):
        assert f"finops/{name}" in exported, name
    assert "testing" not in first.stdout + first.stderr  # no credential in the logs

    # AWS restates the last period: same keys, new content (costs doubled here)
    period = periods[-1]
    restated = sorted((local / "billing").rglob(f"BILLING_PERIOD={period}/*.parquet"))
    expected = Decimal(0)
    for path in restated:
        table = pq.read_table(path)
        doubled = table.set_column(table.schema.get_field_index("line_item_unblended_cost"), "line_item_unblended_cost",
                                   pc.multiply(table["line_item_unblended_cost"], 2))
        pq.write_table(doubled, path)
        expected += Decimal(str(pc.sum(doubled["line_item_unblended_cost"]).as_py()))
        s3.upload_file(str(path), "acme-billing", f"finops-landing/{path.relative_to(local).as_posix()}")
    _, touched = changed_periods(cursor, scan_billing(landing), tagging)
    assert sorted(touched) == [period]  # only the restated period is picked up

    second = run()
    assert second.returncode == 0, second.stdout[-3000:]
    con = duckdb.connect(env["FINOPS_WAREHOUSE"], read_only=True)
    try:
        loaded = con.execute("SELECT SUM(BilledCost) FROM raw.billing_line_items WHERE x_billing_period = ?", [period]).fetchone()[0]
    finally:
        con.close()
    assert abs(loaded - expected) < Decimal("0.01")  # replaced, not added to the first delivery
