"""List and fetch landing files, from a local folder or an `s3://bucket/prefix` (boto3).

DuckDB reads local files only here (its S3 extension would be downloaded at run time, which
an air-gapped install cannot do), so S3 objects are copied to a local cache first, keyed by
their ETag so an unchanged object is fetched once.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from ..config import DEFAULT_LANDING, is_s3
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


def transfer_config():
    """s3transfer settings for every download and upload: in the calling thread. Its thread pool is
    where S3 transfers are known to hang with nothing on the wire (boto/boto3#814, #716); in one
    thread every wait is a socket read that botocore's read timeout bounds, and a failure raises."""
    from boto3.s3.transfer import TransferConfig

    return TransferConfig(use_threads=False)


def split_s3(uri: str) -> tuple[str, str]:
    rest = uri[len("s3://"):]
    bucket, _, key = rest.partition("/")
    return bucket, key


def s3_client():
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError

    # Standard retry mode, as AWS recommends: up to 5 retries after the first attempt, with jittered
    # exponential backoff (from 1 s on throttling, from 50 ms on 5xx, timeouts and dropped or refused
    # connections, capped at 20 s); never on AccessDenied, NoSuchBucket or rejected credentials
    # (AWS_MAX_ATTEMPTS, boto3's own setting, overrides the total number of attempts).
    # A connect timeout well below botocore's 60 s default: an endpoint that does not answer is
    # reported in seconds, not minutes; reads keep 60 s per socket read (large objects stream).
    retries = {"mode": "standard"} if os.environ.get("AWS_MAX_ATTEMPTS") else {"mode": "standard", "max_attempts": 5}
    try:
        return boto3.client("s3", config=Config(retries=retries, connect_timeout=10, read_timeout=60))
    except BotoCoreError as exc:  # e.g. AWS_PROFILE names a profile that does not exist
        raise s3_error(exc, "s3://") from None


_REJECTED_CREDENTIALS = {"InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken",
                         "TokenRefreshRequired", "AuthorizationHeaderMalformed"}


def s3_error(exc: Exception, uri: str, setting: str = "FINOPS_LANDING", need: str = "s3:ListBucket and s3:GetObject") -> LandingError:
    """One actionable sentence for what boto3 raised on `uri`. Never includes credentials:
    botocore's messages name the variables and profiles, never their values."""
    from botocore.exceptions import (ClientError, ConnectTimeoutError, EndpointConnectionError, HTTPClientError,
                                     NoCredentialsError, PartialCredentialsError, ProfileNotFound)

    if isinstance(exc, NoCredentialsError):
        return LandingError(f"no AWS credentials found for {uri}: set AWS_PROFILE or "
                            "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or run with an instance role")
    if isinstance(exc, PartialCredentialsError):
        return LandingError(f"incomplete AWS credentials for {uri} ({exc}): set both AWS_ACCESS_KEY_ID and "
                            "AWS_SECRET_ACCESS_KEY, or use AWS_PROFILE")
    if isinstance(exc, ProfileNotFound):
        return LandingError(f"AWS_PROFILE={os.environ.get('AWS_PROFILE', '')} is not a profile in your AWS config "
                            "(~/.aws/config, ~/.aws/credentials): fix AWS_PROFILE, or add the profile with `aws configure`")
    if isinstance(exc, (EndpointConnectionError, ConnectTimeoutError)):
        endpoint = str(getattr(exc, "kwargs", {}).get("endpoint_url", "the S3 endpoint"))
        endpoint = re.sub(r"//[^/@]*@", "//", endpoint)  # never a user:password written into the URL
        return LandingError(f"cannot reach S3 at {endpoint} for {uri}: check the network connection, and "
                            "AWS_ENDPOINT_URL_S3 if you set one")
    if isinstance(exc, HTTPClientError):  # a connection dropped or a read timed out mid-request, on every retry
        endpoint = str(getattr(exc, "kwargs", {}).get("endpoint_url", "the S3 endpoint"))
        endpoint = re.sub(r"//[^/@]*@", "//", endpoint)
        return LandingError(f"the connection to S3 at {endpoint} failed during a request on {uri}, on every retry "
                            f"({type(exc).__name__}): check the network connection, and AWS_ENDPOINT_URL_S3 if you set "
                            "one, then run again")
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        on_object = getattr(exc, "operation_name", "") in ("HeadObject", "GetObject")
        if code == "NoSuchBucket" or (code == "404" and not on_object):
            return LandingError(f"the bucket {split_s3(uri)[0]!r} of {setting}={uri} does not exist: fix {setting}, "
                                "or create the bucket")
        if code in ("NoSuchKey", "404"):
            return LandingError(f"{uri} disappeared while it was being read (replaced by a new delivery?): run again")
        if code in ("AccessDenied", "403", "AllAccessDisabled"):
            return LandingError(f"access denied to {uri}: grant {need} on it to the credentials boto3 uses "
                                f"(AWS_PROFILE, environment or role), or fix {setting}")
        if code in _REJECTED_CREDENTIALS:
            return LandingError(f"S3 rejected the AWS credentials for {uri} ({code}): check AWS_PROFILE or "
                                "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or refresh an expired session")
        return LandingError(f"S3 refused a request on {uri} ({code}: {error.get('Message', '')}): "
                            f"check {setting} and the bucket's permissions")
    return LandingError(f"cannot read {uri} from S3 ({exc}): check the network, AWS_ENDPOINT_URL_S3 and {setting}")


def list_files(root: str, subdir: str) -> list[LandingFile]:
    """Every file under `root/subdir`, sorted by URI. A missing folder is an empty list."""
    if is_s3(root):
        return _list_s3(root.rstrip("/") + "/" + subdir.strip("/") + "/")
    base = Path(root) / subdir
    check_location(root)
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


def check_location(root: str, setting: str = "FINOPS_LANDING", listing_required: bool = True) -> None:
    """Fail fast with what to do when the landing location cannot be read: a local folder that
    does not exist, or an S3 prefix that cannot be listed (credentials, bucket, permissions).
    With `listing_required=False` (a write-only destination such as the exports) a denied
    listing is accepted: credentials, endpoint and bucket are still checked."""
    if is_s3(root):
        bucket, prefix = split_s3(root.rstrip("/") + "/")
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            s3_client().list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=1)
        except ClientError as exc:
            if not listing_required and exc.response.get("Error", {}).get("Code") in ("AccessDenied", "403"):
                return
            raise s3_error(exc, root, setting) from None
        except BotoCoreError as exc:
            raise s3_error(exc, root, setting) from None
        return
    path = Path(root)
    if not path.exists():
        if path == DEFAULT_LANDING:
            raise LandingError(f"the sample landing folder {root} does not exist yet: run `make run` once to "
                               "generate it, or set FINOPS_LANDING to your own landing folder")
        raise LandingError(f"{setting}={root} does not exist: fix the path, create the folder (with billing/ "
                           f"inside), or unset {setting} to use the bundled sample")
    if not path.is_dir():
        raise LandingError(f"{setting}={root} is a file, not a folder: point {setting} at the folder that holds "
                           "billing/, utilization/, jobs/ ...")


def _list_s3(prefix_uri: str) -> list[LandingFile]:
    from botocore.exceptions import BotoCoreError, ClientError

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
    except (BotoCoreError, ClientError) as exc:
        raise s3_error(exc, prefix_uri) from None
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
            s3_client().download_file(bucket, key, str(tmp), Config=transfer_config())
        except (ClientError, BotoCoreError) as exc:
            raise s3_error(exc, file.uri) from None
        os.replace(tmp, target)
    return str(target)


def read_bytes(file: LandingFile) -> bytes:
    return Path(local_path(file)).read_bytes()
