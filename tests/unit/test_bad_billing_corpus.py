"""The bad-input corpus for every billing reader (CUR 2.0 parquet and csv.gz, legacy CUR csv.gz,
FOCUS csv and parquet), each file written the way the exporting tool writes it and then broken one
way at a time. Every case asserts its exact outcome:

- read like the clean file (BOM, CRLF, quoted newlines, extra columns, other date formats/zones);
- the row quarantined with file, row, column and reason (NaN / Inf / 1e308 / text costs, dates
  that are not dates, rows DuckDB cannot split);
- the file's billing period failing with a message naming the file (and the column where one is
  to blame) while the other periods load and the failed one keeps its previous data;
and, wherever something loaded, that landing = canonical + quarantine to the cent.

Decisions a user would expect, documented here because the tests pin them:
- A 1 MB tag value (clouds cap tag values at 256 characters, so it is junk, but the cost line
  it sits on is real) is loaded verbatim: the cost is not held back for a tag, and the value is
  inert text in `Tags` / the tag column.
- Hostile strings (`'; drop table x; --`, `../../etc`, quotes, `{{ }}`) in tag keys, values, ids
  and column names are data: stored verbatim, never part of SQL text unquoted, never a path.
- A header-only file has no rows and names no period: nothing loads, nothing fails.
- Epoch numbers and free-text dates in a date column are quarantined, not guessed.
- A parquet key column of a type its values cannot be read from (boolean cost, integer
  timestamps, account ids as integers that lost their leading zeros) fails the file by column.
- A byte-identical copy of a file is never counted twice: under another name it is an older or
  newer delivery (the newest wins), under another part number of the same delivery it is
  logged as `duplicate` and not loaded.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import time
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest

from orchestration.ingest.billing import PeriodFailed, ensure_tables, load_period
from orchestration.ingest.pipeline import billing_checks, probe_all, scan_billing
from tests.unit import billing_corpus as bc

P = "2026-10"
COMPARE = "BillingAccountId, BillingPeriodStart, ChargePeriodStart, ChargePeriodEnd, BilledCost, EffectiveCost, " \
          "PricingQuantity, ResourceId, ChargeDescription, team, Tags, x_source_row"


def ingest(con, landing: Path, tagging, periods=None) -> dict:
    ensure_tables(con)
    probes = probe_all(con, scan_billing(str(landing)), tagging, log=lambda m: None)
    wanted = periods or sorted({p for pr in probes for p in pr.periods})
    return {p: load_period(con, p, probes, tagging, log=lambda m: None) for p in wanted}


def assert_reconciles(con, period: str = P) -> None:
    for check in billing_checks(con, period):
        assert check.passed, (check.name, check.metadata)


def quarantine(con) -> list[tuple]:
    return con.execute("SELECT source_file, source_row, column_name, reason, raw_value, billed_cost "
                       "FROM raw.billing_quarantine ORDER BY source_file, source_row").fetchall()


def canonical(con) -> list[tuple]:
    return con.execute(f"SELECT {COMPARE} FROM raw.billing_line_items ORDER BY x_source_row").fetchall()


def recompress(path: Path, transform) -> None:
    """Apply `transform` to a CSV's bytes, inside its gzip when it has one."""
    data = path.read_bytes()
    if path.name.endswith(".gz"):
        path.write_bytes(gzip.compress(transform(gzip.decompress(data)), mtime=0))
    else:
        path.write_bytes(transform(data))


@pytest.fixture
def landing(tmp_path) -> Path:
    return tmp_path / "landing"


def clean_load(con, landing, tagging, fmt, rows=None) -> list[tuple]:
    """The clean file's canonical rows, in a warehouse of their own."""
    import duckdb

    other = landing.parent / "clean" / "landing"
    bc.write(other, fmt, rows or bc.clean_rows())
    c = duckdb.connect()
    c.execute("SET TimeZone = 'UTC'")
    try:
        ingest(c, other, tagging)
        return canonical(c)
    finally:
        c.close()


# --- the clean file ------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", bc.FORMATS)
def test_clean_file(con, landing, tagging, fmt):
    bc.write(landing, fmt, bc.clean_rows())
    load = ingest(con, landing, tagging)[P]
    assert (load.rows_loaded, load.rows_quarantined, load.billed_cost) == (3, 0, Decimal("11.5"))
    rows = canonical(con)
    assert [r[0] for r in rows] == [bc.ACCOUNT] * 3  # the leading zero is kept
    assert [r[9] for r in rows] == ["nlp", None, "nlp"]
    assert_reconciles(con)


# --- read like the clean file --------------------------------------------------------------------

@pytest.mark.parametrize("fmt", bc.CSV_FORMATS)
@pytest.mark.parametrize("variant", ["utf8_bom", "crlf", "bom_and_crlf"])
def test_bom_and_crlf_read_like_the_clean_file(con, landing, tagging, fmt, variant):
    expected = clean_load(con, landing, tagging, fmt)
    path = bc.write(landing, fmt, bc.clean_rows(), newline="\r\n" if "crlf" in variant else "\n")
    if "bom" in variant:
        recompress(path, lambda b: b"\xef\xbb\xbf" + b)
    ingest(con, landing, tagging)
    assert canonical(con) == expected
    assert quarantine(con) == []
    assert_reconciles(con)


@pytest.mark.parametrize("fmt", bc.FORMATS)
def test_quoted_newlines_and_commas_stay_inside_their_value(con, landing, tagging, fmt):
    rows = bc.clean_rows()
    rows[0]["desc"] = 'two\nlines, a "quote" and a comma'
    rows[1]["tags"] = {"user_team": "a\r\nb"}
    bc.write(landing, fmt, rows, newline="\r\n")
    ingest(con, landing, tagging)
    got = canonical(con)
    assert [r[11] for r in got] == [1, 2, 3]  # record numbers, not line numbers
    assert got[0][8] == 'two\nlines, a "quote" and a comma'
    assert got[1][9] == "a\r\nb"
    assert [r[4] for r in got] == [Decimal("10.5"), Decimal("2.25"), Decimal("-1.25")]
    assert_reconciles(con)


@pytest.mark.parametrize("fmt", bc.FORMATS)
def test_extra_unknown_columns_are_ignored(con, landing, tagging, fmt):
    expected = clean_load(con, landing, tagging, fmt)
    extra = {"x_UnknownExtension": ["a", "b", "c"], "'; drop table raw.billing_line_items; --": ["1", "2", "3"],
             "../../etc/passwd": ["p", "q", "r"], 'col "with" quotes': ["", "", ""],
             ("lineItem/NewColumn2027" if fmt == "cur_legacy" else "line_item_new_column_2027"): ["x", "y", "z"]}
    bc.write(landing, fmt, bc.clean_rows(), extra=extra)
    ingest(con, landing, tagging)
    assert canonical(con) == expected
    assert_reconciles(con)


# (as written, the UTC instant it means); every one of these loads
DATES = [
    ("2026-10-02T01:00:00Z", datetime(2026, 10, 2, 1)),
    ("2026-10-02T01:00:00.000Z", datetime(2026, 10, 2, 1)),
    ("2026-10-02 03:00:00+02:00", datetime(2026, 10, 2, 1)),
    ("2026-10-02T06:30:00+05:30", datetime(2026, 10, 2, 1)),
    ("2026-10-01T18:00:00-0700", datetime(2026, 10, 2, 1)),
    ("2026-10-02 01:00:00", datetime(2026, 10, 2, 1)),      # no zone: UTC
    ("2026/10/02 01:00:00", datetime(2026, 10, 2, 1)),
    ("10/02/2026 01:00:00", datetime(2026, 10, 2, 1)),      # US month/day/year, as Excel re-saves it
    ("20261002T010000Z", datetime(2026, 10, 2, 1)),
    ("2026-10-02", datetime(2026, 10, 2)),
]
# not dates this pipeline will guess: quarantined
NOT_DATES = ["1791000000", "Oct 2, 2026", "2026-13-45T00:00:00Z", "yesterday"]


@pytest.mark.parametrize("fmt", bc.FORMATS)
def test_dates_in_other_formats_and_zones(con, landing, tagging, fmt):
    """In parquet the same text sits in a string column; it is read like CSV text."""
    rows = [bc.row(i, "1.00", start=text, end=None) for i, (text, _) in enumerate(DATES, start=1)]
    rows += [bc.row(len(DATES) + i, "2.00", start=text, end=None) for i, text in enumerate(NOT_DATES, start=1)]
    path = bc.write(landing, fmt, rows)
    load = ingest(con, landing, tagging)[P]
    assert load.rows_loaded == len(DATES)
    got = con.execute("SELECT x_source_row, ChargePeriodStart FROM raw.billing_line_items ORDER BY 1").fetchall()
    assert got == [(i, utc) for i, (_, utc) in enumerate(DATES, start=1)]
    column = bc.start_column(fmt)
    assert quarantine(con) == [(str(path), len(DATES) + i, column, "missing or not a timestamp", text, Decimal("2"))
                               for i, text in enumerate(NOT_DATES, start=1)]
    assert_reconciles(con)


@pytest.mark.parametrize("fmt", bc.FORMATS)
def test_billing_period_start_with_an_offset_stays_in_its_month(con, landing, tagging, fmt):
    """`2026-10-01T00:00:00+02:00` is 22:00 on 30 September in UTC, but the bill is October's."""
    rows = [bc.row(1, "1.00", bp="2026-10-01T00:00:00+02:00"), bc.row(2, "1.00", bp="2026-10-01T00:00:00+14:00"),
            bc.row(3, "1.00", bp="2026-10-01T00:00:00-07:00"), bc.row(4, "1.00", bp="2026-10-01T00:00:00Z")]
    bc.write(landing, fmt, rows)
    loads = ingest(con, landing, tagging)
    assert list(loads) == [P] and loads[P].rows_loaded == 4
    assert con.execute("SELECT DISTINCT x_billing_period FROM raw.billing_line_items").fetchall() == [(P,)]
    assert_reconciles(con)


@pytest.mark.parametrize("fmt", bc.PARQUET_FORMATS)
def test_parquet_timestamps_with_a_zone_and_dates(con, landing, tagging, fmt):
    cols = bc.columns_of(fmt, bc.clean_rows())
    start = bc.start_column(fmt)
    # a column zoned Asia/Tokyo (10:00 local) holding 01:00 UTC; a DATE column is midnight UTC
    cols[start] = pa.array([datetime(2026, 10, 2, 1)] * 3, pa.timestamp("ms", tz="UTC")).cast(pa.timestamp("ms", tz="Asia/Tokyo"))
    end = {"cur2_parquet": "line_item_usage_end_date"}.get(fmt, "ChargePeriodEnd")
    cols[end] = pa.array([datetime(2026, 10, 3).date()] * 3, pa.date32())
    path = bc.data_path(landing, fmt)
    path.parent.mkdir(parents=True)
    path.write_bytes(bc.file_bytes(fmt, cols))
    ingest(con, landing, tagging)
    assert con.execute("SELECT DISTINCT ChargePeriodStart, ChargePeriodEnd FROM raw.billing_line_items").fetchall() == [
        (datetime(2026, 10, 2, 1), datetime(2026, 10, 3))]
    assert_reconciles(con)


# --- bad values: quarantined ---------------------------------------------------------------------

@pytest.mark.parametrize("fmt", bc.FORMATS)
def test_non_finite_and_oversized_costs_are_quarantined(con, landing, tagging, fmt):
    costs = ["NaN", "inf", "-Infinity", "1e308", "", "12.3456789012"]
    rows = [bc.row(i, c) for i, c in enumerate(costs, start=1)]
    path = bc.write(landing, fmt, rows)
    load = ingest(con, landing, tagging)[P]
    assert (load.rows_loaded, load.rows_quarantined) == (1, 5)
    assert load.billed_cost == Decimal("12.3456789012")
    column = bc.cost_column(fmt)
    not_finite = "not a finite decimal number that fits DECIMAL(38,10)"
    # parquet holds doubles (and says so: nan, inf, 1e+308); CSV the text as written
    raw = ["nan", "inf", "-inf", "1e+308"] if fmt in bc.PARQUET_FORMATS else costs[:4]
    assert quarantine(con) == [(str(path), i, column, not_finite, raw[i - 1], None) for i in range(1, 5)] + [
        (str(path), 5, column, "required cost is empty", None, None)]
    assert_reconciles(con)



@pytest.mark.parametrize("fmt", bc.PARQUET_FORMATS)
@pytest.mark.parametrize("bad", ["NaN", "inf", "-Infinity"])
def test_a_lone_non_finite_double_beside_good_ones_is_quarantined(con, landing, tagging, fmt, bad):
    # no NULL in the column: parquet statistics (which skip NaN) once let DuckDB prove the
    # decimal cast never fails and load the row with an empty cost
    path = bc.write(landing, fmt, [bc.row(1, bad), bc.row(2, "10.50")])
    load = ingest(con, landing, tagging)[P]
    assert (load.rows_loaded, load.rows_quarantined) == (1, 1)
    assert quarantine(con)[0][:4] == (str(path), 1, bc.cost_column(fmt), "not a finite decimal number that fits DECIMAL(38,10)")
    assert con.execute("SELECT COUNT(*) FROM raw.billing_line_items WHERE BilledCost IS NULL").fetchone()[0] == 0
    assert_reconciles(con)

@pytest.mark.parametrize("fmt", bc.FORMATS)
def test_text_in_a_cost_column_is_quarantined(con, landing, tagging, fmt):
    """In parquet the cost column is then a string column, as a tool exporting text writes it."""
    costs = ["10.50", "abc", "1,234.50", "$5", " 2.25 "]
    path = bc.write(landing, fmt, [bc.row(i, c) for i, c in enumerate(costs, start=1)])
    load = ingest(con, landing, tagging)[P]
    assert load.billed_cost == Decimal("12.75") and load.rows_loaded == 2
    reason = "not a finite decimal number that fits DECIMAL(38,10)"
    assert quarantine(con) == [(str(path), i, bc.cost_column(fmt), reason, costs[i - 1], None) for i in (2, 3, 4)]
    assert_reconciles(con)


@pytest.mark.parametrize("fmt", bc.FORMATS)
def test_negative_usage_credits_and_refunds_load_as_negative(con, landing, tagging, fmt):
    rows = [bc.row(1, "-5.00", usage="-3", lit="Refund"), bc.row(2, "-0.01", lit="Credit", usage="0"),
            bc.row(3, "7.00", usage="-1")]
    bc.write(landing, fmt, rows)
    load = ingest(con, landing, tagging)[P]
    assert (load.rows_loaded, load.billed_cost) == (3, Decimal("1.99"))
    got = con.execute("SELECT BilledCost, PricingQuantity, ConsumedQuantity FROM raw.billing_line_items "
                      "ORDER BY x_source_row").fetchall()
    assert [r[0] for r in got] == [Decimal("-5"), Decimal("-0.01"), Decimal("7")]
    assert -3.0 in {r[1] for r in got} | {r[2] for r in got}
    assert_reconciles(con)


@pytest.mark.parametrize("fmt", bc.FORMATS)
def test_empty_account_and_end_before_start_are_quarantined(con, landing, tagging, fmt):
    rows = [bc.row(1, "1.00", account=""), bc.row(2, "2.00", end=datetime(2026, 10, 1)), bc.row(3, "3.00")]
    path = bc.write(landing, fmt, rows)
    load = ingest(con, landing, tagging)[P]
    assert load.rows_loaded == 1
    end = {"cur2_parquet": "line_item_usage_end_date", "cur2_csv": "line_item_usage_end_date",
           "cur_legacy": "lineItem/UsageEndDate"}.get(fmt, "ChargePeriodEnd")
    q = quarantine(con)
    assert [(r[0], r[1], r[2], r[3], r[5]) for r in q] == [
        (str(path), 1, bc.account_column(fmt), "billing account is empty", Decimal("1")),
        (str(path), 2, end, "charge period ends before it starts", Decimal("2"))]
    assert_reconciles(con)


@pytest.mark.parametrize("fmt", bc.CSV_FORMATS)
@pytest.mark.parametrize("damage", ["too_few_fields", "too_many_fields"])
def test_csv_rows_that_do_not_split_are_quarantined_by_record_number(con, landing, tagging, fmt, damage):
    rows = bc.clean_rows()
    rows[0]["desc"] = "a quoted\nnewline before the bad record"
    path = bc.write(landing, fmt, rows)

    def damage_row_2(data: bytes) -> bytes:
        text = data.decode()
        head, first, second, third = text.split("\n", 1)[0], *text.split("\n", 1)[1].rsplit("\n", 3)[:3]
        second = second.split(",")[0] + ",x" if damage == "too_few_fields" else second + ",extra,fields"
        return "\n".join([head, first, second, third, ""]).encode()

    recompress(path, damage_row_2)
    load = ingest(con, landing, tagging)[P]
    assert load.rows_loaded == 2
    q = quarantine(con)
    assert len(q) == 1 and q[0][:2] == (str(path), 2)
    assert q[0][3].startswith("CSV row cannot be parsed: " + ("MISSING COLUMNS" if damage == "too_few_fields" else "TOO MANY COLUMNS"))
    assert_reconciles(con)


# --- bad files: the period fails, naming file and column ---------------------------------------

def _damage(path: Path, damage: str, fmt: str) -> Path:
    data = path.read_bytes()
    if damage == "truncated_gzip":
        if not path.name.endswith(".gz"):
            path.unlink()
            path = path.with_name(path.name + ".gz")
            data = gzip.compress(data, mtime=0)
        path.write_bytes(data[: len(data) // 2])
    elif damage == "truncated_parquet":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "parquet_garbage":
        path.write_bytes(b"PAR1" + bytes(range(256)) * 4 + b"PAR1")
    elif damage == "empty":
        path.write_bytes(b"")
    elif damage == "utf16":
        recompress(path, lambda b: b.decode().encode("utf-16"))
    elif damage == "unterminated_quote":
        recompress(path, lambda b: b.rstrip(b"\n") + b',"never closed\n')
    return path


# damage -> (formats it applies to, what the message says besides the file)
FILE_DAMAGE = {
    "truncated_gzip": (bc.CSV_FORMATS, "gzip"),
    "truncated_parquet": (bc.PARQUET_FORMATS, "not a readable parquet file"),
    "parquet_garbage": (bc.PARQUET_FORMATS, "not a readable parquet file"),
    "empty": (bc.FORMATS, "the file is empty"),
    "utf16": (bc.CSV_FORMATS, "the file is UTF-16 encoded; export it again as UTF-8 CSV"),
    "unterminated_quote": (bc.CSV_FORMATS, "the CSV cannot be split into rows (an unclosed quote, another "
                                           "delimiter or encoding); re-deliver the file"),
}
CASES = [(fmt, d) for d, (fmts, _) in FILE_DAMAGE.items() for fmt in fmts]


def _fails(con, landing, tagging, period=P) -> str:
    with pytest.raises(PeriodFailed) as exc:
        ingest(con, landing, tagging, periods=[period])
    message = str(exc.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize("fmt,damage", CASES)
def test_unreadable_file_fails_only_its_period_and_keeps_the_old_data(con, landing, tagging, fmt, damage):
    bc.write(landing, fmt, bc.clean_rows("2026-09"), period="2026-09")
    path = bc.write(landing, fmt, bc.clean_rows())
    ingest(con, landing, tagging)  # both periods load while the files are good
    path = _damage(path, damage, fmt)
    probes = probe_all(con, scan_billing(str(landing)), tagging, log=lambda m: None)
    # the broken file's period is still discovered (from its path), so its partition fails visibly
    assert sorted({p for pr in probes for p in pr.periods}) == ["2026-09", P]
    assert ingest(con, landing, tagging, periods=["2026-09"])["2026-09"].rows_loaded == 3
    message = _fails(con, landing, tagging)
    assert message.startswith(f"billing period {P} keeps its previous data because 1 file(s) cannot be read: {path}")
    assert FILE_DAMAGE[damage][1].lower() in message.lower()
    assert con.execute("SELECT x_billing_period, SUM(BilledCost) FROM raw.billing_line_items GROUP BY 1 ORDER BY 1"
                       ).fetchall() == [("2026-09", Decimal("11.5")), (P, Decimal("11.5"))]
    assert_reconciles(con, "2026-09")
    assert_reconciles(con, P)


@pytest.mark.parametrize("fmt", bc.FORMATS)
@pytest.mark.parametrize("which", ["cost", "start", "account"])
def test_missing_required_column_fails_the_file_naming_the_column(con, landing, tagging, fmt, which):
    bc.write(landing, fmt, bc.clean_rows("2026-09"), period="2026-09")
    column = {"cost": bc.cost_column, "start": bc.start_column, "account": bc.account_column}[which](fmt)
    cols = bc.columns_of(fmt, bc.clean_rows())
    del cols[column]
    path = bc.data_path(landing, fmt)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bc.file_bytes(fmt, cols))
    assert ingest(con, landing, tagging, periods=["2026-09"])["2026-09"].rows_loaded == 3
    message = _fails(con, landing, tagging)
    assert f"{path}, column {column!r}: " in message
    assert "file without its cost column" in message or "file without a required column" in message


WRONG_TYPES = {
    "boolean cost": ("cost", pa.array([True, False, True]), "stored as bool values, which cannot hold a cost"),
    "epoch integers as timestamps": ("start", pa.array([1791000000] * 3, pa.int64()),
                                     "stored as integer values, which cannot hold a timestamp"),
    "account ids as integers": ("account", pa.array([12345678901] * 3, pa.int64()),
                                "account ids are stored as integer values, which lose leading zeros; export the file "
                                "again with ids as text"),
}


@pytest.mark.parametrize("fmt", bc.PARQUET_FORMATS)
@pytest.mark.parametrize("case", sorted(WRONG_TYPES))
def test_parquet_key_column_of_the_wrong_type_fails_the_file(con, landing, tagging, fmt, case):
    which, array, expected = WRONG_TYPES[case]
    column = {"cost": bc.cost_column, "start": bc.start_column, "account": bc.account_column}[which](fmt)
    cols = bc.columns_of(fmt, bc.clean_rows())
    cols[column] = array
    path = bc.data_path(landing, fmt)
    path.parent.mkdir(parents=True)
    path.write_bytes(bc.file_bytes(fmt, cols))
    message = _fails(con, landing, tagging)
    assert f"{path}, column {column!r}: " in message and expected in message


@pytest.mark.parametrize("fmt", bc.PARQUET_FORMATS)
def test_parquet_numbers_of_other_widths_load(con, landing, tagging, fmt):
    """Integer and decimal cost columns are numbers too: loaded exactly."""
    cols = bc.columns_of(fmt, bc.clean_rows())
    cols[bc.cost_column(fmt)] = pa.array([Decimal("10.50"), Decimal("2.25"), Decimal("-1.25")], pa.decimal128(12, 4))
    path = bc.data_path(landing, fmt)
    path.parent.mkdir(parents=True)
    path.write_bytes(bc.file_bytes(fmt, cols))
    assert ingest(con, landing, tagging)[P].billed_cost == Decimal("11.5")
    assert_reconciles(con)


@pytest.mark.parametrize("fmt", [f for f in bc.FORMATS if f != "cur_legacy"])  # legacy: a plain column per tag
def test_tags_that_are_not_an_object_are_quarantined(con, landing, tagging, fmt):
    column = bc.tags_column(fmt)
    cols = bc.columns_of(fmt, bc.clean_rows())
    cols[column] = ['{"user_team": "nlp"}', "not json", '["a", "b"]']
    path = bc.data_path(landing, fmt)
    path.parent.mkdir(parents=True)
    path.write_bytes(bc.file_bytes(fmt, cols))
    load = ingest(con, landing, tagging)[P]
    assert load.rows_loaded == 1
    reason = "not a JSON object of tag keys and values"
    assert [r[:5] for r in quarantine(con)] == [(str(path), 2, column, reason, "not json"),
                                                (str(path), 3, column, reason, '["a", "b"]')]
    assert_reconciles(con)


@pytest.mark.parametrize("fmt", bc.PARQUET_FORMATS)
def test_parquet_tags_as_a_map_or_a_struct_load(con, landing, tagging, fmt):
    """AWS Data Exports write FOCUS `Tags` and CUR 2.0 `resource_tags` as MAP columns in parquet."""
    column = bc.tags_column(fmt)
    for kind, array in (("map", pa.array([[("user_team", "nlp")], [], None], pa.map_(pa.string(), pa.string()))),
                        ("struct", pa.array([{"user_team": "nlp"}, {"user_team": None}, None]))):
        cols = bc.columns_of(fmt, bc.clean_rows())
        cols[column] = array
        path = bc.data_path(landing / kind, fmt)
        path.parent.mkdir(parents=True)
        path.write_bytes(bc.file_bytes(fmt, cols))
        con.execute("DROP TABLE IF EXISTS raw.billing_line_items")
        con.execute("DROP TABLE IF EXISTS raw.billing_quarantine")
        con.execute("DROP TABLE IF EXISTS raw.billing_files")
        con.execute("DROP TABLE IF EXISTS raw.billing_file_probes")
        assert ingest(con, landing / kind, tagging)[P].rows_loaded == 3, kind
        assert [r[0] for r in con.execute("SELECT team FROM raw.billing_line_items ORDER BY x_source_row").fetchall()] == [
            "nlp", None, None], kind
        assert_reconciles(con)


@pytest.mark.parametrize("fmt", bc.FORMATS)
def test_header_only_file_loads_nothing_and_fails_nothing(con, landing, tagging, fmt):
    bc.write(landing, fmt, bc.clean_rows("2026-09"), period="2026-09")
    bc.write(landing, fmt, [])
    loads = ingest(con, landing, tagging)
    assert list(loads) == ["2026-09"] and loads["2026-09"].rows_loaded == 3
    assert_reconciles(con, "2026-09")


# --- duplicates ------------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", bc.FORMATS)
@pytest.mark.parametrize("how", ["copy_in_same_folder", "copy_in_other_folder", "copy_as_next_part"])
def test_a_file_copied_under_another_name_is_not_counted_twice(con, landing, tagging, fmt, how):
    path = bc.write(landing, fmt, bc.clean_rows())
    if how == "copy_in_same_folder":
        copy = path.with_name("copy of " + path.name)
    elif how == "copy_in_other_folder":
        copy = path.parent.parent / "backup" / path.name
    else:  # the next part number of the same delivery: acme-00002, rep-2, focus-2026-10-2
        copy = path.with_name(path.name.replace("00001", "00002").replace("rep-1", "rep-2")
                              .replace(f"{P}.", f"{P}-2."))
    copy.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, copy)
    later = time.time() + 60
    os.utime(copy, (later, later))
    load = ingest(con, landing, tagging)[P]
    assert (load.rows_loaded, load.billed_cost) == (3, Decimal("11.5"))
    files = dict(con.execute("SELECT source_file, status FROM raw.billing_files").fetchall())
    assert sorted(files.values()) in (["loaded", "superseded"], ["duplicate", "loaded"])
    if files[str(copy)] == "duplicate" or files[str(path)] == "duplicate":
        assert con.execute("SELECT message FROM raw.billing_files WHERE status = 'duplicate'").fetchone()[0].startswith(
            "the same bytes as ")
    assert_reconciles(con)


# --- hostile and huge strings ------------------------------------------------------------------------

HOSTILE_TAGS = {
    "user_team": "'; drop table raw.billing_line_items; --",
    "'; drop table x; --": "../../etc/passwd",
    "../../etc": "$(rm -rf /) `id`",
    "user_project": 'a"b\'c\\d',
    "user_env": "{{ var('x') }} {% raw %}",
    'k"]': "v')",
}


def _tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


@pytest.mark.parametrize("fmt", bc.FORMATS)
def test_hostile_strings_stay_inert_data(con, landing, tagging, fmt, tmp_path):
    rows = bc.clean_rows()
    rows[0]["tags"] = HOSTILE_TAGS
    rows[1]["rid"] = "'; drop table x; --"
    rows[1]["desc"] = "../../etc/passwd"
    rows[2]["account"] = "0123'; drop table raw.billing_quarantine; --"
    path = bc.write(landing, fmt, rows)
    before = _tree(tmp_path)
    load = ingest(con, landing, tagging)[P]
    assert _tree(tmp_path) == before  # nothing written anywhere, not even beside the landing
    assert not Path("/etc/passwd").with_name("'; drop table x; --").exists()
    assert (load.rows_loaded, load.rows_quarantined) == (3, 0)
    assert {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'raw'").fetchall()} >= {
        "billing_line_items", "billing_quarantine", "billing_files"}
    got = con.execute("SELECT team, project, env, Tags, ResourceId, ChargeDescription, BillingAccountId "
                      "FROM raw.billing_line_items ORDER BY x_source_row").fetchall()
    assert got[0][:3] == (HOSTILE_TAGS["user_team"], HOSTILE_TAGS["user_project"], HOSTILE_TAGS["user_env"])
    tags = json.loads(got[0][3])
    if fmt == "cur_legacy":  # one `resourceTags/user:<key>` column per key, the key written without `user_`
        assert tags == {"user:" + (k[len("user_"):] if k.startswith("user_") else k): v for k, v in HOSTILE_TAGS.items()}
    else:
        assert tags == HOSTILE_TAGS
    assert got[1][4:6] == ("'; drop table x; --", "../../etc/passwd")
    assert got[2][6] == "0123'; drop table raw.billing_quarantine; --"
    assert str(path) in {r[0] for r in con.execute("SELECT source_file FROM raw.billing_files").fetchall()}
    assert_reconciles(con)


@pytest.mark.parametrize("fmt", bc.FORMATS)
def test_a_one_megabyte_tag_value_is_loaded_verbatim(con, landing, tagging, fmt):
    big = "x" * (1 << 20)
    long_key = "user_" + "k" * 10_000
    rows = bc.clean_rows()
    rows[0]["tags"] = {"user_team": big, long_key: "v"}
    bc.write(landing, fmt, rows)
    load = ingest(con, landing, tagging)[P]
    assert (load.rows_loaded, load.rows_quarantined, load.billed_cost) == (3, 0, Decimal("11.5"))
    team, tags = con.execute("SELECT team, Tags FROM raw.billing_line_items WHERE x_source_row = 1").fetchone()
    assert team == big
    assert len(json.loads(tags)) == 2 and big in json.loads(tags).values()
    assert_reconciles(con)


@pytest.mark.parametrize("fmt", bc.FORMATS)
def test_nul_bytes(con, landing, tagging, fmt):
    """NUL in values and map keys is data; NUL in a column name (legacy CUR's tag columns) fails the file."""
    rows = bc.clean_rows()
    rows[0]["tags"] = {"user_team": "a\x00b", "te\x00am": "v"}
    rows[1]["rid"] = "i-\x00"
    path = bc.write(landing, fmt, rows)
    if fmt == "cur_legacy":
        message = _fails(con, landing, tagging)
        assert f"{path}, column 'resourceTags/user:te\\x00am': a column name contains a NUL byte" in message
        return
    assert ingest(con, landing, tagging)[P].rows_loaded == 3
    assert con.execute("SELECT team FROM raw.billing_line_items WHERE x_source_row = 1").fetchone()[0] == "a\x00b"
    assert con.execute("SELECT ResourceId FROM raw.billing_line_items WHERE x_source_row = 2").fetchone()[0] == "i-\x00"
    assert_reconciles(con)
