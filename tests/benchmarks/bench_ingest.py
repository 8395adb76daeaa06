"""Benchmark (not a test): ingest N CUR 2.0 line items into the canonical table and build the
marts, against DuckDB's own `CREATE TABLE AS SELECT * FROM read_parquet(...)` of the same files.

    make bench                 # 10 M line items
    make bench SCALE=1000000

Prints on its last lines: ingest_rows_per_s, ingest_vs_duckdb_copy (DuckDB copy time / our
ingest time: 1.0 = as fast as a plain copy), dbt_build_s, peak_rss_mb, and the nightly run:
after the full run one more day lands in the latest period (its CUR part file re-delivered, as
AWS does), the landing sensor's own change detection picks the touched period, only that period
is re-ingested and dbt builds: incremental_vs_full = that run's seconds / the full run's.
With --rows of 100 M or more it also prints rows_100m_s (full ingest + dbt build).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from orchestration.billing.sensors import changed_periods  # noqa: E402
from orchestration.config import DBT_EXECUTABLE, DBT_PROJECT_DIR, DEFAULT_POLICY  # noqa: E402
from orchestration.ingest.billing import ensure_tables, load_period  # noqa: E402
from orchestration.ingest.pipeline import probe_all, scan_billing  # noqa: E402
from orchestration.marts.dbt_vars import dbt_build_args  # noqa: E402
from orchestration.policy import load_policy  # noqa: E402
from orchestration.sample_data.generator import generate  # noqa: E402
from orchestration.sample_data.redelivery import land_next_day  # noqa: E402

CUR2_ROWS_PER_SCALE = 54_640  # CUR 2.0 line items the sample writes per unit of scale


def peak_rss_mb(who=resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--workdir", default=os.environ.get("FINOPS_BENCH_DIR", str(Path(tempfile.gettempdir()) / "finops-bench")))
    ap.add_argument("--memory-limit", default="4GB")
    ap.add_argument("--skip-baseline", action="store_true", help="skip DuckDB's own copy (the yardstick)")
    ap.add_argument("--skip-nightly", action="store_true", help="skip the incremental nightly run")
    args = ap.parse_args()
    # Past 10 M the landing is several payer accounts' CUR 2.0 exports, each a re-keyed copy of
    # one generated 10 M organisation (generating 100 M line items one by one takes an hour).
    copies = max(1, -(-args.rows // 10_000_000)) if args.rows > 20_000_000 else 1
    scale = max(1, round(args.rows / copies / CUR2_ROWS_PER_SCALE))
    work = Path(args.workdir)
    landing = work / f"landing-scale{scale}"
    if not (landing / ".complete").exists():
        shutil.rmtree(landing, ignore_errors=True)
        t = time.monotonic()
        print(f"generating ~{args.rows // copies:,} CUR 2.0 line items (scale {scale}) in {landing} ...", flush=True)
        s = generate(landing, seed=11, scale=scale, log=lambda m: None, formats=("cur2",), workloads=False)
        (landing / ".complete").write_text(json.dumps({"rows": s["rows"]}))
        print(f"  generated {s['rows']:,} rows in {time.monotonic() - t:.0f}s", flush=True)
    if copies > 1:
        landing = replicate_accounts(landing, work / f"landing-scale{scale}x{copies}", copies)
    files = scan_billing(str(landing))
    parquet = [f.uri for f in files]
    rows = json.loads((landing / ".complete").read_text())["rows"]

    copy_s = None
    if not args.skip_baseline:  # DuckDB's own copy of the same files: the yardstick
        base_db = work / "baseline.duckdb"
        base_db.unlink(missing_ok=True)
        con = duckdb.connect(str(base_db))
        con.execute(f"SET memory_limit = '{args.memory_limit}'")
        t = time.monotonic()
        con.execute("CREATE TABLE t AS SELECT * FROM read_parquet(?)", [parquet])
        copy_s = time.monotonic() - t
        con.close()
        base_db.unlink(missing_ok=True)
        print(f"duckdb CTAS read_parquet: {copy_s:.1f}s", flush=True)

    # Our ingest: probe every file, then replace each billing period
    tagging = load_policy(DEFAULT_POLICY).tagging
    wh = work / "warehouse.duckdb"
    wh.unlink(missing_ok=True)
    con = duckdb.connect(str(wh))
    con.execute(f"SET memory_limit = '{args.memory_limit}'")
    con.execute("SET TimeZone = 'UTC'")
    ensure_tables(con)
    t = time.monotonic()
    probes = probe_all(con, files, tagging, log=lambda m: None)
    probe_s = time.monotonic() - t
    loaded = 0
    for period in sorted({p for pr in probes for p in pr.periods}):
        r = load_period(con, period, probes, tagging, log=lambda m: None)
        loaded += r.rows_loaded
        print(f"  {period}: {r.rows_loaded:,} rows in {r.seconds:.1f}s", flush=True)
    ingest_s = time.monotonic() - t
    con.close()
    assert loaded == rows, (loaded, rows)
    print(f"ingest: {ingest_s:.1f}s (probe {probe_s:.1f}s)", flush=True)

    ingest_rss = peak_rss_mb()
    # the other landing folders are empty here: their raw tables exist, typed and empty
    from orchestration.ingest.folders import RAW_TABLES, load_raw_table

    con = duckdb.connect(str(wh))
    for spec in RAW_TABLES:
        load_raw_table(con, str(landing), spec, log=lambda m: None)
    con.close()
    env = dict(os.environ, FINOPS_WAREHOUSE=str(wh), FINOPS_DUCKDB_MEMORY_LIMIT=args.memory_limit)
    dbt_s = dbt_build(env)
    print(f"dbt build: {dbt_s:.1f}s", flush=True)
    full_s = ingest_s + dbt_s

    if not args.skip_nightly:
        # The nightly run: one more day lands; only what the sensor sees as changed is re-ingested.
        nightly = work / "landing-nightly"
        shutil.rmtree(nightly, ignore_errors=True)
        shutil.copytree(landing, nightly, copy_function=os.link)  # hard links: the files are not copied
        cursor, _ = changed_periods({}, scan_billing(str(nightly)), tagging)
        _, added = land_next_day(nightly)
        print(f"landed one more day: {added:,} line items in the latest period's last part file", flush=True)
        t = time.monotonic()
        files = scan_billing(str(nightly))
        _, touched = changed_periods(cursor, files, tagging)
        con = duckdb.connect(str(wh))
        con.execute(f"SET memory_limit = '{args.memory_limit}'")
        con.execute("SET TimeZone = 'UTC'")
        probes = probe_all(con, files, tagging, log=lambda m: None)
        for period in sorted(touched):
            r = load_period(con, period, probes, tagging, log=lambda m: None)
            print(f"  re-ingested {period}: {r.rows_loaded:,} rows in {r.seconds:.1f}s", flush=True)
        con.close()
        nightly_ingest_s = time.monotonic() - t
        nightly_dbt_s = dbt_build(env)
        nightly_s = nightly_ingest_s + nightly_dbt_s
        print(f"nightly: ingest {nightly_ingest_s:.1f}s (periods {', '.join(sorted(touched))}), dbt build {nightly_dbt_s:.1f}s",
              flush=True)
        shutil.rmtree(nightly, ignore_errors=True)
    print(f"rows={rows}")
    print(f"ingest_s={ingest_s:.2f}")
    if copy_s is not None:
        print(f"duckdb_copy_s={copy_s:.2f}")
    print(f"dbt_build_s={dbt_s:.2f}")
    print(f"ingest_rows_per_s={rows / ingest_s:.0f}")
    if copy_s is not None:
        print(f"ingest_vs_duckdb_copy={copy_s / ingest_s:.2f}")
    print(f"ingest_peak_rss_mb={ingest_rss:.0f}")
    print(f"dbt_peak_rss_mb={peak_rss_mb(resource.RUSAGE_CHILDREN):.0f}")
    print(f"peak_rss_mb={max(peak_rss_mb(), peak_rss_mb(resource.RUSAGE_CHILDREN)):.0f}")
    print(f"full_run_s={full_s:.2f}")
    if not args.skip_nightly:
        print(f"nightly_ingest_s={nightly_ingest_s:.2f}")
        print(f"nightly_dbt_build_s={nightly_dbt_s:.2f}")
        print(f"incremental_vs_full={nightly_s / full_s:.2f}")
    if args.rows >= 100_000_000:  # asked for 100 M: ten copies of a 9.97 M organisation land 99.7 M
        print(f"rows_100m_s={full_s:.0f}")


def replicate_accounts(base: Path, dest: Path, copies: int) -> Path:
    """`copies` CUR 2.0 exports under one landing: the base export as is (hard links) and
    copies-1 more, each as another payer account would deliver it (its own export folder and
    manifest, payer account, line item ids and resource ids re-keyed)."""
    if (dest / ".complete").exists():
        return dest
    shutil.rmtree(dest, ignore_errors=True)
    t = time.monotonic()
    shutil.copytree(base, dest, copy_function=os.link)
    (dest / ".complete").unlink()  # a hard link to the base's marker: written fresh below
    rows = json.loads((base / ".complete").read_text())["rows"]
    exports = [p for p in (base / "billing" / "cur2").iterdir() if p.is_dir()]
    con = duckdb.connect()
    for k in range(1, copies):
        for export in exports:
            name = f"{export.name}-payer{k}"
            for src in sorted(export.rglob("*")):
                if not src.is_file():
                    continue
                rel = str(src.relative_to(export)).replace(export.name, name)
                out = dest / "billing" / "cur2" / name / rel
                out.parent.mkdir(parents=True, exist_ok=True)
                if src.suffix == ".json":  # the manifest lists its data files by path
                    out.write_text(src.read_text().replace(f"/{export.name}/", f"/{name}/").replace(f"{export.name}-0", f"{name}-0"))
                    continue
                con.execute(f"""
                    COPY (SELECT * REPLACE (
                              lpad(CAST(CAST(bill_payer_account_id AS BIGINT) + {k} AS VARCHAR), 12, '0') AS bill_payer_account_id,
                              identity_line_item_id || '-p{k}' AS identity_line_item_id,
                              CASE WHEN line_item_resource_id <> '' THEN line_item_resource_id || '-p{k}' END AS line_item_resource_id)
                          FROM read_parquet('{str(src).replace("'", "''")}'))
                    TO '{str(out).replace("'", "''")}' (FORMAT parquet, COMPRESSION snappy)""")
        print(f"  payer account copy {k}/{copies - 1} written ({time.monotonic() - t:.0f}s)", flush=True)
    con.close()
    (dest / ".complete").write_text(json.dumps({"rows": rows * copies}))
    return dest


def dbt_build(env: dict) -> float:
    # dbt's target/ and logs/ in the bench's workdir: a dev's own dbt runs in the project are left alone
    work = Path(env["FINOPS_WAREHOUSE"]).parent
    t = time.monotonic()
    # the build the Dagster assets run (dbt_build_args), less the models that read ML outputs
    # (benchmarked in bench_ml.py)
    subprocess.run([DBT_EXECUTABLE, *dbt_build_args(load_policy(DEFAULT_POLICY)), "--quiet", "--project-dir",
                    str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR), "--target-path", str(work / "dbt_target"),
                    "--log-path", str(work / "dbt_logs"), "--exclude", "source:ml+"],
                   check=True, env=env, cwd=DBT_PROJECT_DIR)
    took = time.monotonic() - t
    results = json.loads((work / "dbt_target" / "run_results.json").read_text())["results"]
    slowest = sorted(results, key=lambda r: -r["execution_time"])[:6]
    print("  slowest: " + ", ".join(f"{r['unique_id'].split('.')[-1]} {r['execution_time']:.1f}s" for r in slowest), flush=True)
    return took


if __name__ == "__main__":
    main()
