"""Billing ingestion as plain functions the Dagster assets (and the CLI) call: scan the landing
location, probe files (cached per file signature), replace one billing period, and the checks
that prove nothing was lost on the way."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from decimal import Decimal

import duckdb

from ..policy import TaggingPolicy
from .billing import FILES, LINE_ITEMS, QUARANTINE, FileProbe, PeriodGroup, PeriodLoad, ensure_tables, is_billing_data_file, load_period, probe_file
from .landing import LandingFile, list_files

PROBES = "raw.billing_file_probes"


def scan_billing(landing: str) -> list[LandingFile]:
    return [f for f in list_files(landing, "billing") if is_billing_data_file(f)]


_PROBE_COLUMNS = ["uri", "signature", "source_format", "home_period", "groups", "parse_rejects", "error", "header"]


def _ensure_probe_cache(con) -> None:
    con.execute("CREATE SCHEMA IF NOT EXISTS raw")
    existing = [r[0] for r in con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE schema_name = 'raw' AND table_name = 'billing_file_probes' ORDER BY column_index"
    ).fetchall()]
    if existing and existing != _PROBE_COLUMNS:
        con.execute(f"DROP TABLE {PROBES}")  # a cache: rebuilt from the files when its layout changes
    con.execute(f"""CREATE TABLE IF NOT EXISTS {PROBES} (
        uri VARCHAR PRIMARY KEY, signature VARCHAR, source_format VARCHAR, home_period VARCHAR,
        groups VARCHAR, parse_rejects BIGINT, error VARCHAR, header VARCHAR)""")


def probe_all(con, files: list[LandingFile], policy: TaggingPolicy, *, cache: bool = True, log=print) -> list[FileProbe]:
    """Probe every file, reusing the cached probe of a file whose size and ETag/mtime are unchanged."""
    cached: dict[str, tuple] = {}
    if cache:
        _ensure_probe_cache(con)
        cached = {r[0]: r for r in con.execute(f"SELECT * FROM {PROBES}").fetchall()}
    out = []
    started, probed = time.monotonic(), 0
    for i, f in enumerate(files, 1):
        row = cached.get(f.uri)
        if row and row[1] == f.signature:
            groups = [PeriodGroup(g[0], g[1], g[2], Decimal(g[3]) if g[3] is not None else None) for g in json.loads(row[4])]
            out.append(FileProbe(f, row[2], row[3], groups, row[5], row[6], row[7] or ""))
            continue
        log(f"probing [{i}/{len(files)}] {f.uri}")
        p = probe_file(con, f, policy)
        probed += 1
        out.append(p)
        if cache:
            groups = json.dumps([[g.period, g.account, g.rows, str(g.landing_billed_cost) if g.landing_billed_cost is not None else None] for g in p.groups])
            con.execute(f"INSERT OR REPLACE INTO {PROBES} VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        [f.uri, f.signature, p.source_format, p.home_period, groups, p.parse_rejects, p.error, p.columns])
    if cache:
        live = [f.uri for f in files]
        con.execute(f"DELETE FROM {PROBES} WHERE NOT list_contains(?, uri)", [live])
    if files:
        log(f"probed {probed} new or changed file(s) of {len(files)} ({sum(1 for p in out if p.error)} unreadable), "
            f"{sum(g.rows for p in out for g in p.groups):,} rows, in {time.monotonic() - started:.1f}s")
    return out


def discover_periods(landing: str, policy: TaggingPolicy, con=None, log=print) -> tuple[list[str], list[FileProbe]]:
    """Billing periods present in the landing location. With a warehouse connection the probes
    go to its cache, so the period loads that follow do not read every file again; without one
    (the sensor, which never opens the warehouse) an in-memory DuckDB does the reading."""
    own = con is None
    if own:
        con = duckdb.connect()
        con.execute("SET TimeZone = 'UTC'")
    try:
        probes = probe_all(con, scan_billing(landing), policy, cache=not own, log=log)
    finally:
        if own:
            con.close()
    return sorted({p for pr in probes for p in pr.periods}), probes


def ingest_billing_period(con, landing: str, period: str, policy: TaggingPolicy, log=print) -> PeriodLoad:
    ensure_tables(con)
    files = scan_billing(landing)
    log(f"{len(files)} billing files in {landing}/billing")
    probes = probe_all(con, files, policy, log=log)
    result = load_period(con, period, probes, policy, log=log)
    log(f"billing period {period}: {len(result.files_loaded)} file(s) read, {result.rows_loaded:,} rows loaded, "
        f"{result.rows_quarantined:,} quarantined, in {result.seconds:.1f}s")
    return result


@dataclass
class CheckOutcome:
    name: str
    passed: bool
    description: str
    metadata: dict


def _cents(x) -> Decimal:
    return Decimal(x or 0).quantize(Decimal("0.01"))


def billing_checks(con, period: str) -> list[CheckOutcome]:
    """Per account in the period: landing = canonical + quarantine, to the cent; no duplicate
    line items; required canonical columns filled."""
    rows = con.execute(f"""
        WITH landing AS (
            SELECT billing_account_id AS account, SUM(landing_billed_cost) AS landing_cost, SUM(landing_rows) AS landing_rows
            FROM {FILES} WHERE billing_period = ? AND status = 'loaded' GROUP BY 1),
        canonical AS (
            SELECT COALESCE(BillingAccountId, '') AS account, SUM(BilledCost) AS cost, COUNT(*) AS n
            FROM {LINE_ITEMS} WHERE x_billing_period = ? GROUP BY 1),
        quarantine AS (
            SELECT billing_account_id AS account, SUM(billed_cost) AS cost,
                   COUNT(*) FILTER (WHERE reason NOT LIKE 'CSV row cannot be parsed%') AS n
            FROM {QUARANTINE} WHERE billing_period = ? GROUP BY 1)
        SELECT COALESCE(l.account, c.account, q.account), l.landing_cost, c.cost, q.cost, l.landing_rows, c.n, q.n
        FROM landing l FULL JOIN canonical c USING (account) FULL JOIN quarantine q USING (account)
        ORDER BY 1""", [period, period, period]).fetchall()
    table, ok = [], True
    for account, landing_cost, canonical_cost, q_cost, landing_rows, c_rows, q_rows in rows:
        balanced = _cents(landing_cost) == _cents(canonical_cost) + _cents(q_cost) and \
            (landing_rows or 0) == (c_rows or 0) + (q_rows or 0)
        ok &= balanced
        table.append(f"| {account} | {_cents(landing_cost)} | {_cents(canonical_cost)} | {_cents(q_cost)} | {landing_rows or 0} | {c_rows or 0} | {q_rows or 0} | {'ok' if balanced else 'MISMATCH'} |")
    md = "| account | landing $ | canonical $ | quarantine $ | landing rows | canonical rows | quarantined rows | |\n|---|---|---|---|---|---|---|---|\n" + "\n".join(table)
    reconciliation = CheckOutcome("landing_reconciles", ok,
                                  "Billed cost in the landing files = canonical + quarantine, to the cent, per account.",
                                  {"accounts": len(rows), "reconciliation": md})
    dup = con.execute(f"""
        SELECT COUNT(*) FROM (
            SELECT x_line_item_id, ChargePeriodStart, ChargePeriodEnd, x_line_item_type, BillingAccountId
            FROM {LINE_ITEMS} WHERE x_billing_period = ? AND x_line_item_id IS NOT NULL
            GROUP BY ALL HAVING COUNT(*) > 1)""", [period]).fetchone()[0]
    duplicates = CheckOutcome("no_duplicate_line_items", dup == 0,
                              "No line item id appears twice for the same charge period.",
                              {"duplicated_line_items": dup})
    nulls = con.execute(f"""
        SELECT COUNT(*) FILTER (WHERE BilledCost IS NULL), COUNT(*) FILTER (WHERE EffectiveCost IS NULL),
               COUNT(*) FILTER (WHERE ChargePeriodStart IS NULL), COUNT(*) FILTER (WHERE BillingAccountId IS NULL)
        FROM {LINE_ITEMS} WHERE x_billing_period = ?""", [period]).fetchone()
    names = ["BilledCost", "EffectiveCost", "ChargePeriodStart", "BillingAccountId"]
    required = CheckOutcome("required_columns_not_null", sum(nulls) == 0,
                            "Required FOCUS columns are filled on every canonical row.",
                            {f"null_{n}": v for n, v in zip(names, nulls)})
    return [reconciliation, duplicates, required]


def marts_reconcile(con) -> CheckOutcome:
    """fct_daily_cost sums to the canonical table, per billing period and account, to the cent."""
    rows = con.execute(f"""
        WITH canonical AS (
            SELECT x_billing_period AS billing_period, BillingAccountId AS account, SUM(BilledCost) AS cost
            FROM {LINE_ITEMS} GROUP BY 1, 2),
        mart AS (
            SELECT billing_period, billing_account_id AS account, SUM(billed_cost) AS cost
            FROM marts.fct_daily_cost GROUP BY 1, 2)
        SELECT billing_period, account, c.cost, m.cost FROM canonical c FULL JOIN mart m USING (billing_period, account)
        ORDER BY 1, 2""").fetchall()
    bad = [(p, a, c, m) for p, a, c, m in rows if _cents(c) != _cents(m)]
    return CheckOutcome(
        "marts_reconcile_to_canonical", not bad,
        "fct_daily_cost.billed_cost = canonical BilledCost per billing period and account, to the cent.",
        {"period_accounts": len(rows), "mismatches": len(bad),
         "first_mismatches": "; ".join(f"{p}/{a}: canonical {c} vs mart {m}" for p, a, c, m in bad[:5]) or "none"},
    )
