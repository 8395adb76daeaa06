"""List and fetch landing files, from a local folder or an `s3://bucket/prefix` (boto3).

DuckDB reads local files only here (its S3 extension would be downloaded at run time, which
an air-gapped install cannot do), so S3 objects are copied to a local cache first, keyed by
their ETag so an unchanged object is fetched once.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from ..config import is_s3
from .errors import LandingError

DATA_SUFFIXES = (".parquet", ".csv", ".csv.gz", ".gz", ".json", ".jsonl")


@dataclass(frozen=True)
class LandingFile:
    uri: str           # absolute local path or s3://bucket/key
    size: int
    modified: datetime  # UTC, second precision: the delivery time of the file
    etag: str          # S3 ETag, or "size-mtime" locally

    @property
    def signature(self) -> str:
        return f"{self.size}:{self.etag}"

    @property
    def name(self) -> str:
        return self.uri.rstrip("/").rsplit("/", 1)[-1]

    @property
    def folder(self) -> str:
        return self.uri.rsplit("/", 1)[0]


def split_s3(uri: str) -> tuple[str, str]:
    rest = uri[len("s3://"):]
    bucket, _, key = rest.partition("/")
    return bucket, key


def s3_client():
    import boto3
    from botocore.config import Config

    # Standard retry mode: exponential backoff on throttling and 5xx, as AWS recommends.
    return boto3.client("s3", config=Config(retries={"max_attempts": 5, "mode": "standard"}))


def list_files(root: str, subdir: str) -> list[LandingFile]:
    """Every file under `root/subdir`, sorted by URI. A missing folder is an empty list."""
    if is_s3(root):
        return _list_s3(root.rstrip("/") + "/" + subdir.strip("/") + "/")
    base = Path(root) / subdir
    if not Path(root).exists():
        raise LandingError(
            f"landing folder {root} does not exist; create it, or unset FINOPS_LANDING "
            "to use the bundled sample"
        )
    if not base.exists():
        return []
    files = []
    for dirpath, _dirs, names in os.walk(base):
        for name in names:
            if name.startswith("."):
                continue
            path = Path(dirpath) / name
            st = path.stat()
            mtime = datetime.fromtimestamp(int(st.st_mtime), tz=timezone.utc)
            files.append(LandingFile(str(path), st.st_size, mtime, f"{st.st_size}-{int(st.st_mtime)}"))
    return sorted(files, key=lambda f: f.uri)


def _list_s3(prefix_uri: str) -> list[LandingFile]:
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    bucket, prefix = split_s3(prefix_uri)
    client = s3_client()
    files = []
    try:
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                if obj["Key"].endswith("/"):
                    continue
                modified = obj["LastModified"].astimezone(timezone.utc).replace(microsecond=0)
                files.append(LandingFile(
                    f"s3://{bucket}/{obj['Key']}", int(obj["Size"]), modified, obj["ETag"].strip('"'),
                ))
    except NoCredentialsError:
        raise LandingError(
            f"no AWS credentials to list {prefix_uri}; configure boto3 (AWS_PROFILE, "
            "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or an instance role)"
        ) from None
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code == "NoSuchBucket":
            raise LandingError(f"bucket {bucket!r} does not exist; check FINOPS_LANDING") from None
        if code in ("AccessDenied", "403"):
            raise LandingError(
                f"access denied listing {prefix_uri}; grant s3:ListBucket and s3:GetObject to "
                "the credentials boto3 uses"
            ) from None
        raise LandingError(f"cannot list {prefix_uri}: {code or exc}") from None
    except BotoCoreError as exc:
        raise LandingError(f"cannot reach S3 to list {prefix_uri}: {exc}") from None
    return sorted(files, key=lambda f: f.uri)


def cache_dir() -> Path:
    d = Path(os.environ.get("FINOPS_CACHE", Path(tempfile.gettempdir()) / "finops-landing-cache"))
    d.mkdir(parents=True, exist_ok=True)
    return d


def local_path(file: LandingFile) -> str:
    """A local path DuckDB can read: the file itself, or a cached copy of the S3 object."""
    if not is_s3(file.uri):
        return file.uri
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, key = split_s3(file.uri)
    digest = hashlib.sha256(f"{file.uri}|{file.etag}".encode()).hexdigest()[:24]
    suffix = "".join(Path(key).suffixes[-2:]) if key.endswith(".gz") else Path(key).suffix
    target = cache_dir() / f"{digest}{suffix}"
    if not target.exists():
        tmp = target.with_suffix(target.suffix + ".part")
        try:
            s3_client().download_file(bucket, key, str(tmp))
        except (ClientError, BotoCoreError) as exc:
            raise LandingError(f"cannot download {file.uri}: {exc}") from None
        os.replace(tmp, target)
    return str(target)


def read_bytes(file: LandingFile) -> bytes:
    return Path(local_path(file)).read_bytes()
