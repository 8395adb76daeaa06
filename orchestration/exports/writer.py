"""Write warehouse tables as parquet and CSV for BI tools, atomically, locally or to S3.

Locally a file is written beside its target and renamed over it, so a reader sees the old file
or the new one, never half of one. On S3 the complete object is uploaded in one PUT (multipart
uploads also become visible only when complete): a failed or interrupted upload leaves the previous
object, and S3 errors stop the export with one sentence saying what to fix."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from ..config import is_s3
from ..ingest.landing import s3_client, s3_error, split_s3, transfer_config
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
                _upload(lambda: s3_client().upload_file(str(local), bucket, key, Config=transfer_config()), dest.rstrip("/"))
                written.append(f"s3://{bucket}/{key}")
            continue
        # written beside its target and renamed over it: same filesystem, so the rename is atomic
        target = Path(dest) / filename
        target.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale_staged(target)
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
        _upload(lambda: s3_client().put_object(Bucket=bucket, Key=key, Body=data), dest.rstrip("/"))
        return f"s3://{bucket}/{key}"
    target = Path(dest) / filename
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_staged(target)
    staged = target.with_name(f".{filename}.tmp-{os.getpid()}")
    try:
        staged.write_bytes(data)
        os.replace(staged, target)
    finally:
        staged.unlink(missing_ok=True)
    return str(target)


def _upload(put, uri: str) -> None:
    """One upload (retried by boto3 where retrying helps), its failure as one sentence naming
    `uri`, the FINOPS_EXPORTS location."""
    from boto3.exceptions import S3UploadFailedError
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        put()
    except S3UploadFailedError as exc:  # boto3's transfer wraps the ClientError it got
        cause = exc.__cause__ or exc.__context__
        raise s3_error(cause if isinstance(cause, ClientError) else exc, uri, "FINOPS_EXPORTS", "s3:PutObject") from None
    except (BotoCoreError, ClientError) as exc:
        raise s3_error(exc, uri, "FINOPS_EXPORTS", "s3:PutObject") from None


def _remove_stale_staged(target: Path) -> None:
    """A staged file whose writer was killed (SIGKILL, power loss) before its rename: removed by
    the next export of the same file, unless the process that wrote it is still running."""
    for staged in target.parent.glob(f".{target.name}.tmp-*"):
        pid = staged.name.rsplit("-", 1)[-1]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            staged.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True
