"""Write warehouse tables as parquet and CSV for BI tools, atomically, locally or to S3.

Locally a file is written beside its target and renamed over it, so a reader sees the old file
or the new one, never half of one. On S3 the complete object is uploaded in one PUT (multipart
uploads also become visible only when complete)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from ..config import is_s3
from ..ingest.landing import s3_client, split_s3
from ..ingest.sqlutil import literal


def export_table(con, query: str, name: str, dest: str, formats=("parquet", "csv")) -> dict:
    """Export the result of `query` as `<dest>/<name>.parquet` and `.csv`; returns paths and rows."""
    rows = con.execute(f"SELECT COUNT(*) FROM ({query})").fetchone()[0]
    written = []
    for fmt in formats:
        filename = f"{name}.{fmt}"
        options = "FORMAT parquet, COMPRESSION zstd" if fmt == "parquet" else "FORMAT csv, HEADER true"
        if is_s3(dest):
            with tempfile.TemporaryDirectory(prefix="finops-export-") as tmp:
                local = Path(tmp) / filename
                con.execute(f"COPY ({query}) TO {literal(str(local))} ({options})")
                bucket, key = split_s3(dest.rstrip("/") + "/" + filename)
                s3_client().upload_file(str(local), bucket, key)
                written.append(f"s3://{bucket}/{key}")
            continue
        # written beside its target and renamed over it: same filesystem, so the rename is atomic
        target = Path(dest) / filename
        target.parent.mkdir(parents=True, exist_ok=True)
        staged = target.with_name(f".{filename}.tmp-{os.getpid()}")
        try:
            con.execute(f"COPY ({query}) TO {literal(str(staged))} ({options})")
            os.replace(staged, target)
        finally:
            staged.unlink(missing_ok=True)
        written.append(str(target))
    return {"rows": rows, "paths": written}


def export_file(data: bytes, filename: str, dest: str) -> str:
    """One file (a plot) into `dest`, atomically as the tables are; returns where it went."""
    if is_s3(dest):
        bucket, key = split_s3(dest.rstrip("/") + "/" + filename)
        s3_client().put_object(Bucket=bucket, Key=key, Body=data)
        return f"s3://{bucket}/{key}"
    target = Path(dest) / filename
    target.parent.mkdir(parents=True, exist_ok=True)
    staged = target.with_name(f".{filename}.tmp-{os.getpid()}")
    try:
        staged.write_bytes(data)
        os.replace(staged, target)
    finally:
        staged.unlink(missing_ok=True)
    return str(target)
