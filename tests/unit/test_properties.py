"""Property-based tests (hypothesis).

Readers: any input, arbitrary bytes, a clean file with random byte edits, CSV-ish text or JSON
documents built from the format's own columns and nasty values, either loads into the reader's
schema (the canonical billing table, or the raw table's Arrow schema, with rejects in the reject
schema) or raises the project's own IngestError (BadFileError, PeriodFailed). Never another
exception. Billing files that load always reconcile: landing = canonical + quarantine, to the cent.

Allocation (`test_allocation_dbt_*`, the slow one, ~1 minute: it runs dbt): random small worlds
of GPU resources billed by the hour (usage, Savings Plan covered usage with its negation, RI
discounted usage at zero, zero lines, multi-hour lines, credits that are not allocatable), with
jobs overlapping and oversubscribing the boxes, utilization samples and inference requests, go
through the real workload readers into a DuckDB warehouse; `dbt build --select
+int_resource_hours_allocated` allocates them; for every resource and month training-job +
inference + idle + unattributed = the billed and the amortised cost the world was given, to the
cent, and every billed resource-hour is shared out exactly once.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import subprocess
import tempfile
from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestration.config import DBT_EXECUTABLE, DBT_PROJECT_DIR, DEFAULT_POLICY
from orchestration.ingest.billing import ensure_tables, load_period
from orchestration.ingest.canonical import CANONICAL_COLUMNS
from orchestration.ingest.errors import IngestError
from orchestration.ingest.folders import RAW_TABLES, load_raw_table
from orchestration.ingest.pipeline import billing_checks, probe_all, scan_billing
from orchestration.ingest.records import REJECT_SCHEMA
from orchestration.marts.dbt_vars import dbt_build_args
from orchestration.policy import load_policy
from tests.unit import billing_corpus as bc
from tests.unit.test_workload_bad_files import GOOD

FAST = dict(deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# --- values a file can hold --------------------------------------------------------------------

NASTY = ["", " ", "NaN", "nan", "inf", "-Infinity", "+Inf", "1e308", "-1e308", "1e-308", "-0", "0", "-5", "12.5",
         "1,234.50", "abc", "null", "NULL", "true", "[]", "{}", '{"a": 1}', "'; drop table x; --", "../../etc/passwd",
         '"', 'q"q', "a\nb", "a\r\nb", "x,y", "\x00", "\ufeff", "é", "2026-11-03T10:00:00Z", "2026-11-03 10:00:00+02:00",
         "2026/11/03 10:00:00.123", "11/03/2026 10:00", "1793700000", "1793700000000", "1e20", "9" * 30,
         "2026-11", "87 %", "30000 MiB", "250.12 W", "-3 %", "FINISHED", "RUNNING", "Completed", "Invocations",
         "STANDARD", "h1", "i-1", "nlp"]
values = st.one_of(st.sampled_from(NASTY), st.text(max_size=6))

# reader file name -> (reader, schema)
SCHEMAS = {}
for _spec in RAW_TABLES:
    for _endings, _reader in _spec.readers:
        for _name, (_r, _) in GOOD.items():
            if _r is _reader:
                SCHEMAS[_name] = (_reader, _spec.schema)
CSV_COLUMNS = {
    "smi.csv": ["timestamp", "name", "uuid", "index", "utilization.gpu [%]", "utilization.memory [%]", "memory.used [MiB]",
                "power.draw [W]", "hostname"],
    "hosts.csv": ["hostname", "resource_id"],
    "runs.csv": ["", "run_id", "experiment_id", "status", "start_time", "end_time", "metrics.tokens", "params.batch_size",
                 "tags.team", "tags.resource_id", "tags.hostname", "tags.gpu_count", "tags.instance_count", "tags.spot"],
    "cloudwatch.csv": ["timestamp", "EndpointName", "VariantName", "metric", "value"],
    "budgets.csv": ["team", "month", "amount_usd"],
    "inventory.csv": ["bucket", "key", "size", "last_modified_date", "storage_class", "last_access_date"],
}
JSON_KEYS = {
    "prometheus.json": ["status", "data", "resultType", "result", "metric", "values", "__name__", "Hostname", "gpu", "UUID",
                        "success", "matrix", "DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION",
                        "DCGM_FI_PROF_GR_ENGINE_ACTIVE", "GPU_I_ID", "pod"],
    "job.json": ["TrainingJobName", "TrainingJobArn", "TrainingJobStatus", "ResourceConfig", "InstanceType", "InstanceCount",
                 "TrainingStartTime", "TrainingEndTime", "BillableTimeInSeconds", "EnableManagedSpotTraining",
                 "HyperParameters", "Tags", "Key", "Value", "ExperimentConfig", "ExperimentName", "FinalMetricDataList",
                 "MetricName", "TrainingJobSummaries", "Completed", "InProgress"],
    "requests.jsonl": ["request_id", "id", "startTime", "endTime", "created", "model", "api_base", "endpoint", "prompt_tokens",
                       "completion_tokens", "total_tokens", "status", "metadata", "team", "usage", "spend", "user",
                       "user_api_key_team_alias"],
}


def json_docs(keys: list[str]):
    key = st.sampled_from(keys)
    scalar = st.one_of(st.none(), st.booleans(), st.integers(-2 ** 70, 2 ** 70), st.floats(), values, key)
    return st.recursive(scalar, lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(key, inner, max_size=5)),
                        max_leaves=20)


def csv_text(header: list[str], rows: list[list[str]]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([header, *rows])
    return buf.getvalue()


@st.composite
def mutated(draw, clean: bytes) -> bytes:
    """The clean file with a few random byte edits: inputs that get past the first checks."""
    data = bytearray(clean)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        edit = draw(st.sampled_from(["insert", "delete", "replace"]))
        blob = draw(st.binary(min_size=1, max_size=4) | st.sampled_from([b",", b"\n", b'"', b"\r", b"{", b"]", b"\x00"]))
        if edit == "insert":
            data[at:at] = blob
        elif edit == "delete":
            del data[at:at + len(blob)]
        else:
            data[at:at + len(blob)] = blob
    return bytes(data)


def assert_reads_or_ingest_error(name: str, data: bytes) -> None:
    reader, schema = SCHEMAS[name]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "gpu-node-1" / name
        path.parent.mkdir()
        path.write_bytes(data)
        try:
            rows, rejects = reader(str(path), str(path))
        except IngestError as exc:
            assert str(path) in str(exc)  # the message names the file
            return
    assert rows.schema == schema
    assert rejects.schema == REJECT_SCHEMA
    assert set(rejects.column("source_file").to_pylist()) <= {str(path)}


# --- workload readers --------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(GOOD))
@settings(max_examples=40, **FAST)
@given(data=st.binary(max_size=300))
def test_workload_reader_on_arbitrary_bytes(name, data):
    assert_reads_or_ingest_error(name, data)


@pytest.mark.parametrize("name", sorted(GOOD))
@settings(max_examples=40, **FAST)
@given(data=st.data())
def test_workload_reader_on_a_damaged_clean_file(name, data):
    assert_reads_or_ingest_error(name, data.draw(mutated(GOOD[name][1].encode())))


@pytest.mark.parametrize("name", sorted(CSV_COLUMNS))
@settings(max_examples=60, **FAST)
@given(data=st.data())
def test_workload_reader_on_csvish_text(name, data):
    columns = CSV_COLUMNS[name]
    header = data.draw(st.lists(st.sampled_from(columns) | values, min_size=1, max_size=len(columns) + 2)
                       | st.permutations(columns))
    rows = data.draw(st.lists(st.lists(values, min_size=max(0, len(header) - 1), max_size=len(header) + 1), max_size=5))
    assert_reads_or_ingest_error(name, csv_text(header, rows).encode())


@pytest.mark.parametrize("name", sorted(JSON_KEYS))
@settings(max_examples=80, **FAST)
@given(data=st.data())
def test_workload_reader_on_json_documents(name, data):
    docs = json_docs(JSON_KEYS[name])
    if name == "requests.jsonl":
        lines = data.draw(st.lists(st.dictionaries(st.sampled_from(JSON_KEYS[name]), docs, max_size=8) | docs, max_size=5))
        text = "\n".join(json.dumps(x) for x in lines)
    else:
        text = json.dumps(data.draw(st.dictionaries(st.sampled_from(JSON_KEYS[name]), docs, max_size=6) | docs))
    assert_reads_or_ingest_error(name, text.encode())


# --- billing readers ---------------------------------------------------------------------------

TAGGING = load_policy(DEFAULT_POLICY).tagging
CANONICAL = [(c, t.replace(" ", "")) for c, t in CANONICAL_COLUMNS]


def assert_ingests_or_fails_its_period(landing: Path) -> None:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    try:
        ensure_tables(con)
        try:
            probes = probe_all(con, scan_billing(str(landing)), TAGGING, log=lambda m: None)
            periods = sorted({p for pr in probes for p in pr.periods})
            for period in periods:
                load_period(con, period, probes, TAGGING, log=lambda m: None)
        except IngestError as exc:
            assert str(landing) in str(exc)  # names the file
            return
        got = con.execute("SELECT column_name, REPLACE(data_type, ' ', '') FROM duckdb_columns() WHERE schema_name = 'raw' "
                          "AND table_name = 'billing_line_items' ORDER BY column_index").fetchall()
        assert got == CANONICAL
        for period in periods:
            for check in billing_checks(con, period):
                if check.name != "no_duplicate_line_items":  # random ids may repeat: a warning, not a loss
                    assert check.passed, (check.name, check.metadata)
    finally:
        con.close()


@pytest.mark.parametrize("fmt", bc.FORMATS)
@settings(max_examples=6, **FAST)
@given(data=st.binary(max_size=400))
def test_billing_reader_on_arbitrary_bytes(fmt, data):
    with tempfile.TemporaryDirectory() as tmp:
        path = bc.data_path(Path(tmp) / "landing", fmt)
        path.parent.mkdir(parents=True)
        path.write_bytes(data)
        assert_ingests_or_fails_its_period(Path(tmp) / "landing")


COSTS = st.sampled_from(["10.50", "0", "-1.25", "0.0000000001", "NaN", "inf", "1e308", "", "abc", "1,5", "99999999999999999999"])
TIMES = st.sampled_from([datetime(2026, 10, 2, 1), datetime(2026, 11, 30, 23), "2026-10-02T01:00:00Z", "2026-10-02 03:00:00+02:00",
                         "10/02/2026 01:00:00", "", "not a date", "2026-10-01T00:00:00+14:00", None, "1791000000"])
ACCOUNTS = st.sampled_from([bc.ACCOUNT, "", "acct-2", "'; drop table x; --", "  "])
TAGS = st.dictionaries(st.sampled_from(["user_team", "Team", "user:project", "'; --", "../x", "k\x00", "env"]),
                       st.sampled_from(["nlp", "", "a\nb", "'; drop table x; --", "x" * 300]), max_size=3)


@st.composite
def billing_rows(draw) -> list[dict]:
    n = draw(st.integers(0, 6))
    return [bc.row(i, draw(COSTS), start=draw(TIMES), end=draw(TIMES), account=draw(ACCOUNTS), tags=draw(TAGS),
                   usage=draw(COSTS), bp=draw(TIMES), lit=draw(st.sampled_from(["Usage", "Credit", "SavingsPlanNegation", "", "?"])))
            for i in range(1, n + 1)]


@pytest.mark.parametrize("fmt", bc.FORMATS)
@settings(max_examples=12, **FAST)
@given(rows=billing_rows(), crlf=st.booleans(), bom=st.booleans())
def test_billing_reader_on_rows_of_nasty_values(fmt, rows, crlf, bom):
    with tempfile.TemporaryDirectory() as tmp:
        landing = Path(tmp) / "landing"
        path = bc.write(landing, fmt, rows, newline="\r\n" if crlf else "\n")
        if bom and fmt in bc.CSV_FORMATS:
            data = path.read_bytes()
            raw = gzip.decompress(data) if path.name.endswith(".gz") else data
            path.write_bytes(gzip.compress(b"\xef\xbb\xbf" + raw) if path.name.endswith(".gz") else b"\xef\xbb\xbf" + raw)
        assert_ingests_or_fails_its_period(landing)


PARQUET_TYPES = {
    "text": (st.sampled_from(NASTY), pa.string()),
    "double": (st.floats(), pa.float64()),
    "int": (st.integers(-2 ** 63, 2 ** 63 - 1), pa.int64()),
    "time": (st.datetimes(datetime(1970, 1, 1), datetime(2100, 1, 1)), pa.timestamp("ms")),
    "bool": (st.booleans(), pa.bool_()),
    "null": (st.none(), pa.null()),
}


@pytest.mark.parametrize("fmt", bc.PARQUET_FORMATS)
@settings(max_examples=12, **FAST)
@given(data=st.data())
def test_billing_reader_on_parquet_columns_of_any_type(fmt, data):
    """Every key column of the clean file swapped, maybe, for a column of another type."""
    cols = bc.columns_of(fmt, bc.clean_rows())
    for column in [bc.cost_column(fmt), bc.start_column(fmt), bc.account_column(fmt), bc.tags_column(fmt)]:
        kind = data.draw(st.sampled_from(["keep", *PARQUET_TYPES]))
        if kind != "keep":
            strategy, typ = PARQUET_TYPES[kind]
            cols[column] = pa.array(data.draw(st.lists(strategy, min_size=3, max_size=3)), typ)
    with tempfile.TemporaryDirectory() as tmp:
        path = bc.data_path(Path(tmp) / "landing", fmt)
        path.parent.mkdir(parents=True)
        pq.write_table(pa.table(cols), path)
        assert_ingests_or_fails_its_period(Path(tmp) / "landing")


# --- allocation ----------------------------------------------------------------------------------

START = datetime(2026, 10, 31, 12)  # a window across a month end: two billing periods
HOURS = 30
INSTANCES = [("g5.xlarge", 1, "A10G"), ("g5.12xlarge", 4, "A10G"), ("p4d.24xlarge", 8, "A100-40GB"), ("g4dn.xlarge", 1, "T4")]
CENTS = st.integers(-500, 5000).map(lambda c: Decimal(c) / 100)
FINE = st.integers(0, 10 ** 12).map(lambda c: Decimal(c) / 10 ** 10)  # up to 100 $ with 10 decimals


def _period(t: datetime) -> str:
    return t.strftime("%Y-%m")


@st.composite
def resources(draw, index: int) -> dict:
    itype, gpus, model = draw(st.sampled_from(INSTANCES))
    rid = f"i-{index:04d}"
    lines = []  # (start, end, category, line type, billed, effective)
    for h in sorted(draw(st.sets(st.integers(0, HOURS - 1), min_size=1, max_size=10))):
        t = START + timedelta(hours=h)
        for kind in draw(st.lists(st.sampled_from(["usage", "sp", "ri", "zero", "credit", "usage"]), min_size=1, max_size=3)):
            cost = draw(FINE)
            if kind == "usage":
                lines.append((t, t + timedelta(hours=1), "Usage", "Usage", cost, cost))
            elif kind == "sp":  # covered usage at its effective cost, the negation at zero
                eff = (cost * Decimal("0.72")).quantize(Decimal("1e-10"))
                lines += [(t, t + timedelta(hours=1), "Usage", "SavingsPlanCoveredUsage", cost, eff),
                          (t, t + timedelta(hours=1), "Usage", "SavingsPlanNegation", -cost, Decimal(0))]
            elif kind == "ri":
                lines.append((t, t + timedelta(hours=1), "Usage", "DiscountedUsage", Decimal(0), cost))
            elif kind == "zero":
                lines.append((t, t + timedelta(hours=1), "Usage", "Usage", Decimal(0), Decimal(0)))
            else:  # a credit on the resource: not allocatable usage
                lines.append((t, t + timedelta(hours=1), "Credit", "Credit", -cost, -cost))
    if draw(st.booleans()):  # a daily-style line over several hours, inside one month
        h = draw(st.integers(0, HOURS - 2))
        t = START + timedelta(hours=h)
        month_end = datetime(t.year + t.month // 12, t.month % 12 + 1, 1)
        end = min(t + timedelta(hours=draw(st.integers(2, 7))), month_end)
        cost = draw(CENTS)
        lines.append((t, end, "Usage", "Usage", cost, cost))
    jobs = []
    for j in range(draw(st.integers(0, 4))):
        start = START + timedelta(minutes=draw(st.integers(-180, HOURS * 60)))
        status = draw(st.sampled_from(["FINISHED", "FAILED", "KILLED", "RUNNING"]))
        end = None if status == "RUNNING" else start + timedelta(minutes=draw(st.integers(-30, 600)))
        jobs.append({"run_id": f"{rid}-run{j}", "status": status, "start": start, "end": end,
                     "gpus": draw(st.sampled_from([None, 0, 1, gpus, 2 * gpus + 1])),
                     "link": draw(st.sampled_from(["resource_id", "hostname", "none"])),
                     "team": draw(st.sampled_from(["nlp", "cv", None]))})
    samples = [(START + timedelta(minutes=m), u) for m, u in draw(st.lists(
        st.tuples(st.integers(0, HOURS * 60), st.integers(0, 100)), max_size=8, unique_by=lambda x: x[0]))]
    serving = draw(st.booleans())
    requests = [START + timedelta(seconds=s) for s in draw(st.lists(st.integers(0, HOURS * 3600), max_size=5))] if serving else []
    return {"rid": rid, "host": f"gpu-host-{index}", "type": itype, "gpus": gpus, "model": model, "lines": lines,
            "jobs": jobs, "samples": samples, "serving": serving, "requests": requests,
            "team": draw(st.sampled_from(["nlp", "cv", None]))}


@st.composite
def worlds(draw) -> list[dict]:
    n = draw(st.integers(6, 14))
    return [draw(resources(i)) for i in range(n)]


def write_world(world: list[dict], landing: Path, con) -> None:
    """Billing straight into the canonical table (the readers are tested above); workloads as the
    tools write them, through the real readers."""
    ensure_tables(con)
    rows, i = [], 0
    for r in world:
        for start, end, category, lit, billed, effective in r["lines"]:
            i += 1
            month = datetime(start.year, start.month, 1)
            rows.append({
                "BillingAccountId": bc.ACCOUNT, "SubAccountId": bc.ACCOUNT, "ProviderName": "AWS", "BillingCurrency": "USD",
                "BillingPeriodStart": month, "ChargePeriodStart": start, "ChargePeriodEnd": end, "ChargeCategory": category,
                "BilledCost": billed, "EffectiveCost": effective, "ListCost": billed, "ContractedCost": billed,
                "PricingCategory": "Standard", "ServiceName": "Amazon Elastic Compute Cloud", "ResourceId": r["rid"],
                "RegionId": "us-east-1", "x_instance_type": r["type"], "x_gpu_count": r["gpus"], "x_gpu_model": r["model"],
                "x_usage_type": f"USE1-BoxUsage:{r['type']}", "x_line_item_type": lit, "x_line_item_id": f"li-{i}",
                "x_billing_period": _period(start), "x_source_format": "cur2", "x_source_file": "world.parquet",
                "x_source_row": i, "x_ingested_at": datetime(2026, 12, 1), "team": r["team"], "project": "p",
                "job_type": "inference" if r["serving"] else "training"})
    if rows:
        con.register("_world", pa.Table.from_pylist(rows))
        con.execute("INSERT INTO raw.billing_line_items BY NAME SELECT * FROM _world")
        con.unregister("_world")
    (landing / "inventory").mkdir(parents=True)
    (landing / "inventory" / "hosts.csv").write_text(
        "hostname,resource_id\n" + "".join(f"{r['host']},{r['rid']}\n" for r in world))
    (landing / "jobs").mkdir()
    iso = lambda t: "" if t is None else t.strftime("%Y-%m-%d %H:%M:%S.%f") + "+00:00"  # noqa: E731
    (landing / "jobs" / "runs.csv").write_text(csv_text(
        ["", "run_id", "experiment_id", "status", "start_time", "end_time", "tags.team", "tags.resource_id", "tags.hostname",
         "tags.gpu_count"],
        [[str(k), j["run_id"], "1", j["status"], iso(j["start"]), iso(j["end"]), j["team"] or "",
          r["rid"] if j["link"] == "resource_id" else "", r["host"] if j["link"] == "hostname" else "",
          "" if j["gpus"] is None else str(j["gpus"])]
         for k, (r, j) in enumerate((r, j) for r in world for j in r["jobs"])]))
    (landing / "utilization").mkdir()
    (landing / "utilization" / "dcgm.json").write_text(json.dumps({"status": "success", "data": {"resultType": "matrix", "result": [
        {"metric": {"__name__": "DCGM_FI_DEV_GPU_UTIL", "Hostname": r["host"], "gpu": "0", "UUID": f"GPU-{r['rid']}"},
         "values": [[(t - datetime(1970, 1, 1)).total_seconds(), str(u)] for t, u in r["samples"]]}
        for r in world if r["samples"]]}}))
    (landing / "inference").mkdir()
    (landing / "inference" / "requests.jsonl").write_text("".join(
        json.dumps({"request_id": f"{r['rid']}-req{k}", "startTime": t.isoformat() + "Z", "model": "m",
                    "api_base": f"http://{r['host']}:8000/v1", "prompt_tokens": 10, "completion_tokens": 5}) + "\n"
        for r in world for k, t in enumerate(r["requests"])))
    for spec in RAW_TABLES:
        load_raw_table(con, str(landing), spec, log=lambda m: None)


def expected_cost(world: list[dict]) -> dict[tuple[str, str], tuple[Decimal, Decimal]]:
    """Billed and amortised GPU usage per resource and billing period, as the world was billed."""
    out: dict = defaultdict(lambda: (Decimal(0), Decimal(0)))
    for r in world:
        for start, _, category, _, billed, effective in r["lines"]:
            if category == "Usage":
                b, e = out[(r["rid"], _period(start))]
                out[(r["rid"], _period(start))] = (b + billed, e + effective)
    return dict(out)


@pytest.fixture(scope="module")
def dbt_workdir(tmp_path_factory) -> Path:
    """One warehouse path and one dbt target for every example: dbt parses the project once."""
    return tmp_path_factory.mktemp("allocation")


def run_dbt(workdir: Path) -> list[dict]:
    env = dict(os.environ, FINOPS_WAREHOUSE=str(workdir / "warehouse.duckdb"))
    proc = subprocess.run(
        # the build the assets run (dbt's unit tests, the same for every example, run once in
        # test_e2e); cautious: the tests of the selected models only, not those of marts left out
        [DBT_EXECUTABLE, *dbt_build_args(load_policy(DEFAULT_POLICY)), "--select", "+int_resource_hours_allocated",
         "--indirect-selection", "cautious", "--project-dir", str(DBT_PROJECT_DIR),
         "--profiles-dir", str(DBT_PROJECT_DIR), "--target-path", str(workdir / "target"), "--log-path", str(workdir / "logs"),
         "--quiet"],
        cwd=DBT_PROJECT_DIR, env=env, capture_output=True, text=True, timeout=300)
    results = json.loads((workdir / "target" / "run_results.json").read_text())["results"]
    failed = [(r["unique_id"], r["status"], (r.get("message") or "")[:300]) for r in results
              if r["status"] not in ("success", "pass")]
    assert proc.returncode == 0 and not failed, (proc.stdout[-2000:], proc.stderr[-2000:], failed)
    return results


@settings(max_examples=3, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture])
@given(world=worlds())
def test_allocation_dbt_training_inference_idle_unattributed_add_up_to_the_bill(dbt_workdir, world):
    warehouse = dbt_workdir / "warehouse.duckdb"
    for leftover in (warehouse, warehouse.with_name(warehouse.name + ".wal")):
        leftover.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        con = duckdb.connect(str(warehouse))
        try:
            con.execute("SET TimeZone = 'UTC'")
            write_world(world, Path(tmp) / "landing", con)
        finally:
            con.close()
    results = run_dbt(dbt_workdir)
    assert any(r["unique_id"].startswith("test.gpu_finops.assert_gpu_allocation_reconciles_to_the_bill") for r in results)
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        allocated = con.execute("""
            SELECT resource_id, billing_period, SUM(billed_cost), SUM(effective_cost)
            FROM intermediate.int_resource_hours_allocated GROUP BY 1, 2""").fetchall()
        types = {r[0] for r in con.execute("SELECT DISTINCT allocation_type FROM intermediate.int_resource_hours_allocated").fetchall()}
        shares = con.execute("""
            SELECT resource_id, hour_start, SUM(hour_share) FROM intermediate.int_resource_hours_allocated
            GROUP BY 1, 2 HAVING ABS(SUM(hour_share) - 1) > 1e-6""").fetchall()
    finally:
        con.close()
    cents = Decimal("0.01")
    got = {(r, p): (Decimal(b).quantize(cents), Decimal(e).quantize(cents)) for r, p, b, e in allocated}
    want = {k: (b.quantize(cents), e.quantize(cents)) for k, (b, e) in expected_cost(world).items()}
    assert got == want
    assert types <= {"training_job", "inference", "idle", "unattributed"}
    assert shares == []  # every billed resource-hour is shared out exactly once
