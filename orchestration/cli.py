"""`make run`: generate the sample if the landing is empty, materialize the whole asset graph
through Dagster (every billing period, then dbt, checks and exports) and print a summary.

    python -m orchestration.cli run

A mistake a user can make (a FINOPS_* setting, the policy file, the landing location, S3
credentials, a warehouse another run holds) stops the run before any work with one line,
`[finops] error: <what is wrong>: <what to do>`, and exit code 2 (1 when the warehouse is busy),
never a traceback. Failures inside the Dagster runs are logged by Dagster and make the exit code 1.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

from .config import DBT_EXECUTABLE, DBT_PROJECT_DIR, REPO_ROOT, ConfigError, ensure_writable_folder, is_s3, load_settings
from .ingest.errors import LandingError
from .policy import PolicyError

EXIT_CONFIG = 2   # a setting, the policy, the landing location or credentials: fix and run again
EXIT_FAILED = 1   # a run failed, or the warehouse is busy


def log(msg: str) -> None:
    print(f"[finops] {msg}", flush=True)


def prepare_dbt_manifest(warehouse: str) -> None:
    """dbt parse, so the Dagster code location can read target/manifest.json."""
    env = dict(os.environ, FINOPS_WAREHOUSE=warehouse)
    cmd = [DBT_EXECUTABLE, "parse", "--quiet", "--project-dir", str(DBT_PROJECT_DIR),
           "--profiles-dir", str(DBT_PROJECT_DIR)]
    subprocess.run(cmd, check=True, env=env, cwd=DBT_PROJECT_DIR)


def _run_config(settings) -> dict:
    """Dagster's console log at FINOPS_LOG_LEVEL (default WARNING: errors and warnings only, the
    progress lines and summary come from this CLI; INFO or DEBUG to follow every step)."""
    return {"loggers": {"console": {"config": {"log_level": settings.log_level}}}}


def ensure_dagster_home() -> Path:
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(REPO_ROOT / "data" / "dagster_home")))
    ensure_writable_folder(home, "DAGSTER_HOME")
    cfg = home / "dagster.yaml"
    if not cfg.exists():
        # One run at a time writes the DuckDB warehouse: the pool every writer asset uses.
        cfg.write_text(
            "telemetry:\n  enabled: false\n"
            "concurrency:\n  pools:\n    default_limit: 1\n"
        )
    return home


def preflight(settings):
    """Everything a user can get wrong, checked before any work, each failing with one
    actionable sentence: the policy file, the landing location (folder, bucket, credentials),
    the warehouse (writable, not held by another run), the exports and model folders."""
    from .ingest.landing import check_location
    from .policy import load_policy
    from .resources import connect_warehouse

    policy = load_policy(settings.policy)
    if not (settings.landing_is_default and not Path(settings.landing).exists()):  # the default is generated
        check_location(settings.landing, "FINOPS_LANDING")
    if is_s3(settings.exports):
        check_location(settings.exports, "FINOPS_EXPORTS", listing_required=False)
    else:
        ensure_writable_folder(settings.exports, "FINOPS_EXPORTS")
    ensure_writable_folder(settings.models, "FINOPS_MODELS")
    connect_warehouse(settings.warehouse, wait_seconds=0).close()  # writable, and no other run holds it
    return policy


def run(args) -> int:
    started = time.monotonic()
    settings = load_settings()
    policy = preflight(settings)
    lock = hold_run_lock(settings.warehouse)
    try:
        return _run(args, settings, policy, started)
    finally:
        lock.close()  # the OS releases it too when the process dies, however it dies


def hold_run_lock(warehouse: str):
    """One `make run` at a time per warehouse, for the whole run. DuckDB's own lock is held only
    while a step writes, and dbt does not wait for it: without this a second run would interleave
    its ingest and dbt build with the first one's and fail half-way. The second run stops at once
    with the same one line as a busy warehouse (exit code 1). An advisory lock on a file beside
    the warehouse, released by the OS when the process ends, so a killed run never leaves it held."""
    import fcntl

    from .resources import warehouse_busy

    path = Path(f"{warehouse}.run-lock")
    fh = open(path, "a+", encoding="utf-8")
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.seek(0)
        pid = fh.read().strip()
        fh.close()
        raise warehouse_busy(warehouse, f" (PID {pid})" if pid.isdigit() else "") from None
    fh.seek(0)
    fh.truncate()
    fh.write(str(os.getpid()))
    fh.flush()
    return fh


def _run(args, settings, policy, started: float) -> int:
    if settings.landing_is_default:
        from .sample_data.generator import generate, landing_is_empty

        if landing_is_empty(settings.landing):
            log(f"landing {settings.landing} is empty: generating the sample organisation (seed {args.seed})")
            s = generate(settings.landing, seed=args.seed, scale=args.scale, log=lambda m: None)
            log(f"  {len(s['files'])} files, {s['rows']:,} line items, ${s['billed_cost']:,.2f} billed")
    ensure_dagster_home()
    log("parsing the dbt project")
    prepare_dbt_manifest(settings.warehouse)

    from dagster import DagsterInstance

    from .definitions import defs
    from .ingest.pipeline import discover_periods

    from .resources import connect_warehouse

    log(f"scanning {settings.landing}/billing")
    con = connect_warehouse(settings.warehouse)
    try:
        periods, probes = discover_periods(settings.landing, policy.tagging, con=con, log=lambda m: None)
    finally:
        con.close()  # released before the runs: DuckDB has one writer
    unreadable = [p for p in probes if p.error]
    for p in unreadable:
        log(f"  UNREADABLE: {p.error}")
    by_format: dict[str, int] = {}
    for p in probes:
        by_format[p.source_format] = by_format.get(p.source_format, 0) + 1
    log(f"  {len(probes)} billing files ({', '.join(f'{n} {k}' for k, n in sorted(by_format.items()))}), "
        f"periods: {', '.join(periods) or 'none'}")
    if by_format.get("focus_contract_commitment"):
        log("  FOCUS 1.3 contract-commitment files hold commitments, not cost rows: recognised, not loaded")
    instance = DagsterInstance.get()
    known = set(instance.get_dynamic_partitions("billing_period"))
    new = [p for p in periods if p not in known]
    if new:
        instance.add_dynamic_partitions("billing_period", new)

    failed = []
    ingest = defs.resolve_job_def("ingest_billing")
    tools_log = _tools_log(settings)
    for period in periods:
        t = time.monotonic()
        with _tools_output(tools_log):
            result = ingest.execute_in_process(partition_key=period, instance=instance, raise_on_error=False,
                                               run_config=_run_config(settings))
        log(f"  ingest {period}: {_ingest_outcome(result)} ({time.monotonic() - t:.1f}s)")
        if not result.success:
            failed.append(period)
    log("workload tables, dbt build and tests, ML models, recommendations, exports (about a minute; "
        "FINOPS_LOG_LEVEL=INFO to follow every step)")
    if tools_log:
        log(f"  dbt's own step-by-step output goes to {tools_log}")
    with _tools_output(tools_log):
        result = defs.resolve_job_def("build_marts_and_exports").execute_in_process(
            instance=instance, raise_on_error=False, run_config=_run_config(settings))
    if not result.success:
        log("the marts/exports run FAILED; see the errors above" + (f" and {tools_log}" if tools_log else "")
            + " (or `make dev` for the run's logs)")
    import duckdb

    try:
        summary(settings)
    except duckdb.CatalogException as exc:  # a failed first build leaves no marts to summarise: no traceback
        log(f"no summary, the marts are not built: {' '.join(str(exc).split())[:200]}")
    log(f"done in {time.monotonic() - started:.0f}s; browse the lineage with `make dev`")
    if failed:
        log(f"billing periods that failed (their previous data is kept): {', '.join(failed)}")
    return 0 if result.success and not failed else 1


def _tools_log(settings) -> Path | None:
    """Where dbt's console output goes during `make run`: a file in DAGSTER_HOME, unless
    FINOPS_LOG_LEVEL asks to follow every step (INFO, DEBUG), when it stays on the console."""
    if settings.log_level in ("DEBUG", "INFO"):
        return None
    path = Path(os.environ["DAGSTER_HOME"]) / "last_run_tools.log"
    path.write_text("")
    return path


@contextlib.contextmanager
def _tools_output(path: Path | None):
    """dagster-dbt echoes every dbt event to stdout; send it to `path` (Dagster's own warnings
    and errors still reach the console, on stderr)."""
    if path is None:
        yield
        return
    with open(path, "a", encoding="utf-8") as fh, contextlib.redirect_stdout(fh):
        yield


def _ingest_outcome(result) -> str:
    """`ok, 3 files, 16,732 rows, 0 quarantined` from the billing asset's materialization."""
    if not result.success:
        return "FAILED (its previous data is kept; the reason is above)"
    for event in result.get_asset_materialization_events():
        meta = event.materialization.metadata
        if "rows" in meta:
            files = meta["files_read"].value if "files_read" in meta else "?"
            return f"ok, {files} files read, {meta['rows'].value:,} rows, {meta['rows_quarantined'].value:,} quarantined"
    return "ok"


def summary(settings) -> None:
    from .resources import connect_warehouse

    con = connect_warehouse(settings.warehouse, read_only=True)
    try:
        rows, billed, effective = con.execute(
            "SELECT COUNT(*), SUM(BilledCost), SUM(EffectiveCost) FROM raw.billing_line_items").fetchone()
        quarantined = con.execute("SELECT COUNT(*) FROM raw.billing_quarantine").fetchone()[0]
        usage, untagged = con.execute("""
            SELECT SUM(effective_cost), SUM(CASE WHEN is_untagged THEN effective_cost END)
            FROM intermediate.int_billing_line_items_classified WHERE is_allocatable""").fetchone()
        gpu = con.execute("SELECT SUM(gpu_effective_cost), SUM(gpu_hours) FROM marts.fct_daily_cost").fetchone()
        runs = con.execute("""
            SELECT COUNT(*), COUNT(*) FILTER (WHERE status IN ('FAILED', 'KILLED')), MEDIAN(cost_per_useful_gpu_hour)
            FROM marts.fct_training_run_cost""").fetchone()
        waste = con.execute("""
            SELECT waste_category, SUM(wasted_cost) FROM marts.fct_waste GROUP BY 1 ORDER BY 2 DESC""").fetchall()
        tokens = con.execute("""
            SELECT model, SUM(total_tokens), SUM(effective_cost) / SUM(total_tokens) * 1e6,
                   SUM(effective_cost + idle_cost_share) / SUM(total_tokens) * 1e6
            FROM marts.fct_token_cost WHERE NOT is_unallocated
            GROUP BY model HAVING SUM(total_tokens) > 0 ORDER BY 2 DESC LIMIT 5""").fetchall()
        ml = _ml_summary(con)
    finally:
        con.close()
    share = (Decimal(untagged or 0) / Decimal(usage)) if usage else Decimal(0)
    print()
    print("  rows in (canonical line items) : {:,}".format(rows))
    print("  rows quarantined               : {:,}".format(quarantined))
    print("  billed total                   : ${:,.2f}".format(billed or 0))
    print("  effective (amortised) total    : ${:,.2f}".format(effective or 0))
    print("  GPU spend / GPU-hours          : ${:,.2f} / {:,.0f}".format(gpu[0] or 0, gpu[1] or 0))
    print("  untagged share of usage        : {:.1%}".format(float(share)))
    print("  training runs (failed/killed)  : {:,} ({:,})".format(runs[0], runs[1]))
    if runs[2] is not None:
        print("  median cost per useful GPU-hour: ${:,.2f}".format(runs[2]))
    for category, dollars in waste:
        print("  waste: {:<24}: ${:,.2f}".format(category, dollars or 0))
    for model, n, usage_rate, allocation_rate in tokens:
        print("  $/1M tokens used / with idle   : ${:,.2f} / ${:,.2f} {} ({:,.1f}M tokens)".format(
            usage_rate, allocation_rate, model, n / 1e6))
    for line in ml:
        print(line)
    print(f"  warehouse                      : {settings.warehouse}")
    print(f"  exports                        : {settings.exports}")
    print()


def _ml_summary(con) -> list[str]:
    """The models' backtests, as the run summary shows them (empty when the ML assets did not run)."""
    tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'ml'").fetchall()}
    lines = []
    if "runtime_model_evaluation" in tables:
        columns = {r[0] for r in con.execute("SELECT column_name FROM information_schema.columns WHERE table_schema = 'ml' "
                                             "AND table_name = 'runtime_model_evaluation'").fetchall()}
        row = con.execute("SELECT mape, baseline_mape, p90_coverage FROM ml.runtime_model_evaluation").fetchone() \
            if "mape" in columns else None
        if row:
            lines.append(f"  runtime model MAPE (baseline)  : {row[0]:.1%} ({row[1]:.1%}), p90 coverage {row[2]:.0%}")
        else:
            lines.append("  runtime model                  : not trained (fewer than 50 finished runs in jobs/)")
    if "spend_forecast" in tables:
        row = con.execute("""SELECT ANY_VALUE(model), ANY_VALUE(backtest_monthly_total_mape), ANY_VALUE(baseline_monthly_total_mape)
                             FROM ml.spend_forecast WHERE unique_id = 'total'""").fetchone()
        if row and row[1] is not None:
            lines.append(f"  forecast 30-day total MAPE     : {row[1]:.1%} ({row[0]}) vs seasonal naive {row[2]:.1%}")
    if "spend_anomalies" in tables:
        n, dollars = con.execute("SELECT COUNT(*), SUM(severity_usd) FILTER (WHERE severity_usd > 0) FROM ml.spend_anomalies").fetchone()
        lines.append(f"  spend anomalies (last 2 weeks) : {n} (${dollars or 0:,.2f} above expected)")
    if con.execute("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'marts' "
                   "AND table_name = 'recommendations'").fetchone()[0]:
        for category, n, dollars in con.execute("""
                SELECT category, COUNT(*), SUM(estimated_monthly_savings_usd) FROM marts.recommendations
                GROUP BY 1 ORDER BY 3 DESC""").fetchall():
            lines.append(f"  recommend {category:<21}: {n:>3} (${dollars or 0:,.2f} a month)")
    return lines


def spark(export_only: bool = False) -> int:
    """`make run` first (the warehouse and the ML outputs are the sources), then this: the same
    dbt project, policy vars and tests on Spark; the marts land under FINOPS_SPARK_DIR."""
    from .marts.spark_build import build_on_spark, export_warehouse_sources, spark_dir
    from .policy import load_policy
    from .resources import connect_warehouse

    settings = load_settings()
    policy = load_policy(settings.policy)
    connect_warehouse(settings.warehouse, read_only=True, wait_seconds=0).close()  # there, and no run holds it
    if export_only:
        export_warehouse_sources(settings.warehouse, spark_dir(), log=log)
        return 0
    build = build_on_spark(settings.warehouse, policy, folder=spark_dir(), log=log)
    log(f"Spark marts: {build.spark_dir / 'spark-warehouse'} (parquet, one folder per table)")
    return 0 if build.returncode == 0 else EXIT_FAILED


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="finops")
    sub = ap.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="materialize the whole graph on FINOPS_LANDING")
    r.add_argument("--seed", type=int, default=7)
    r.add_argument("--scale", type=float, default=1.0)
    sub.add_parser("prepare", help="parse the dbt project and set up DAGSTER_HOME (for `make dev`)")
    s = sub.add_parser("spark", help="build the dbt project on a local Apache Spark from the warehouse's sources "
                                     "(exported as parquet to FINOPS_SPARK_DIR, default data/spark)")
    s.add_argument("--export-only", action="store_true",
                   help="only write the sources as parquet (billing partitioned by billing period)")
    args = ap.parse_args(argv)
    from .resources import WarehouseBusyError

    try:
        if args.command == "prepare":
            settings = load_settings()
            from .policy import load_policy

            load_policy(settings.policy)
            ensure_dagster_home()
            prepare_dbt_manifest(settings.warehouse)
            return 0
        if args.command == "spark":
            return spark(export_only=args.export_only)
        return run(args)
    except (ConfigError, PolicyError, LandingError) as exc:
        return _error(exc, EXIT_CONFIG)
    except WarehouseBusyError as exc:
        return _error(exc, EXIT_FAILED)
    except subprocess.CalledProcessError as exc:
        return _error(f"`{Path(str(exc.cmd[0])).name} {exc.cmd[1]}` failed with exit code {exc.returncode} "
                      "(its messages are above): fix what it reports, then run again", EXIT_FAILED)
    except KeyboardInterrupt:
        return _error("interrupted: a billing period being loaded keeps its previous data; run again to finish", 130)


def _error(exc, code: int) -> int:
    """One line, whatever the message held (messages never hold credentials)."""
    print(f"[finops] error: {' '.join(str(exc).split())}", file=sys.stderr, flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
