"""Reader for Amazon S3 Inventory reports (CONTRACTS.md, "Storage").

S3 Inventory writes CSV (gzip) files WITHOUT a header; the column order is the `fileSchema` of the
inventory's manifest.json (`Bucket, Key, Size, LastModifiedDate, StorageClass, ...`), and keys are
URL-encoded. Parquet inventories carry named columns (`bucket`, `key`, `size`,
`last_modified_date`, `storage_class`). Files with a header row (as in CONTRACTS.md) are read by
name. `last_access_date` is optional (from access logs).
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from pathlib import Path
from urllib.parse import unquote_plus

import pyarrow as pa

from .errors import BadFileError
from .records import RecordSink, csv_file, parse_time

INVENTORY_SCHEMA = pa.schema([
    ("bucket", pa.string()), ("key", pa.string()), ("size_bytes", pa.int64()),
    ("last_modified_at", pa.timestamp("s")), ("storage_class", pa.string()), ("last_access_at", pa.timestamp("s")),
    ("source_file", pa.string()), ("source_row", pa.int64()),
])
DEFAULT_FILE_SCHEMA = ["Bucket", "Key", "Size", "LastModifiedDate", "StorageClass"]
_HEADER_NAMES = {"bucket", "key", "size", "lastmodifieddate", "storageclass", "lastaccessdate", "versionid", "etag",
                 "islatest", "isdeletemarker"}


def _norm(name: str) -> str:
    return name.strip().lower().replace("_", "").replace(" ", "")


def manifest_file_schema(data_file: Path) -> list[str] | None:
    """fileSchema of the S3 Inventory manifest.json that lists `data_file`.

    S3 writes `<config>/data/<uuid>.csv.gz` and `<config>/<YYYY-MM-DDTHH-MMZ>/manifest.json`, so
    the manifest is in a dated sibling of `data/`; a manifest beside the file (or up to three
    folders up) is accepted too. The newest manifest that names the file wins."""
    folder = data_file.parent
    candidates = [d / "manifest.json" for d in [folder, *list(folder.parents)[:3]]]
    candidates += sorted(folder.parent.glob("*/manifest.json"), reverse=True)
    for m in candidates:
        if not m.exists():
            continue
        try:
            doc = json.loads(m.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        keys = [f.get("key", "") for f in doc.get("files") or [] if isinstance(f, dict)]
        if keys and not any(k.rsplit("/", 1)[-1] == data_file.name for k in keys):
            continue  # a manifest of another delivery
        schema = doc.get("fileSchema")
        if isinstance(schema, str):
            return [c.strip() for c in schema.split(",")]
    return None


@csv_file
def read_s3_inventory(path: str, name: str | None = None) -> tuple[pa.Table, pa.Table]:
    name = name or path
    p = Path(path)
    raw = p.read_bytes()
    if raw[:4] == b"PAR1":
        import pyarrow.parquet as pq

        try:
            records = pq.read_table(p).to_pylist()
        except Exception as exc:
            raise BadFileError(name, f"not a readable parquet inventory ({exc})") from None
        columns = list(records[0]) if records else []
        rows = [[r.get(c) for c in columns] for r in records]
        encoded = False
    else:
        try:
            text = (gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw).decode("utf-8-sig")
        except (OSError, EOFError, UnicodeDecodeError) as exc:
            raise BadFileError(name, f"cannot read the inventory CSV ({exc})") from None
        rows = list(csv.reader(io.StringIO(text)))
        # a header row names columns (two or more of the inventory's own); a data row starts with a bucket
        if rows and len(_HEADER_NAMES & {_norm(c) for c in rows[0]}) >= 2:
            columns, rows = rows[0], rows[1:]
            encoded = False
        else:
            columns = manifest_file_schema(p) or DEFAULT_FILE_SCHEMA
            encoded = True  # S3 Inventory URL-encodes keys in CSV
    index = {_norm(c): i for i, c in enumerate(columns)}
    for required in ("bucket", "key", "size", "lastmodifieddate"):
        if required not in index:
            raise BadFileError(name, "S3 Inventory without a required column", required)
    sink = RecordSink(INVENTORY_SCHEMA, name)
    get = lambda r, k: r[index[k]] if k in index and index[k] < len(r) else None  # noqa: E731
    for row_no, r in enumerate(rows, start=1):
        if len(r) < len(columns):
            sink.reject(row_no, "(row)", f"expected {len(columns)} values, found {len(r)}", ",".join(map(str, r)))
            continue
        try:
            size = int(float(get(r, "size")))
            if not 0 <= size < 2 ** 63:
                raise ValueError
        except (TypeError, ValueError, OverflowError):
            sink.reject(row_no, "size", "object size is not a whole number of bytes >= 0", get(r, "size"))
            continue
        try:
            modified = get(r, "lastmodifieddate")
            modified = modified if hasattr(modified, "year") else parse_time(modified)
            accessed = get(r, "lastaccessdate")
            accessed = accessed if accessed is None or hasattr(accessed, "year") else parse_time(accessed)
        except (TypeError, ValueError, OverflowError):
            sink.reject(row_no, "last_modified_date", "not a timestamp", get(r, "lastmodifieddate"))
            continue
        key = get(r, "key")
        sink.add(row_no, {
            "bucket": get(r, "bucket"), "key": unquote_plus(key) if encoded and key else key, "size_bytes": size,
            "last_modified_at": modified.replace(tzinfo=None) if modified else None,
            "storage_class": get(r, "storageclass") or "STANDARD",
            "last_access_at": accessed.replace(tzinfo=None) if accessed else None,
        })
    return sink.tables()
