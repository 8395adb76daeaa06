"""Billing ingestion: which files hold which billing periods, which delivery of a period wins,
and the atomic replacement of one period in the warehouse.

Delivery rule (CONTRACTS.md, "Landing layout"): a re-delivered billing period REPLACES the
earlier delivery of that period for that billing account. A *delivery* is the set of files one
export run wrote: the files of one folder that differ only by a part number
(`export-00001.snappy.parquet`, `export-00002...`, `report-1.csv.gz`, `report-2.csv.gz`).
For every (billing period, billing account) the newest delivery (latest file modification time,
then the later path) wins; rows of older deliveries are not loaded, and the file log
`raw.billing_files` records which delivery superseded them. This covers CUR 2.0 overwrite
exports (same folder, files replaced), legacy CUR assemblies (a new assembly folder per
restatement) and FOCUS exports dropped as new files.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from ..policy import TaggingPolicy
from .canonical import CANONICAL_COLUMNS, CANONICAL_NAMES, SourceSpec, canonical_select, ddl, probe_select, register_gpu_catalog
from .cur import cur2_source, cur_legacy_source
from .detect import CUR2, CUR_LEGACY, FOCUS, FOCUS_CONTRACT_COMMITMENT, FileHeader, check_columns, detect_billing_format, read_header
from .errors import BadFileError, IngestError
from .focus import focus_source
from .landing import LandingFile, local_path
from .sqlutil import ident

LINE_ITEMS = "raw.billing_line_items"
QUARANTINE = "raw.billing_quarantine"
FILES = "raw.billing_files"

_PART_SUFFIX = re.compile(r"[-_](?:part[-_]?)?\d{1,5}$", re.IGNORECASE)
_DATA_EXTENSIONS = (".snappy.parquet", ".gz.parquet", ".parquet", ".csv.gz", ".csv")


def is_billing_data_file(f: LandingFile) -> bool:
    name = f.name.lower()
    return name.endswith(_DATA_EXTENSIONS) and not name.endswith("manifest.json")


def delivery_key(f: LandingFile) -> str:
    """Folder + file stem without its part number: the files one export run wrote together."""
    stem = f.name
    for ext in _DATA_EXTENSIONS:
        if stem.lower().endswith(ext):
            stem = stem[: -len(ext)]
            break
    return f"{f.folder}/{_PART_SUFFIX.sub('', stem)}"


@dataclass
class PeriodGroup:
    period: str | None
    account: str
    rows: int
    landing_billed_cost: object  # Decimal | None


@dataclass
class FileProbe:
    file: LandingFile
    source_format: str
    home_period: str | None
    groups: list[PeriodGroup] = field(default_factory=list)
    parse_rejects: int = 0
    error: str | None = None
    columns: str = ""  # the header, to batch part files that share it

    @property
    def periods(self) -> set[str]:
        if self.error:  # an unreadable file names its period by its path: that period fails, visibly
            return {self.home_period} if self.home_period else set()
        return {g.period or self.home_period for g in self.groups if (g.period or self.home_period)}


def ensure_tables(con) -> None:
    con.execute("CREATE SCHEMA IF NOT EXISTS raw")
    con.execute(ddl(LINE_ITEMS))
    for name, typ in CANONICAL_COLUMNS:  # a warehouse from before a column was added gets it
        con.execute(f"ALTER TABLE {LINE_ITEMS} ADD COLUMN IF NOT EXISTS {ident(name)} {typ}")
    con.execute(f"""
        CREATE TABLE IF NOT EXISTS {QUARANTINE} (
          billing_period VARCHAR, billing_account_id VARCHAR, source_file VARCHAR,
          source_format VARCHAR, source_row BIGINT, column_name VARCHAR, reason VARCHAR,
          raw_value VARCHAR, billed_cost DECIMAL(38, 10), ingested_at TIMESTAMP)""")
    con.execute(f"""
        CREATE TABLE IF NOT EXISTS {FILES} (
          billing_period VARCHAR, billing_account_id VARCHAR, source_file VARCHAR,
          source_format VARCHAR, file_size BIGINT, file_modified_at TIMESTAMP,
          delivery VARCHAR, status VARCHAR, superseded_by VARCHAR, landing_rows BIGINT,
          landing_billed_cost DECIMAL(38, 10), message VARCHAR)""")


def _delivered_at(f: LandingFile) -> str:
    return f.modified.strftime("%Y-%m-%d %H:%M:%S")


def source_spec(con, files: LandingFile | list[LandingFile], policy: TaggingPolicy, rejects: str | None = None,
                with_tags: bool = True) -> tuple[str, SourceSpec | None, FileHeader]:
    """One reader spec over one file, or over several files of one delivery that share a header
    (one scan instead of one statement per part file)."""
    files = [files] if isinstance(files, LandingFile) else files
    paths = [local_path(f) for f in files]
    header = read_header(paths[0], files[0].uri)
    fmt = detect_billing_format(header.columns, files[0].uri)
    if fmt == FOCUS_CONTRACT_COMMITMENT:
        return fmt, None, header
    check_columns(fmt, header, files[0].uri)
    builder = {CUR2: cur2_source, CUR_LEGACY: cur_legacy_source, FOCUS: focus_source}[fmt]
    try:
        spec = builder(con, paths, header, rejects, with_tags)
    except IngestError:
        raise
    except Exception as exc:  # DuckDB's own error types: a broken file
        raise BadFileError(", ".join(f.uri for f in files), _short(exc, paths)) from None
    return fmt, spec, header


def _short(exc: Exception, paths=()) -> str:
    """The first line of a library's error, without the (local, maybe cached) path it repeats:
    the message names the landing file already."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if "Error when sniffing file" in text:  # DuckDB's first line says nothing a user can act on
        return "the CSV cannot be split into rows (an unclosed quote, another delimiter or encoding)"
    for p in paths:
        text = text.replace(f': "{p}"', "").replace(f": {p}", "").replace(f'"{p}"', "the file").replace(p, "the file")
    return text[:400]


def probe_file(con, f: LandingFile, policy: TaggingPolicy) -> FileProbe:
    """Read a file once to learn its format and, per (billing period, billing account), its row
    count and billed cost as the file states it. Never raises for a bad file: the error is
    recorded so the file's own partition fails and nothing else."""
    try:
        # the probe needs periods, accounts and costs only: no scan for tag keys
        fmt, spec, header = source_spec(con, f, policy, rejects="_probe_rej", with_tags=False)
        if spec is None:
            return FileProbe(f, fmt, None)
        rows = con.execute(probe_select(spec)).fetchall()
        groups = [PeriodGroup(p, a, n, s) for p, a, n, s in rows]
        counts: dict[str, int] = defaultdict(int)
        for g in groups:
            if g.period:
                counts[g.period] += g.rows
        home = max(sorted(counts), key=lambda p: counts[p]) if counts else _period_from_path(f.uri)
        rejects = _csv_rejects(con, "_probe_rej")
        return FileProbe(f, spec.format_label, home, groups, parse_rejects=len(rejects), columns=",".join(header.columns))
    except IngestError as exc:
        return FileProbe(f, "unknown", _period_from_path(f.uri), error=str(exc))
    except Exception as exc:
        try:
            paths = [local_path(f)]  # the file itself, or its cached copy (already fetched)
        except IngestError:
            paths = []
        return FileProbe(f, "unknown", _period_from_path(f.uri), error=str(BadFileError(f.uri, _short(exc, paths))))


_PATH_PERIOD = [
    re.compile(r"BILLING_PERIOD=(\d{4})-(\d{2})"),
    re.compile(r"/(\d{4})(\d{2})01-\d{8}/"),
    re.compile(r"(?<!\d)(\d{4})-(\d{2})(?!\d)"),
]


def _period_from_path(uri: str) -> str | None:
    """The billing period a path names (`BILLING_PERIOD=2026-11`, `20261101-20261201/`, `2026-11`)."""
    for pattern in _PATH_PERIOD:
        m = pattern.search(uri)
        if m:
            return f"{m.group(1)}-{m.group(2)}"
    return None


def _csv_rejects(con, name: str) -> list[tuple]:
    # Look before reading: a failed statement would abort the caller's transaction.
    exists = con.execute(
        "SELECT COUNT(*) FROM duckdb_tables() WHERE table_name = ? AND temporary", [f"{name}_errors"]
    ).fetchone()[0]
    if not exists:
        return []
    rows = con.execute(
        # DuckDB reports a short row once per missing column: one quarantine row per CSV line
        f"""SELECT s.file_path, e.line, ARG_MIN(e.column_name, e.column_idx),
                   ARG_MIN(CAST(e.error_type AS VARCHAR), e.column_idx),
                   LEFT(ANY_VALUE(e.csv_line), 500), LEFT(ARG_MIN(e.error_message, e.column_idx), 300)
            FROM {name}_errors e JOIN {name}_scans s USING (scan_id, file_id)
            GROUP BY s.file_path, e.line ORDER BY s.file_path, e.line"""
    ).fetchall()
    con.execute(f"DROP TABLE IF EXISTS {name}_errors")
    con.execute(f"DROP TABLE IF EXISTS {name}_scans")
    return rows


@dataclass
class DeliveryChoice:
    """Per (period, account): the winning delivery's files, and the superseded ones."""
    winners: dict[tuple[str, str], str]
    files_by_delivery: dict[str, list[LandingFile]]
    superseded: dict[tuple[str, str], list[str]]


def choose_deliveries(probes: list[FileProbe]) -> DeliveryChoice:
    files_by_delivery: dict[str, list[LandingFile]] = defaultdict(list)
    # recency of a delivery for one (period, account): its newest file that carries them, so
    # monthly files sharing a folder and name stem do not lend each other their dates
    latest: dict[tuple[str, str, str], datetime] = {}
    candidates: dict[tuple[str, str], set[str]] = defaultdict(set)
    for p in probes:
        if p.error or not p.groups:
            continue
        key = delivery_key(p.file)
        files_by_delivery[key].append(p.file)
        for g in p.groups:
            period = g.period or p.home_period
            if period:
                candidates[(period, g.account)].add(key)
                k = (key, period, g.account)
                latest[k] = max(latest.get(k, p.file.modified), p.file.modified)
    winners, superseded = {}, {}
    for pa, keys in candidates.items():
        ordered = sorted(keys, key=lambda k: (latest[(k, *pa)], k))
        winners[pa] = ordered[-1]
        superseded[pa] = ordered[:-1]
    return DeliveryChoice(winners, dict(files_by_delivery), superseded)


@dataclass
class PeriodLoad:
    period: str
    rows_loaded: int
    rows_quarantined: int
    billed_cost: object
    landing_billed_cost: object
    files_loaded: list[str]
    files_superseded: list[str]
    accounts: list[str]
    seconds: float


def identical_copies(files: list[LandingFile], probe_by_uri: dict[str, FileProbe]) -> dict[str, str]:
    """uri -> the uri it is a byte-for-byte copy of, among files of one delivery (sorted: the
    first of the copies stays). Only files of the same size and the same rows and cost per period
    and account are read to compare, so a delivery of distinct parts costs nothing here."""
    shapes: dict[tuple, list[LandingFile]] = defaultdict(list)
    for f in files:
        groups = tuple((g.period, g.account, g.rows, str(g.landing_billed_cost)) for g in probe_by_uri[f.uri].groups)
        shapes[(f.size, groups)].append(f)
    copies: dict[str, str] = {}
    for same in shapes.values():
        if len(same) < 2:
            continue
        first_of: dict[str, str] = {}
        for f in same:
            digest = hashlib.sha256()
            with open(local_path(f), "rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(chunk)
            copies_of = first_of.setdefault(digest.hexdigest(), f.uri)
            if copies_of != f.uri:
                copies[f.uri] = copies_of
    return copies


class PeriodFailed(IngestError):
    """A file of this billing period is unreadable: the period keeps its previous data."""


def load_period(con, period: str, probes: list[FileProbe], policy: TaggingPolicy, log=print) -> PeriodLoad:
    """Replace one billing period in the warehouse from the winning deliveries, in one
    transaction. A bad file of this period fails this period only; its old rows stay."""
    started = time.monotonic()
    bad = [p for p in probes if p.error and p.home_period == period]
    if bad:
        raise PeriodFailed(
            f"billing period {period} keeps its previous data because {len(bad)} file(s) cannot be read: "
            + " | ".join(p.error for p in bad)
        )
    choice = choose_deliveries(probes)
    accounts_by_delivery: dict[str, list[str]] = defaultdict(list)
    for (p, account), key in sorted(choice.winners.items()):
        if p == period:
            accounts_by_delivery[key].append(account)
    probe_by_uri = {p.file.uri: p for p in probes}
    register_gpu_catalog(con)
    ensure_tables(con)
    columns = ", ".join(CANONICAL_NAMES)
    loaded_files: list[str] = []
    file_log: list[tuple] = []
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(f"DELETE FROM {LINE_ITEMS} WHERE x_billing_period = ?", [period])
        con.execute(f"DELETE FROM {QUARANTINE} WHERE billing_period = ?", [period])
        con.execute(f"DELETE FROM {FILES} WHERE billing_period = ?", [period])
        for key in sorted(accounts_by_delivery):
            accounts = accounts_by_delivery[key]
            relevant = [
                f for f in sorted(choice.files_by_delivery[key], key=lambda x: x.uri)
                if any((g.period or probe_by_uri[f.uri].home_period) == period and g.account in accounts
                       for g in probe_by_uri[f.uri].groups)
            ]
            # a part file copied under another part number holds the same rows twice: load it once
            copies = identical_copies(relevant, probe_by_uri)
            for f in relevant:
                if f.uri in copies:
                    probe = probe_by_uri[f.uri]
                    file_log += [(period, g.account, f.uri, probe.source_format, f.size, _delivered_at(f), key, "duplicate",
                                  copies[f.uri], g.rows, g.landing_billed_cost,
                                  f"the same bytes as {copies[f.uri]}: not loaded twice")
                                 for g in probe.groups
                                 if (g.period or probe.home_period) == period and g.account in accounts]
            relevant = [f for f in relevant if f.uri not in copies]
            # parquet part files with the same header are read in one scan (file_row_number keeps
            # record numbers exact); CSV files one per scan, for the same reason
            batches: dict[tuple, list[LandingFile]] = defaultdict(list)
            for f in relevant:
                parquet = local_path(f).lower().endswith(".parquet")
                batches[(probe_by_uri[f.uri].source_format, probe_by_uri[f.uri].columns,
                         "" if parquet else f.uri)].append(f)
            for batch in batches.values():
                batch_started = time.monotonic()
                log(f"loading {len(batch)} file(s) of {key} ({probe_by_uri[batch[0].uri].source_format}) for {period}, "
                    f"accounts {', '.join(a or '(empty)' for a in accounts)}")
                _, spec, _ = source_spec(con, batch, policy, rejects="_load_rej")
                _csv_rejects(con, "_load_rej")  # drop what the spec's own key scans recorded
                meta = {local_path(f): (f.uri, _delivered_at(f), probe_by_uri[f.uri].home_period) for f in batch}
                sql = canonical_select(spec, policy, files=meta)
                # accounts come from the file (any text, even a NUL byte): parameters, not SQL text
                where = "x_billing_period = ? AND list_contains(?::VARCHAR[], COALESCE(BillingAccountId, ''))"
                inserted = con.execute(
                    f"INSERT INTO {LINE_ITEMS} ({columns}) SELECT {columns} FROM ({sql}) WHERE _reject_reason IS NULL AND {where}",
                    [period, accounts]).fetchone()[0]
                parse_rejects = _csv_rejects(con, "_load_rej")
                expected = sum(g.rows for f in batch for g in probe_by_uri[f.uri].groups
                               if (g.period or probe_by_uri[f.uri].home_period) == period and g.account in accounts)
                # a second pass for the quarantine only when the probe saw rows that did not load
                rejected = 0
                if inserted < expected:
                    rejected = con.execute(f"""
                        INSERT INTO {QUARANTINE}
                        SELECT x_billing_period, COALESCE(BillingAccountId, ''), x_source_file, x_source_format, x_source_row,
                               _reject_column, _reject_reason, _reject_value, _landing_billed_cost, x_ingested_at
                        FROM ({sql}) WHERE _reject_reason IS NOT NULL AND {where}""", [period, accounts]).fetchone()[0]
                uri_of = {local_path(f): f for f in batch}
                quarantined = []
                for path, line, col, etype, raw, msg in parse_rejects:
                    f = uri_of.get(path)
                    if f is not None and probe_by_uri[f.uri].home_period == period:
                        # DuckDB numbers CSV records with the header as 1 (quoted newlines do not
                        # count); x_source_row numbers the data records from 1: the same numbering
                        quarantined.append((period, f.uri, probe_by_uri[f.uri].source_format, line - 1, col or "(row)",
                                            f"CSV row cannot be parsed: {etype}: {msg}", raw, _delivered_at(f)))
                if quarantined:
                    con.executemany(
                        f"INSERT INTO {QUARANTINE} VALUES (?, '', ?, ?, ?, ?, ?, ?, NULL, CAST(? AS TIMESTAMP))", quarantined)
                log(f"  read {len(batch)} file(s): {inserted:,} rows loaded, {rejected + len(quarantined):,} "
                    f"quarantined, in {time.monotonic() - batch_started:.1f}s")
                for f in batch:
                    probe = probe_by_uri[f.uri]
                    loaded_files.append(f.uri)
                    for g in probe.groups:
                        if (g.period or probe.home_period) == period and g.account in accounts:
                            file_log.append((period, g.account, f.uri, probe.source_format, f.size,
                                             _delivered_at(f), key, "loaded", None, g.rows, g.landing_billed_cost, None))
        superseded_files = []
        for (p, account), old_keys in sorted(choice.superseded.items()):
            if p != period:
                continue
            winner = choice.winners[(p, account)]
            for key in old_keys:
                for f in choice.files_by_delivery[key]:
                    probe = probe_by_uri[f.uri]
                    for g in probe.groups:
                        if (g.period or probe.home_period) == period and g.account == account:
                            superseded_files.append(f.uri)
                            file_log.append((period, account, f.uri, probe.source_format, f.size, _delivered_at(f),
                                             key, "superseded", winner, g.rows, g.landing_billed_cost,
                                             f"replaced by the newer delivery {winner}"))
        if file_log:
            con.executemany(f"INSERT INTO {FILES} VALUES (?, ?, ?, ?, ?, CAST(? AS TIMESTAMP), ?, ?, ?, ?, ?, ?)", file_log)
        stats = con.execute(
            f"SELECT COUNT(*), SUM(BilledCost) FROM {LINE_ITEMS} WHERE x_billing_period = ?", [period]
        ).fetchone()
        q = con.execute(f"SELECT COUNT(*) FROM {QUARANTINE} WHERE billing_period = ?", [period]).fetchone()
        landing = con.execute(
            f"SELECT SUM(landing_billed_cost) FROM {FILES} WHERE billing_period = ? AND status = 'loaded'", [period]
        ).fetchone()
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return PeriodLoad(
        period=period, rows_loaded=stats[0], rows_quarantined=q[0], billed_cost=stats[1],
        landing_billed_cost=landing[0], files_loaded=loaded_files,
        files_superseded=sorted(set(superseded_files)),
        accounts=sorted({a for (p, a) in choice.winners if p == period}),
        seconds=time.monotonic() - started,
    )
