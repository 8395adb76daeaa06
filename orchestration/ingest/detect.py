"""Tell a billing export's format from its header, the way a person would: by its columns."""

from __future__ import annotations

import csv
import gzip
import io
import zlib
from dataclasses import dataclass

from .errors import BadFileError

CUR2 = "cur2"
CUR_LEGACY = "cur_legacy"
FOCUS = "focus"
FOCUS_CONTRACT_COMMITMENT = "focus_contract_commitment"


@dataclass(frozen=True)
class FileHeader:
    columns: tuple[str, ...]
    container: str          # "parquet" or "csv"
    gzipped: bool = False
    kinds: tuple[str, ...] = ()  # parquet: per column "integer", "number", "text", "time", "null" or the type


def _kind(t) -> str:
    import pyarrow as pa

    if pa.types.is_dictionary(t):
        t = t.value_type
    if pa.types.is_integer(t):
        return "integer"
    if pa.types.is_floating(t) or pa.types.is_decimal(t):
        return "number"
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return "text"
    if pa.types.is_timestamp(t) or pa.types.is_date(t):
        return "time"
    if pa.types.is_null(t):
        return "null"
    return str(t)


def _is_gzip(head: bytes) -> bool:
    return head[:2] == b"\x1f\x8b"


def _is_parquet(head: bytes) -> bool:
    return head[:4] == b"PAR1"


def read_header(path: str, name: str) -> FileHeader:
    """Column names of a parquet or (gzipped) CSV file. `name` is what errors call the file."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(4)
    except OSError as exc:
        raise BadFileError(name, f"cannot open: {exc.strerror}") from None
    if not head:
        raise BadFileError(name, "the file is empty")
    if _is_parquet(head):
        import pyarrow.parquet as pq

        try:
            schema = pq.read_schema(path)
        except Exception as exc:  # pyarrow raises several types for a broken footer
            raise BadFileError(name, f"not a readable parquet file ({exc})") from None
        return FileHeader(tuple(schema.names), "parquet", kinds=tuple(_kind(f.type) for f in schema))
    gzipped = _is_gzip(head)
    try:
        raw = gzip.open(path, "rb") if gzipped else open(path, "rb")
        with raw:
            first = raw.readline(1 << 24)
    except (OSError, EOFError, zlib.error) as exc:
        raise BadFileError(name, f"cannot decompress (a truncated or damaged gzip file: {exc})") from None
    if first.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise BadFileError(name, "the file is UTF-16 encoded", fix="export it again as UTF-8 CSV")
    text = first.decode("utf-8-sig", errors="replace").rstrip("\r\n")
    if not text.strip():
        raise BadFileError(name, "the first line is empty: no CSV header")
    columns = next(csv.reader(io.StringIO(text)))
    return FileHeader(tuple(c.strip() for c in columns), "csv", gzipped)


def detect_billing_format(columns: tuple[str, ...], name: str) -> str:
    cols = set(columns)
    if any(c.startswith(("lineItem/", "identity/", "bill/")) for c in cols):
        if "lineItem/UnblendedCost" not in cols:
            raise BadFileError(name, "legacy CUR file without its cost column", "lineItem/UnblendedCost")
        return CUR_LEGACY
    if "line_item_unblended_cost" in cols or "line_item_line_item_type" in cols:
        if "line_item_unblended_cost" not in cols:
            raise BadFileError(name, "CUR 2.0 file without its cost column", "line_item_unblended_cost")
        return CUR2
    if "ContractCommitmentId" in cols:
        return FOCUS_CONTRACT_COMMITMENT
    if "BilledCost" in cols or "ChargePeriodStart" in cols:
        for required in ("BilledCost", "ChargePeriodStart", "BillingAccountId"):
            if required not in cols:
                raise BadFileError(name, "FOCUS file without a required column", required)
        return FOCUS
    raise BadFileError(
        name,
        "not a billing export this pipeline knows: expected CUR 2.0 (line_item_unblended_cost), "
        "legacy CUR (lineItem/UnblendedCost) or FOCUS (BilledCost) columns",
        fix="move it out of billing/, or export it again in one of these formats",
    )


# Per format: the columns without which no row can be placed (cost, charge time, billing account).
REQUIRED_COLUMNS = {
    CUR2: ("line_item_unblended_cost", "line_item_usage_start_date", "bill_payer_account_id"),
    CUR_LEGACY: ("lineItem/UnblendedCost", "lineItem/UsageStartDate", "bill/PayerAccountId"),
    FOCUS: ("BilledCost", "ChargePeriodStart", "BillingAccountId"),
}
_LABEL = {CUR2: "CUR 2.0", CUR_LEGACY: "legacy CUR", FOCUS: "FOCUS"}
# Typed (parquet) columns and the kinds of values they may hold; text is parsed row by row.
_COST = ("number", "integer", "text", "null")
_TIME = ("time", "text", "null")
_ID = ("text", "null")
_TYPED = {
    "line_item_unblended_cost": _COST, "BilledCost": _COST, "EffectiveCost": _COST,
    "line_item_usage_start_date": _TIME, "line_item_usage_end_date": _TIME, "bill_billing_period_start_date": _TIME,
    "ChargePeriodStart": _TIME, "ChargePeriodEnd": _TIME, "BillingPeriodStart": _TIME,
    "bill_payer_account_id": _ID, "BillingAccountId": _ID,
}


def check_columns(fmt: str, header: FileHeader, name: str) -> None:
    """A file the reader cannot place any row of fails as a whole, naming the column: a required
    column missing, or (parquet) a key column stored as a type its values cannot be read from
    (a boolean cost, an integer timestamp, account ids as numbers that lost their leading zeros)."""
    for column in header.columns:
        if "\x00" in column:
            raise BadFileError(name, "a column name contains a NUL byte", column)
    for column in REQUIRED_COLUMNS.get(fmt, ()):
        if column not in header.columns:
            raise BadFileError(name, f"{_LABEL[fmt]} file without a required column", column)
    for column, kind in zip(header.columns, header.kinds):
        allowed = _TYPED.get(column)
        if allowed is None or kind in allowed:
            continue
        if allowed is _ID:
            raise BadFileError(name, f"account ids are stored as {kind} values, which lose leading zeros", column,
                               fix="export the file again with ids as text")
        what = "a cost" if allowed is _COST else "a timestamp"
        raise BadFileError(name, f"the column is stored as {kind} values, which cannot hold {what}", column)


def focus_version(columns: tuple[str, ...]) -> str:
    """The FOCUS version a header belongs to, from the columns each version introduced."""
    cols = set(columns)
    if {"ServiceProviderName", "HostProviderName"} & cols or "AllocatedMethodId" in cols:
        return "1.3"
    if {"InvoiceId", "PricingCurrency"} & cols:
        return "1.2"
    if {"CapacityReservationId", "CommitmentDiscountQuantity", "SkuMeter"} & cols:
        return "1.1"
    return "1.0"
