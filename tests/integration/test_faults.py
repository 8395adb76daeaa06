"""Faults (issue 7): the ingest killed with SIGKILL in the middle of a billing period, two runs of
the graph at once on one warehouse, S3 failing (missing bucket, access denied, a connection that
drops, a server that dies) and exports interrupted half-way; plus the guarantee that destructive
recommendations always need approval and never touch a protected resource.

Every fault is real: a SIGKILLed process, a second CLI process, moto's S3 server (with IAM) behind
a TCP proxy that drops or cuts connections, a killed moto server. "Equal" means equal bit for bit:
no column of the billing tables holds a wall-clock time (x_ingested_at and ingested_at are the
landing file's delivery time, file_modified_at its mtime), so whole rows are compared."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import boto3
import duckdb
import pytest

from orchestration.config import DEFAULT_POLICY, REPO_ROOT
from orchestration.exports.writer import export_table
from orchestration.ingest.errors import IngestError, LandingError
from orchestration.ingest.landing import LandingFile, local_path
from orchestration.ingest.pipeline import billing_checks, ingest_billing_period, marts_reconcile
from orchestration.policy import load_policy
from orchestration.sample_data.generator import generate
from tests.conftest import free_port

pytestmark = pytest.mark.e2e

BILLING_TABLES = {"raw.billing_line_items": "x_billing_period", "raw.billing_quarantine": "billing_period",
                  "raw.billing_files": "billing_period"}

# The ingest as the Dagster asset runs it (connect_warehouse, ingest_billing_period), every period
# (or those given) in turn, saying when a period's transaction has committed.
INGEST = """
import sys
from orchestration.config import DEFAULT_POLICY
from orchestration.ingest.pipeline import discover_periods, ingest_billing_period
from orchestration.policy import load_policy
from orchestration.resources import connect_warehouse

landing, warehouse = sys.argv[1], sys.argv[2]
tagging = load_policy(DEFAULT_POLICY).tagging
con = connect_warehouse(warehouse, wait_seconds=0)
periods, _ = discover_periods(landing, tagging, con=con, log=lambda m: None)
for period in sys.argv[3:] or periods:
    ingest_billing_period(con, landing, period, tagging, log=lambda m: print(m, flush=True))
    print(f"committed {period}", flush=True)
con.close()
"""


def _ingest(landing, warehouse, *periods) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", INGEST, str(landing), str(warehouse), *periods], cwd=REPO_ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def table_digest(con, table: str) -> tuple:
    """(column names and types, rows, md5 of the sorted per-row hashes of every column's value)."""
    schema, name = table.split(".")
    columns = con.execute("SELECT column_name, data_type FROM duckdb_columns() WHERE schema_name = ? AND table_name = ? "
                          "ORDER BY column_index", [schema, name]).fetchall()
    rows, digest = con.execute(f"SELECT COUNT(*), md5(string_agg(CAST(h AS VARCHAR), ',' ORDER BY h)) "
                               f"FROM (SELECT hash(t) AS h FROM {table} t)").fetchone()
    return tuple(columns), rows, digest


def period_digests(con) -> dict[str, dict[str, tuple]]:
    """period -> table -> (rows, xor and sum of the row hashes): which periods each table holds, and what."""
    out: dict[str, dict[str, tuple]] = {}
    for table, column in BILLING_TABLES.items():
        for period, n, x, s in con.execute(f"SELECT {column}, COUNT(*), bit_xor(hash(t)), SUM(hash(t)::HUGEINT) "
                                           f"FROM {table} t GROUP BY 1").fetchall():
            out.setdefault(period, {})[table] = (n, x, s)
    return out


def open_read_only(path):
    con = duckdb.connect(str(path), read_only=True)
    con.execute("SET enable_progress_bar = false")
    return con


# --- SIGKILL in the middle of a billing period -----------------------------------------------------

@pytest.fixture(scope="module")
def big_landing(tmp_path_factory) -> Path:
    """CUR 2.0 only, 8x the sample fleet: about a second to write a billing period."""
    landing = tmp_path_factory.mktemp("faults_big") / "landing"
    generate(landing, scale=8, formats=("cur2",), workloads=False, log=lambda m: None)
    return landing


def test_sigkill_in_the_middle_of_a_period_then_a_rerun_equals_an_uninterrupted_run(big_landing, tmp_path):
    # the uninterrupted run, on a fresh warehouse: the reference, and how long each period's write takes
    reference = tmp_path / "reference.duckdb"
    proc = _ingest(big_landing, reference)
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, out
    seconds = {m.group(1): float(m.group(2)) for m in re.finditer(r"^billing period (\S+): .* in ([\d.]+)s$", out, re.M)}
    periods = sorted(seconds)
    assert len(periods) == 5 and min(seconds[p] for p in periods[1:4]) > 0.4, seconds
    ref = open_read_only(reference)
    try:
        expected = {t: table_digest(ref, t) for t in BILLING_TABLES}
        expected_periods = period_digests(ref)
        # the checks as an uninterrupted run leaves them (at this scale the generator repeats the id
        # of one RI fee line, so no_duplicate_line_items fails there too: the kill must change nothing)
        expected_checks = {p: [(c.name, c.passed, c.metadata) for c in billing_checks(ref, p)] for p in periods}
    finally:
        ref.close()
    assert all(dict((n, ok) for n, ok, _ in expected_checks[p])["landing_reconciles"] for p in periods)

    # SIGKILL inside the period's transaction (after "loading", before "committed"), at several
    # points of it: a period never loaded before (after two committed ones), an already loaded one
    # (its old rows must survive), another near the end of its write. Each run starts on what the
    # previous kill left.
    warehouse = tmp_path / "killed.duckdb"
    for run, period, share in ((periods[:3], periods[2], 0.0), (periods[1:2], periods[1], 0.5),
                               (periods[3:4], periods[3], 0.7)):
        proc = _ingest(big_landing, warehouse, *run)
        seen = []
        while True:
            line = proc.stdout.readline()
            assert line, "".join(seen)
            seen.append(line)
            if line.startswith("loading ") and f" for {period}, accounts" in line:
                break
        time.sleep(share * seconds[period])
        proc.send_signal(signal.SIGKILL)
        rest = proc.stdout.read()
        assert proc.wait(timeout=30) == -signal.SIGKILL
        assert f"committed {period}" not in rest, f"the kill at {share:.0%} came after the commit of {period}"
        # what the kill left: every period complete as in the reference, or not there at all
        con = open_read_only(warehouse)
        try:
            left = period_digests(con)
            for p, tables in left.items():
                assert tables == expected_periods[p], f"{p} is half-written after a SIGKILL in {period}"
                assert [(c.name, c.passed, c.metadata) for c in billing_checks(con, p)] == expected_checks[p], p
        finally:
            con.close()
        assert period not in left or period == periods[1]
        assert periods[1] in left  # loaded by the first run: survives the kill during its reload

    proc = _ingest(big_landing, warehouse)  # the rerun
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, out
    con = open_read_only(warehouse)
    try:
        assert {t: table_digest(con, t) for t in BILLING_TABLES} == expected
        assert {p: [(c.name, c.passed, c.metadata) for c in billing_checks(con, p)] for p in periods} == expected_checks
    finally:
        con.close()


# --- two runs of the graph at once ----------------------------------------------------------------

@pytest.fixture(scope="module")
def small_landing(tmp_path_factory) -> tuple[Path, dict]:
    """40 days of CUR 2.0, no workloads (the cheapest whole run), and the billing tables a plain
    ingest of it gives."""
    root = tmp_path_factory.mktemp("faults_small")
    generate(root / "landing", days=40, formats=("cur2",), workloads=False, log=lambda m: None)
    proc = _ingest(root / "landing", root / "plain.duckdb")
    out = proc.communicate(timeout=300)[0]
    assert proc.returncode == 0, out
    con = open_read_only(root / "plain.duckdb")
    try:
        return root / "landing", {t: table_digest(con, t) for t in BILLING_TABLES}
    finally:
        con.close()


def test_a_second_run_while_one_runs_stops_at_once_with_one_line(small_landing, tmp_path):
    landing, plain = small_landing
    warehouse = tmp_path / "wh" / "finops.duckdb"
    # two `make run` in two shells: the same warehouse, exports, models and Dagster home
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FINOPS_", "DAGSTER_"))}
    env.update(FINOPS_LANDING=str(landing), FINOPS_WAREHOUSE=str(warehouse), FINOPS_EXPORTS=str(tmp_path / "exports"),
               FINOPS_MODELS=str(tmp_path / "models"), DAGSTER_HOME=str(tmp_path / "dagster_home"))
    cmd = [sys.executable, "-m", "orchestration.cli", "run"]
    first = subprocess.Popen(cmd, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    head = first.stdout.readline()  # past its preflight: the first run holds the warehouse from here on
    assert head.startswith("[finops] parsing the dbt project"), head + first.communicate()[0]
    started = time.monotonic()
    second = subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)
    took = time.monotonic() - started
    out = head + first.communicate(timeout=600)[0]
    assert first.returncode == 0, out
    assert second.returncode == 1 and second.stdout == "" and "Traceback" not in second.stderr, second.stderr
    assert second.stderr.splitlines() == [
        f"[finops] error: the warehouse {warehouse} is locked by another process (PID {first.pid}): another run "
        "(`make run`, a Dagster job) or a DuckDB shell holds it; wait for it to finish or stop it, then run again"]
    assert first.poll() is not None and took < 60  # stopped at once, long before the first run ended

    # the warehouse is the first run's alone: it opens, the checks pass, the billing tables equal a
    # plain ingest of the same landing, the exports hold the marts
    con = open_read_only(warehouse)
    try:
        periods = [r[0] for r in con.execute("SELECT DISTINCT x_billing_period FROM raw.billing_line_items ORDER BY 1").fetchall()]
        assert periods and all(c.passed for p in periods for c in billing_checks(con, p))
        assert marts_reconcile(con).passed
        assert {t: table_digest(con, t) for t in BILLING_TABLES} == plain
        daily = con.execute("SELECT COUNT(*) FROM marts.fct_daily_cost").fetchone()[0]
    finally:
        con.close()
    exported = duckdb.connect().execute(f"SELECT COUNT(*) FROM '{tmp_path / 'exports' / 'daily_cost.parquet'}'").fetchone()[0]
    assert exported == daily > 0


# The billing asset's own path: WarehouseResource.connect() per period, as each Dagster step opens it.
WAITING = """
import sys
from orchestration.config import DEFAULT_POLICY
from orchestration.ingest.pipeline import discover_periods, ingest_billing_period
from orchestration.policy import load_policy
from orchestration.resources import WarehouseResource

landing, warehouse = sys.argv[1], sys.argv[2]
tagging = load_policy(DEFAULT_POLICY).tagging
periods, _ = discover_periods(landing, tagging, log=lambda m: None)
print("ready", flush=True)
for period in periods:
    with WarehouseResource(path=warehouse, wait_seconds=120).connect() as con:
        ingest_billing_period(con, landing, period, tagging, log=lambda m: None)
print("done", flush=True)
"""


def test_two_materializations_at_once_wait_for_each_other_and_both_finish(small_landing, tmp_path):
    landing, plain = small_landing
    warehouse = tmp_path / "finops.duckdb"
    holder = duckdb.connect(str(warehouse))  # a third writer holds the warehouse while both start
    procs = [subprocess.Popen([sys.executable, "-c", WAITING, str(landing), str(warehouse)], cwd=REPO_ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for _ in range(2)]
    try:
        for p in procs:
            assert p.stdout.readline() == "ready\n"
        time.sleep(1.0)  # both are now waiting for the lock, with backoff
    finally:
        holder.close()
    outs = [p.communicate(timeout=300)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0] and outs == ["done\n", "done\n"], outs
    con = open_read_only(warehouse)
    try:
        assert {t: table_digest(con, t) for t in BILLING_TABLES} == plain
        periods = [r[0] for r in con.execute("SELECT DISTINCT x_billing_period FROM raw.billing_line_items").fetchall()]
        assert periods and all(c.passed for p in periods for c in billing_checks(con, p))
    finally:
        con.close()


# --- S3: a missing bucket, access denied, connections that drop, a server that dies -------------------

def _start_moto(env=None) -> tuple[subprocess.Popen, str]:
    port = free_port()
    server = subprocess.Popen([str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(port)],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(endpoint + "/moto-api/data.json", timeout=1)
            return server, endpoint
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                pytest.fail("moto_server did not start")
            time.sleep(0.1)


@pytest.fixture(scope="module")
def moto_iam():
    """moto's S3 server with IAM enforced: an exports bucket, a user allowed everything on S3, and a
    user who may list and read but not write (the setup requests run before enforcement starts)."""
    server, endpoint = _start_moto(dict(os.environ, INITIAL_NO_AUTH_ACTION_COUNT="7"))
    try:
        admin = {"endpoint_url": endpoint, "region_name": "us-east-1", "aws_access_key_id": "AKIASETUP",
                 "aws_secret_access_key": "setup"}
        boto3.client("s3", **admin).create_bucket(Bucket="acme-bi")                                  # 1
        iam = boto3.client("iam", **admin)
        keys = {}
        for user, actions in (("writer", ["s3:*"]), ("reader", ["s3:ListBucket", "s3:GetObject"])):
            iam.create_user(UserName=user)                                                         # 2, 5
            iam.put_user_policy(UserName=user, PolicyName="s3", PolicyDocument=json.dumps(          # 3, 6
                {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]}))
            keys[user] = iam.create_access_key(UserName=user)["AccessKey"]                          # 4, 7
        yield {"endpoint": endpoint, "port": int(endpoint.rsplit(":", 1)[1]), **keys}
    finally:
        server.terminate()
        server.wait(timeout=10)


SLOW_DOWN = b"<?xml version='1.0' encoding='UTF-8'?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"


class FlakyProxy:
    """A TCP proxy in front of the S3 server. `faults` spoil the first connections, one each:
    "drop" (accepted, closed before any answer), "slowdown" (S3's 503 SlowDown, throttling);
    after `cut_after` request bytes it cuts every connection and refuses new ones (the network
    gone half-way through an upload)."""

    def __init__(self, port: int, faults=(), cut_after: int | None = None):
        self.port_to, self.faults, self.cut_after = port, list(faults), cut_after
        self.forwarded = self.connections = 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.endpoint = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.open: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            if self.faults:
                if self.faults.pop(0) == "slowdown":
                    client.recv(65536)
                    client.sendall(b"HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\nConnection: close\r\n"
                                   b"Content-Length: %d\r\n\r\n%s" % (len(SLOW_DOWN), SLOW_DOWN))
                client.close()
                continue
            upstream = socket.create_connection(("127.0.0.1", self.port_to))
            self.open += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, src, dst, request: bool):
        try:
            while data := src.recv(65536):
                if request and self.cut_after is not None:
                    with self.lock:
                        self.forwarded += len(data)
                        if self.forwarded > self.cut_after:
                            self.close()
                            return
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self):
        self.listener.close()
        for s in self.open:
            try:
                s.shutdown(socket.SHUT_RDWR)
                s.close()
            except OSError:
                pass


@pytest.fixture
def s3_as(monkeypatch):
    """Point boto3's own chain at an endpoint with a user's keys; returns a list that collects
    every HTTP attempt boto3 makes (operation names), retries included."""
    attempts: list[str] = []

    def use(endpoint: str, key: dict) -> list[str]:
        attempts.clear()
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_MAX_ATTEMPTS", "AWS_RETRY_MODE"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("AWS_ENDPOINT_URL_S3", endpoint)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
        monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
        boto3.setup_default_session()
        boto3.DEFAULT_SESSION.events.register("before-send.s3", lambda request, **kw: attempts.append(
            kw["event_name"].rsplit(".", 1)[-1]))
        return attempts

    return use


BIG = "SELECT i, md5(CAST(i * {seed} AS VARCHAR)) || md5(CAST(i + {seed} AS VARCHAR)) AS a, md5(CAST(-i - {seed} AS VARCHAR)) AS b FROM range(40000) t(i)"


def _objects(endpoint: str, key: dict, bucket: str = "acme-bi") -> dict[str, bytes]:
    s3 = boto3.session.Session().client("s3", endpoint_url=endpoint, region_name="us-east-1",
                                        aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    return {k: s3.get_object(Bucket=bucket, Key=k)["Body"].read() for k in keys}


def test_export_to_a_bucket_that_does_not_exist_says_so_without_retrying(moto_iam, s3_as, con):
    attempts = s3_as(moto_iam["endpoint"], moto_iam["writer"])
    started = time.monotonic()
    with pytest.raises(LandingError) as exc:
        export_table(con, "SELECT 1 AS x", "daily_cost", "s3://acme-bl/finops")
    assert str(exc.value) == ("the bucket 'acme-bl' of FINOPS_EXPORTS=s3://acme-bl/finops does not exist: fix "
                              "FINOPS_EXPORTS, or create the bucket")
    assert attempts == ["PutObject"] and time.monotonic() - started < 5  # a missing bucket is not retried


def test_export_denied_says_which_permission_without_retrying(moto_iam, s3_as, con):
    attempts = s3_as(moto_iam["endpoint"], moto_iam["reader"])
    with pytest.raises(LandingError) as exc:
        export_table(con, "SELECT 1 AS x", "daily_cost", "s3://acme-bi/finops")
    assert str(exc.value) == ("access denied to s3://acme-bi/finops: grant s3:PutObject on it to the credentials boto3 "
                              "uses (AWS_PROFILE, environment or role), or fix FINOPS_EXPORTS")
    assert moto_iam["reader"]["SecretAccessKey"] not in str(exc.value)
    assert attempts == ["PutObject"]  # denied is final: no retry


def test_throttling_and_dropped_connections_are_retried_with_backoff(moto_iam, s3_as, con, tmp_path):
    proxy = FlakyProxy(moto_iam["port"], faults=("slowdown", "drop"))
    try:
        attempts = s3_as(proxy.endpoint, moto_iam["writer"])
        started = time.monotonic()
        out = export_table(con, "SELECT 42 AS x", "retried", "s3://acme-bi/finops", formats=("csv",))
        took = time.monotonic() - started
    finally:
        proxy.close()
    assert out["paths"] == ["s3://acme-bi/finops/retried.csv"]
    assert attempts == ["PutObject"] * 3 and proxy.connections == 3  # throttled, dropped, then through
    assert took < 10  # standard mode's jittered backoff: < 1 s after SlowDown, < 0.1 s after the drop
    assert _objects(moto_iam["endpoint"], moto_iam["writer"])["finops/retried.csv"] == b"x\n42\n"


def test_connections_dropped_on_every_attempt_say_so_in_one_line(moto_iam, s3_as, con, monkeypatch):
    proxy = FlakyProxy(moto_iam["port"], faults=("drop",) * 3)
    try:
        attempts = s3_as(proxy.endpoint, moto_iam["writer"])
        monkeypatch.setenv("AWS_MAX_ATTEMPTS", "3")
        with pytest.raises(LandingError) as exc:
            export_table(con, "SELECT 1 AS x", "dropped", "s3://acme-bi/finops", formats=("csv",))
    finally:
        proxy.close()
    assert str(exc.value) == (f"the connection to S3 at {proxy.endpoint}/acme-bi/finops/dropped.csv failed during a "
                              "request on s3://acme-bi/finops, on every retry (ConnectionClosedError): check the network "
                              "connection, and AWS_ENDPOINT_URL_S3 if you set one, then run again")
    assert attempts == ["PutObject"] * 3


def test_connection_cut_mid_upload_leaves_the_previous_export_whole(moto_iam, s3_as, con, tmp_path, monkeypatch):
    attempts = s3_as(moto_iam["endpoint"], moto_iam["writer"])
    export_table(con, BIG.format(seed=1), "big", "s3://acme-bi/cut")  # the previous, complete export
    before = {k: v for k, v in _objects(moto_iam["endpoint"], moto_iam["writer"]).items() if k.startswith("cut/")}
    assert sorted(before) == ["cut/big.csv", "cut/big.parquet"] and len(before["cut/big.parquet"]) > 1_000_000

    proxy = FlakyProxy(moto_iam["port"], cut_after=300_000)  # the network goes a third of the way into the parquet
    attempts = s3_as(proxy.endpoint, moto_iam["writer"])
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "3")
    try:
        with pytest.raises(LandingError) as exc:
            export_table(con, BIG.format(seed=2), "big", "s3://acme-bi/cut")
    finally:
        proxy.close()
    message = str(exc.value)
    assert "\n" not in message and message.endswith(
        "for s3://acme-bi/cut: check the network connection, and AWS_ENDPOINT_URL_S3 if you set one"), message
    assert message.startswith(f"cannot reach S3 at {proxy.endpoint}/acme-bi/cut/big.parquet")
    assert attempts == ["PutObject"] * 3  # the cut attempt, then two retries against a refused port
    after = {k: v for k, v in _objects(moto_iam["endpoint"], moto_iam["writer"]).items() if k.startswith("cut/")}
    assert after == before  # no partial object, the previous export whole


def test_transfers_run_in_the_calling_thread_so_every_wait_has_a_timeout(moto_iam, s3_as, con, tmp_path, monkeypatch):
    """s3transfer's thread pool can hang with nothing on the wire (boto/boto3#814); uploads and
    downloads run in the caller, where each wait is a socket read bounded by the read timeout."""
    s3_as(moto_iam["endpoint"], moto_iam["writer"])
    senders: list[str] = []
    boto3.DEFAULT_SESSION.events.register("before-send.s3", lambda **kw: senders.append(threading.current_thread().name))
    export_table(con, BIG.format(seed=3), "threads", "s3://acme-bi/threads", formats=("parquet",))
    monkeypatch.setenv("FINOPS_CACHE", str(tmp_path / "cache"))
    obj = boto3.client("s3").head_object(Bucket="acme-bi", Key="threads/threads.parquet")
    uri = "s3://acme-bi/threads/threads.parquet"
    path = local_path(LandingFile(uri, obj["ContentLength"], obj["LastModified"], obj["ETag"].strip('"')))
    assert con.execute(f"SELECT COUNT(*) FROM read_parquet('{path}')").fetchone()[0] == 40000
    assert len(senders) >= 3 and set(senders) == {threading.current_thread().name}, senders


def test_cli_stops_before_any_work_when_the_exports_bucket_is_missing(moto_iam, tmp_path):
    (tmp_path / "landing").mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FINOPS_", "AWS_", "DAGSTER_"))}
    env.update(FINOPS_LANDING=str(tmp_path / "landing"), FINOPS_WAREHOUSE=str(tmp_path / "wh.duckdb"),
               FINOPS_EXPORTS="s3://acme-bl/finops", FINOPS_MODELS=str(tmp_path / "models"),
               DAGSTER_HOME=str(tmp_path / "dagster_home"), AWS_ENDPOINT_URL_S3=moto_iam["endpoint"],
               AWS_ACCESS_KEY_ID=moto_iam["writer"]["AccessKeyId"],
               AWS_SECRET_ACCESS_KEY=moto_iam["writer"]["SecretAccessKey"], AWS_DEFAULT_REGION="us-east-1",
               AWS_CONFIG_FILE=str(tmp_path / "none"), AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"))
    proc = subprocess.run([sys.executable, "-m", "orchestration.cli", "run"], env=env, cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stdout + proc.stderr
    assert proc.stderr.strip() == ("[finops] error: the bucket 'acme-bl' of FINOPS_EXPORTS=s3://acme-bl/finops does not "
                                   "exist: fix FINOPS_EXPORTS, or create the bucket")


def test_s3_server_dies_mid_ingest_the_period_keeps_its_data(tmp_path, monkeypatch, tagging):
    server, endpoint = _start_moto()
    try:
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
            monkeypatch.delenv(name, raising=False)
        for k, v in dict(AWS_ENDPOINT_URL_S3=endpoint, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
                         AWS_DEFAULT_REGION="us-east-1", AWS_MAX_ATTEMPTS="2",
                         FINOPS_CACHE=str(tmp_path / "cache1")).items():
            monkeypatch.setenv(k, v)
        monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
        local = tmp_path / "local"
        generate(local, days=40, formats=("cur2",), workloads=False, log=lambda m: None)
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="acme-billing")
        for path in sorted(p for p in local.rglob("*") if p.is_file()):
            s3.upload_file(str(path), "acme-billing", f"landing/{path.relative_to(local).as_posix()}")
        landing = "s3://acme-billing/landing"
        con = duckdb.connect(str(tmp_path / "wh.duckdb"))
        con.execute("SET TimeZone = 'UTC'")
        period = "2026-11"
        ingest_billing_period(con, landing, period, tagging, log=lambda m: None)
        before = period_digests(con)
        assert before[period]["raw.billing_line_items"][0] > 0

        def die(message):  # the server goes away once the listing is done, before the files are read
            if server.poll() is None:
                server.kill()
                server.wait(timeout=10)

        monkeypatch.setenv("FINOPS_CACHE", str(tmp_path / "cache2"))  # nothing cached: the files must be fetched
        with pytest.raises(IngestError) as exc:
            ingest_billing_period(con, landing, period, tagging, log=die)
        assert "\n" not in str(exc.value) and "Traceback" not in str(exc.value)
        assert re.search(rf"cannot reach S3 at {endpoint}/acme-billing/landing/billing/\S+ for "
                         rf"s3://acme-billing/landing/billing/\S+{period}\S+: check the network connection", str(exc.value))
        assert period_digests(con) == before  # rolled back: the period keeps its previous data
        assert all(c.passed for c in billing_checks(con, period))
        con.close()
    finally:
        if server.poll() is None:
            server.terminate()
            server.wait(timeout=10)


# --- local exports: never half a file ---------------------------------------------------------------

def test_failing_export_keeps_the_previous_file_and_leaves_nothing_behind(tmp_path, con):
    dest = tmp_path / "exports"
    export_table(con, "SELECT i FROM range(10) t(i)", "daily_cost", str(dest))
    before = {p.name: p.read_bytes() for p in dest.iterdir()}
    failing = "SELECT CASE WHEN i < 900000 THEN i ELSE error('disk full') END AS i FROM range(1000000) t(i)"
    with pytest.raises(duckdb.Error, match="disk full"):
        export_table(con, failing, "daily_cost", str(dest))
    assert {p.name: p.read_bytes() for p in dest.iterdir()} == before


EXPORT = """
import sys, duckdb
from orchestration.exports.writer import export_table
con = duckdb.connect()
export_table(con, sys.argv[2], "daily_cost", sys.argv[1])
"""


def test_export_killed_mid_write_keeps_the_previous_file_and_the_next_one_cleans_up(tmp_path, con):
    dest = tmp_path / "exports"
    export_table(con, "SELECT i FROM range(10) t(i)", "daily_cost", str(dest))
    before = {p.name: p.read_bytes() for p in dest.iterdir()}
    slow = "SELECT i, md5(CAST(i AS VARCHAR)) AS a, md5(CAST(-i AS VARCHAR)) AS b FROM range(30000000) t(i)"
    proc = subprocess.Popen([sys.executable, "-c", EXPORT, str(dest), slow], cwd=REPO_ROOT)
    staged = dest / f".daily_cost.parquet.tmp-{proc.pid}"
    deadline = time.monotonic() + 60
    while not (staged.exists() and staged.stat().st_size > 0):  # DuckDB is writing the staged file
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    # the export's names hold the previous files, whole; the killed writer's staged file is hidden
    assert {p.name: p.read_bytes() for p in dest.iterdir() if not p.name.startswith(".")} == before
    assert sorted(p.name for p in dest.iterdir()) == sorted([*before, staged.name])
    export_table(con, "SELECT 7 AS i", "daily_cost", str(dest))  # the next export removes it
    assert sorted(p.name for p in dest.iterdir()) == ["daily_cost.csv", "daily_cost.parquet"]
    assert (dest / "daily_cost.csv").read_text() == "i\n7\n"


# --- destructive recommendations ---------------------------------------------------------------------

def _norm_key(key: str, prefixes) -> str:
    key = key.strip().lower()
    for prefix in prefixes:
        if key.startswith(prefix):
            key = key[len(prefix):]
            break
    return re.sub(r"[-\s]", "_", key)


def test_destructive_recommendations_need_approval_and_protected_resources_get_none(full_run):
    root, env, proc = full_run
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    policy = load_policy(DEFAULT_POLICY)
    assert policy.protected_tags  # tier=critical by default
    con = open_read_only(env["FINOPS_WAREHOUSE"])  # read only: the session's warehouse is shared
    try:
        tagged = con.execute("""SELECT DISTINCT ResourceId, Tags FROM raw.billing_line_items
                                WHERE ResourceId IS NOT NULL AND Tags IS NOT NULL AND Tags NOT IN ('', '{}')""").fetchall()
        protected = set()
        for resource, tags in tagged:
            pairs = {(_norm_key(k, policy.tagging.prefixes), str(v).strip().lower()) for k, v in json.loads(tags).items()}
            if pairs & set(policy.protected_tags):
                protected.add(resource)
        recs = con.execute("SELECT category, resource_id, requires_approval FROM marts.recommendations").fetchall()
    finally:
        con.close()
    assert protected, "the sample plants a tier=critical resource"
    assert not [r for r in recs if r[1] in protected]  # not one recommendation of any kind
    destructive = [r for r in recs if r[0] in ("idle_delete", "idle_archive")]
    assert {r[0] for r in destructive} == {"idle_delete", "idle_archive"}
    assert all(r[2] is True for r in destructive)
    # and so in the export people act on
    exported = duckdb.connect().execute(
        f"SELECT category, resource_id, requires_approval FROM '{root / 'exports' / 'recommendations.parquet'}' "
        "WHERE category IN ('idle_delete', 'idle_archive') OR list_contains(?, resource_id)", [sorted(protected)]).fetchall()
    assert sorted(exported) == sorted(destructive)
