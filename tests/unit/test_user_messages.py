"""Every error a user can cause says what is wrong and what to do, in one sentence, naming the
file, path, setting or line; and the long steps say how far they got. One test per message,
each on real parts: real files, a DuckDB lock held by another process, botocore with no
credentials anywhere, moto's S3 server with IAM enforced, and the CLI as a subprocess."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import boto3
import duckdb
import pytest

from orchestration.config import REPO_ROOT, ConfigError, ensure_writable_folder, load_settings
from orchestration.ingest.billing import PeriodFailed
from orchestration.ingest.errors import BadFileError, LandingError
from orchestration.ingest.folders import FILE_ERRORS, RAW_TABLES, load_raw_table
from orchestration.ingest.landing import check_location, list_files
from orchestration.ingest.pipeline import ingest_billing_period
from orchestration.policy import PolicyError, load_policy
from orchestration.resources import WarehouseBusyError, connect_warehouse
from tests.conftest import free_port

SECRET = "wJalrXUtnFEMI-do-not-print-me-EXAMPLEKEY"
HEADER = "BillingAccountId,BillingPeriodStart,ChargePeriodStart,ChargePeriodEnd,ChargeCategory,BilledCost,EffectiveCost,ServiceName,Tags\n"


def focus_rows(period: str, n: int, account: str = "acct-1") -> str:
    return "".join(f"{account},{period}-01T00:00:00Z,{period}-02T00:00:00Z,{period}-02T01:00:00Z,Usage,7.00,7.00,X,\"{{}}\"\n"
                   for _ in range(n))


def one_line(message: str) -> None:
    assert "\n" not in message and SECRET not in message


# --- settings --------------------------------------------------------------------------------

def test_landing_folder_that_does_not_exist(tmp_path):
    missing = tmp_path / "no-such-landing"
    with pytest.raises(LandingError) as exc:
        list_files(str(missing), "billing")
    assert str(exc.value) == (f"FINOPS_LANDING={missing} does not exist: fix the path, create the folder (with "
                              "billing/ inside), or unset FINOPS_LANDING to use the bundled sample")


def test_landing_that_is_a_file(tmp_path):
    f = tmp_path / "landing.csv"
    f.write_text("x\n")
    with pytest.raises(LandingError, match=rf"FINOPS_LANDING={f} is a file, not a folder: point FINOPS_LANDING at the folder"):
        check_location(str(f))


def test_policy_file_missing(tmp_path):
    with pytest.raises(PolicyError) as exc:
        load_policy(tmp_path / "nope.yaml")
    assert str(exc.value) == (f"{tmp_path / 'nope.yaml'}: policy file not found: point FINOPS_POLICY at your "
                              "policy.yaml, or unset FINOPS_POLICY to use the one shipped at the repository root")


def _policy(tmp_path, body: str) -> Path:
    f = tmp_path / "policy.yaml"
    f.write_text("tagging:\n  keys:\n    team: [team]\n" + body)
    return f


def test_policy_unknown_key_names_line_and_the_likely_key(tmp_path):
    f = _policy(tmp_path, "allocation:\n  idle_gpu_utilisation_below: 0.05\n")
    with pytest.raises(PolicyError) as exc:
        load_policy(f)
    assert str(exc.value) == (f"{f}, line 5: unknown key 'idle_gpu_utilisation_below' under 'allocation': rename it to "
                              "'idle_gpu_utilization_below' or remove it (allowed keys: idle_distribution, idle_gpu_utilization_below)")


def test_policy_negative_value(tmp_path):
    f = _policy(tmp_path, "  top_offenders: -3\n")
    with pytest.raises(PolicyError, match=rf"^{f}, line 4: 'tagging.top_offenders' must be a whole number >= 1, got -3$"):
        load_policy(f)


def test_policy_percent_over_100(tmp_path):
    f = _policy(tmp_path, "forecast:\n  levels: [80, 120]\n")
    with pytest.raises(PolicyError, match=r"line 5: 'forecast.levels' must list interval levels in percent "
                                          r"\(e.g. \[80, 95\]\), got \[80, 120\]$"):
        load_policy(f)


def test_policy_share_written_as_a_percent(tmp_path):
    f = _policy(tmp_path, "allocation:\n  idle_gpu_utilization_below: 5\n")
    with pytest.raises(PolicyError, match=r"line 5: 'allocation.idle_gpu_utilization_below' must be a share between "
                                          r"0 and 1 \(e.g. 0.05 for 5 %\), got 5$"):
        load_policy(f)


def test_policy_wrong_type(tmp_path):
    f = _policy(tmp_path, "forecast:\n  horizon_days: thirty\n")
    with pytest.raises(PolicyError, match=r"line 5: 'forecast.horizon_days' must be a whole number between 1 and 366, "
                                          r"got 'thirty'$"):
        load_policy(f)


def test_policy_not_yaml(tmp_path):
    f = _policy(tmp_path, "forecast:\n  levels: [80, 95\n  horizon_days: 30\n")
    with pytest.raises(PolicyError) as exc:
        load_policy(f)
    one_line(str(exc.value))
    assert str(exc.value).startswith(f"{f}, line 6: not valid YAML (")
    assert str(exc.value).endswith("): fix the indentation, a missing ':' or an unclosed quote or bracket there")


def test_warehouse_on_s3():
    with pytest.raises(ConfigError, match=r"^FINOPS_WAREHOUSE=s3://b/w.duckdb is on S3, but DuckDB needs a local file: "
                                          r"set FINOPS_WAREHOUSE to a local path"):
        load_settings({"FINOPS_WAREHOUSE": "s3://b/w.duckdb"})


def test_warehouse_folder_not_writable(tmp_path):
    (tmp_path / "data").write_text("a file where the folder should be")
    path = tmp_path / "data" / "warehouse" / "finops.duckdb"
    with pytest.raises(ConfigError) as exc:
        connect_warehouse(str(path), wait_seconds=0)
    assert str(exc.value) == (f"FINOPS_WAREHOUSE: cannot open the warehouse {path} ({tmp_path / 'data'} is a file, not "
                              "a folder): point FINOPS_WAREHOUSE at a file in a folder you can write to, or fix the "
                              "folder's permissions")


@pytest.fixture
def locked_warehouse(tmp_path):
    """A warehouse file whose DuckDB write lock another process holds."""
    path = tmp_path / "finops.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('locked', flush=True); "
                               "time.sleep(120)", str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        yield path, holder.pid
    finally:
        holder.kill()
        holder.wait(timeout=10)


def test_warehouse_locked_by_another_process(locked_warehouse):
    path, pid = locked_warehouse
    with pytest.raises(WarehouseBusyError) as exc:
        connect_warehouse(str(path), wait_seconds=0.6)
    assert str(exc.value) == (f"the warehouse {path} is locked by another process (PID {pid}): another run (`make run`, "
                              "a Dagster job) or a DuckDB shell holds it; wait for it to finish or stop it, then run again")


def test_exports_folder_not_writable(tmp_path):
    (tmp_path / "out").write_text("a file")
    with pytest.raises(ConfigError) as exc:
        ensure_writable_folder(tmp_path / "out" / "exports", "FINOPS_EXPORTS")
    assert str(exc.value) == (f"FINOPS_EXPORTS: cannot write to the folder {tmp_path / 'out' / 'exports'} "
                              f"({tmp_path / 'out'} is a file, not a folder): point FINOPS_EXPORTS at a folder you can "
                              "write to, or fix its permissions")


def test_bad_log_level():
    with pytest.raises(ConfigError) as exc:
        load_settings({"FINOPS_LOG_LEVEL": "verbose"})
    assert str(exc.value) == ("FINOPS_LOG_LEVEL='verbose' is not a log level: set it to DEBUG, INFO, WARNING, ERROR or "
                              "CRITICAL, or unset it for WARNING")
    assert load_settings({"FINOPS_LOG_LEVEL": "info"}).log_level == "INFO"


@pytest.mark.parametrize("value", ["lots", "4", "0GB", "150%"])
def test_bad_duckdb_memory_limit(value, tmp_path, monkeypatch):
    message = (f"FINOPS_DUCKDB_MEMORY_LIMIT={value!r} is not a memory size: set it like 4GB, 512MB or 75% (of RAM), "
               "or unset it for 4GB")
    with pytest.raises(ConfigError) as exc:
        load_settings({"FINOPS_DUCKDB_MEMORY_LIMIT": value})
    assert str(exc.value) == message
    monkeypatch.setenv("FINOPS_DUCKDB_MEMORY_LIMIT", value)  # the Dagster resource says the same, not DuckDB's parser
    with pytest.raises(ConfigError) as exc:
        connect_warehouse(str(tmp_path / "w.duckdb"), wait_seconds=0)
    assert str(exc.value) == message


def test_good_duckdb_memory_limits_pass():
    for value in ("4GB", "512 MB", "1GiB", "75%"):
        assert load_settings({"FINOPS_DUCKDB_MEMORY_LIMIT": value}).memory_limit == value


# --- S3 --------------------------------------------------------------------------------------

_AWS_VARS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_PROFILE",
             "AWS_DEFAULT_PROFILE", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
             "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_CA_BUNDLE")


@pytest.fixture
def no_aws(tmp_path, monkeypatch):
    """botocore with no credentials anywhere: no variables, no files, no instance metadata. Returns
    the environment for a subprocess too."""
    for name in _AWS_VARS:
        monkeypatch.delenv(name, raising=False)
    env = {"AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"), "AWS_CONFIG_FILE": str(tmp_path / "no-config"),
           "AWS_EC2_METADATA_DISABLED": "true", "AWS_DEFAULT_REGION": "us-east-1", "AWS_MAX_ATTEMPTS": "1"}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)  # credentials are cached per session
    return env


def test_s3_without_credentials(no_aws):
    with pytest.raises(LandingError) as exc:
        list_files("s3://acme-billing/exports", "billing")
    assert str(exc.value) == ("no AWS credentials found for s3://acme-billing/exports/billing/: set AWS_PROFILE or "
                              "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or run with an instance role")


def test_s3_profile_that_does_not_exist(no_aws, monkeypatch):
    monkeypatch.setenv("AWS_PROFILE", "finops-prod")
    with pytest.raises(LandingError) as exc:
        check_location("s3://acme-billing/exports")
    assert str(exc.value) == ("AWS_PROFILE=finops-prod is not a profile in your AWS config (~/.aws/config, "
                              "~/.aws/credentials): fix AWS_PROFILE, or add the profile with `aws configure`")


def test_s3_endpoint_unreachable(no_aws, monkeypatch):
    endpoint = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    with pytest.raises(LandingError) as exc:
        check_location("s3://acme-billing/exports")
    one_line(str(exc.value))
    assert str(exc.value).startswith(f"cannot reach S3 at {endpoint}")
    assert str(exc.value).endswith("for s3://acme-billing/exports: check the network connection, and "
                                   "AWS_ENDPOINT_URL_S3 if you set one")


@pytest.fixture(scope="module")
def moto_iam():
    """moto's S3 server with IAM enforced: a bucket, a user allowed everything on S3, a user
    allowed nothing. The setup requests run before enforcement starts."""
    port = free_port()
    env = dict(os.environ, INITIAL_NO_AUTH_ACTION_COUNT="6")
    server = subprocess.Popen([str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(port)],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(endpoint + "/moto-api/data.json", timeout=1)
            break
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                pytest.fail("moto_server did not start")
            time.sleep(0.1)
    try:
        admin = {"endpoint_url": endpoint, "region_name": "us-east-1", "aws_access_key_id": "AKIASETUP",
                 "aws_secret_access_key": "setup"}
        boto3.client("s3", **admin).create_bucket(Bucket="acme-billing")                     # 1
        iam = boto3.client("iam", **admin)
        iam.create_user(UserName="nobody")                                                  # 2
        nobody = iam.create_access_key(UserName="nobody")["AccessKey"]                       # 3
        iam.create_user(UserName="reader")                                                  # 4
        iam.put_user_policy(UserName="reader", PolicyName="s3", PolicyDocument=json.dumps(  # 5
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
        reader = iam.create_access_key(UserName="reader")["AccessKey"]                       # 6
        yield {"endpoint": endpoint, "nobody": nobody, "reader": reader}
    finally:
        server.terminate()
        server.wait(timeout=10)


def _use(monkeypatch, moto_iam, key_id: str, secret: str) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", moto_iam["endpoint"])
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)


def test_s3_bucket_that_does_not_exist(no_aws, moto_iam, monkeypatch):
    _use(monkeypatch, moto_iam, moto_iam["reader"]["AccessKeyId"], moto_iam["reader"]["SecretAccessKey"])
    assert list_files("s3://acme-billing/exports", "billing") == []  # the reader can list the real bucket
    with pytest.raises(LandingError) as exc:
        list_files("s3://acme-bililng/exports", "billing")
    assert str(exc.value) == ("the bucket 'acme-bililng' of FINOPS_LANDING=s3://acme-bililng/exports/billing/ does not "
                              "exist: fix FINOPS_LANDING, or create the bucket")


def test_s3_access_denied(no_aws, moto_iam, monkeypatch):
    _use(monkeypatch, moto_iam, moto_iam["nobody"]["AccessKeyId"], moto_iam["nobody"]["SecretAccessKey"])
    with pytest.raises(LandingError) as exc:
        list_files("s3://acme-billing/exports", "billing")
    assert str(exc.value) == ("access denied to s3://acme-billing/exports/billing/: grant s3:ListBucket and s3:GetObject "
                              "on it to the credentials boto3 uses (AWS_PROFILE, environment or role), or fix FINOPS_LANDING")
    assert moto_iam["nobody"]["SecretAccessKey"] not in str(exc.value)


def test_s3_credentials_rejected(no_aws, moto_iam, monkeypatch):
    _use(monkeypatch, moto_iam, "AKIANOSUCHKEY0000000", SECRET)
    with pytest.raises(LandingError) as exc:
        check_location("s3://acme-billing/exports")
    assert str(exc.value) == ("S3 rejected the AWS credentials for s3://acme-billing/exports (InvalidAccessKeyId): check "
                              "AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or refresh an expired session")


# --- unreadable landing files ------------------------------------------------------------------

@pytest.fixture
def landing(tmp_path):
    billing = tmp_path / "landing" / "billing"
    billing.mkdir(parents=True)
    (billing / "ok-2026-09.csv").write_text(HEADER + focus_rows("2026-09", 20))
    return tmp_path / "landing"


def _ingest_fails(landing, period, tagging) -> str:
    con = duckdb.connect()
    try:
        with pytest.raises(PeriodFailed) as exc:
            ingest_billing_period(con, str(landing), period, tagging, log=lambda m: None)
    finally:
        con.close()
    one_line(str(exc.value))
    return str(exc.value)


def test_billing_truncated_gzip(landing, tagging):
    blob = gzip.compress((HEADER + focus_rows("2026-10", 2000)).encode())
    bad = landing / "billing" / "cut-2026-10.csv.gz"
    bad.write_bytes(blob[: len(blob) // 2])
    message = _ingest_fails(landing, "2026-10", tagging)
    assert message.startswith(f"billing period 2026-10 keeps its previous data because 1 file(s) cannot be read: {bad}: ")
    assert "GZIP" in message and message.count(str(bad)) == 1  # the path is not repeated
    assert message.endswith("; re-deliver the file or remove it from the landing folder")


def test_billing_corrupt_parquet(landing, tagging):
    bad = landing / "billing" / "export-2026-08.parquet"
    bad.write_bytes(b"PAR1" + b"\0" * 100)
    message = _ingest_fails(landing, "2026-08", tagging)
    assert f"{bad}: not a readable parquet file (" in message
    assert message.endswith("; re-deliver the file or remove it from the landing folder")


def test_billing_file_of_unknown_format(landing, tagging):
    bad = landing / "billing" / "inventory-2026-07.csv"
    bad.write_text("bucket,key,size\nb,k,1\n")
    message = _ingest_fails(landing, "2026-07", tagging)
    assert message.endswith(f"{bad}: not a billing export this pipeline knows: expected CUR 2.0 (line_item_unblended_cost), "
                            "legacy CUR (lineItem/UnblendedCost) or FOCUS (BilledCost) columns; move it out of billing/, "
                            "or export it again in one of these formats")


def test_billing_file_without_a_required_column(landing, tagging):
    bad = landing / "billing" / "focus-2026-06.csv"
    bad.write_text("BilledCost,ChargePeriodStart\n1,2026-06-01\n")
    message = _ingest_fails(landing, "2026-06", tagging)
    assert message.endswith(f"{bad}, column 'BillingAccountId': FOCUS file without a required column; re-deliver the "
                            "file or remove it from the landing folder")


def test_utf16_file_says_how_to_export_it(tmp_path):
    from orchestration.ingest.detect import read_header

    f = tmp_path / "cur.csv"
    f.write_bytes(HEADER.encode("utf-16"))
    with pytest.raises(BadFileError) as exc:
        read_header(str(f), "s3://b/cur.csv")
    assert str(exc.value) == "s3://b/cur.csv: the file is UTF-16 encoded; export it again as UTF-8 CSV"


def test_unreadable_workload_file_is_skipped_with_what_to_do(tmp_path):
    folder = tmp_path / "landing" / "budgets"
    folder.mkdir(parents=True)
    (folder / "budgets.csv").write_text("team,amount_usd\nnlp,100\n")
    warnings, progress = [], []
    spec = next(s for s in RAW_TABLES if s.table == "budgets")
    con = duckdb.connect()
    try:
        result = load_raw_table(con, str(tmp_path / "landing"), spec, log=progress.append, warn=warnings.append)
        stored = con.execute(f"SELECT message FROM {FILE_ERRORS}").fetchall()
    finally:
        con.close()
    expected = (f"{folder / 'budgets.csv'}, column 'month': budgets.csv without a required column; re-deliver the "
                "file or remove it from the landing folder")
    assert warnings == [f"raw.budgets is loaded without an unreadable file: {expected} (listed in {FILE_ERRORS})"]
    assert stored == [(expected,)] and result.bad_files == [str(folder / "budgets.csv")]


# --- progress ------------------------------------------------------------------------------------

def test_billing_period_progress_says_files_rows_and_seconds(landing, tagging):
    (landing / "billing" / "other-2026-09.csv").write_text(HEADER + focus_rows("2026-09", 5, "acct-2"))
    lines = []
    con = duckdb.connect()
    try:
        ingest_billing_period(con, str(landing), "2026-09", tagging, log=lines.append)
    finally:
        con.close()
    assert lines[0] == f"2 billing files in {landing}/billing"
    assert any(line.startswith("probed 2 new or changed file(s) of 2 (0 unreadable), 25 rows, in ") for line in lines)
    assert any(line.startswith("  read 1 file(s): 20 rows loaded, 0 quarantined, in ") and line.endswith("s")
               for line in lines)
    assert lines[-1].startswith("billing period 2026-09: 2 file(s) read, 25 rows loaded, 0 quarantined, in ")


def test_workload_progress_says_files_rows_and_seconds(tmp_path):
    folder = tmp_path / "landing" / "budgets"
    folder.mkdir(parents=True)
    (folder / "budgets.csv").write_text("team,month,amount_usd\nnlp,2026-11,1000\ncv,2026-11,abc\n")
    lines = []
    spec = next(s for s in RAW_TABLES if s.table == "budgets")
    con = duckdb.connect()
    try:
        load_raw_table(con, str(tmp_path / "landing"), spec, log=lines.append)
    finally:
        con.close()
    assert lines[0].startswith(f"[1/1] {folder / 'budgets.csv'}: 1 rows, 1 rejected, in ")
    assert lines[-1].startswith("raw.budgets: 1 file(s) read from budgets/ (0 unreadable), 1 rows, 1 rejected, in ")


# --- the CLI: one line, an exit code, no traceback ----------------------------------------------

@pytest.fixture
def cli_env(tmp_path):
    """Every location in tmp_path; the landing exists and is empty."""
    (tmp_path / "landing").mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FINOPS_", "AWS_", "DAGSTER_"))}
    env.update(FINOPS_LANDING=str(tmp_path / "landing"), FINOPS_WAREHOUSE=str(tmp_path / "wh" / "finops.duckdb"),
               FINOPS_EXPORTS=str(tmp_path / "exports"), FINOPS_MODELS=str(tmp_path / "models"),
               DAGSTER_HOME=str(tmp_path / "dagster_home"), PYTHONPATH=str(REPO_ROOT))
    return env


def _cli(env, *args) -> tuple[int, list[str], str]:
    proc = subprocess.run([sys.executable, "-m", "orchestration.cli", *args], env=env, cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=60)
    output = proc.stdout + proc.stderr
    assert "Traceback" not in output, output
    errors = [line for line in output.splitlines() if line.startswith("[finops] error:")]
    assert len(errors) == 1, output
    assert SECRET not in output
    return proc.returncode, errors, output


def test_cli_landing_that_does_not_exist(cli_env, tmp_path):
    cli_env["FINOPS_LANDING"] = str(tmp_path / "typo")
    code, errors, _ = _cli(cli_env, "run")
    assert code == 2
    assert errors == [f"[finops] error: FINOPS_LANDING={tmp_path / 'typo'} does not exist: fix the path, create the folder "
                      "(with billing/ inside), or unset FINOPS_LANDING to use the bundled sample"]


def test_cli_bad_policy_value(cli_env, tmp_path):
    cli_env["FINOPS_POLICY"] = str(_policy(tmp_path, "  top_offenders: -3\n"))
    code, errors, _ = _cli(cli_env, "run")
    assert code == 2
    assert errors == [f"[finops] error: {tmp_path / 'policy.yaml'}, line 4: 'tagging.top_offenders' must be a whole "
                      "number >= 1, got -3"]


def test_cli_prepare_with_a_missing_policy(cli_env, tmp_path):
    cli_env["FINOPS_POLICY"] = str(tmp_path / "missing.yaml")
    code, errors, _ = _cli(cli_env, "prepare")
    assert code == 2 and errors[0].endswith(": policy file not found: point FINOPS_POLICY at your policy.yaml, or unset "
                                            "FINOPS_POLICY to use the one shipped at the repository root")


def test_cli_bad_log_level(cli_env):
    cli_env["FINOPS_LOG_LEVEL"] = "loud"
    code, errors, _ = _cli(cli_env, "run")
    assert code == 2 and errors[0].startswith("[finops] error: FINOPS_LOG_LEVEL='loud' is not a log level: set it to DEBUG")


def test_cli_exports_not_writable(cli_env, tmp_path):
    (tmp_path / "bi").write_text("a file")
    cli_env["FINOPS_EXPORTS"] = str(tmp_path / "bi" / "finops")
    code, errors, _ = _cli(cli_env, "run")
    assert code == 2 and errors[0].startswith(f"[finops] error: FINOPS_EXPORTS: cannot write to the folder {tmp_path / 'bi' / 'finops'}")


def test_cli_warehouse_locked(cli_env, locked_warehouse):
    path, pid = locked_warehouse
    cli_env["FINOPS_WAREHOUSE"] = str(path)
    code, errors, output = _cli(cli_env, "run")
    assert code == 1
    assert errors == [f"[finops] error: the warehouse {path} is locked by another process (PID {pid}): another run "
                      "(`make run`, a Dagster job) or a DuckDB shell holds it; wait for it to finish or stop it, then run again"]
    assert "dbt" not in output  # stopped before any work


def test_cli_s3_without_credentials(cli_env, no_aws):
    cli_env.update(no_aws, FINOPS_LANDING="s3://acme-billing/exports")
    code, errors, _ = _cli(cli_env, "run")
    assert code == 2
    assert errors == ["[finops] error: no AWS credentials found for s3://acme-billing/exports: set AWS_PROFILE or "
                      "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or run with an instance role"]


def test_cli_s3_rejected_credentials_never_print_the_secret(cli_env, no_aws, moto_iam):
    cli_env.update(no_aws, FINOPS_LANDING="s3://acme-billing/exports", AWS_ENDPOINT_URL_S3=moto_iam["endpoint"],
                   AWS_ACCESS_KEY_ID="AKIANOSUCHKEY0000000", AWS_SECRET_ACCESS_KEY=SECRET)
    code, errors, _ = _cli(cli_env, "run")  # _cli asserts the secret is nowhere in the output
    assert code == 2 and "(InvalidAccessKeyId): check AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY" in errors[0]
