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
    with tempfile.TemporaryDirectory(prefix="finops-export-") as tmp:
        for fmt in formats:
            local = Path(tmp) / f"{name}.{fmt}"
            options = "FORMAT parquet, COMPRESSION zstd" if fmt == "parquet" else "FORMAT csv, HEADER true"
            con.execute(f"COPY ({query}) TO {literal(str(local))} ({options})")
            written.append(_publish(local, dest, f"{name}.{fmt}"))
    return {"rows": rows, "paths": written}


def _publish(local: Path, dest: str, filename: str) -> str:
    if is_s3(dest):
        bucket, prefix = split_s3(dest.rstrip("/") + "/" + filename)
        s3_client().upload_file(str(local), bucket, prefix)
        return f"s3://{bucket}/{prefix}"
    target = Path(dest) / filename
    target.parent.mkdir(parents=True, exist_ok=True)
    staged = target.with_name(f".{filename}.tmp-{os.getpid()}")
    with open(local, "rb") as src, open(staged, "wb") as dst:
        while chunk := src.read(1 << 20):
            dst.write(chunk)
        dst.flush()
        os.fsync(dst.fileno())
    os.replace(staged, target)
    return str(target)
