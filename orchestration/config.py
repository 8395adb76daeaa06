"""Runtime configuration, read from the environment (CONTRACTS.md, "Configuration").

Every setting has a default that points into the repository, so `make run` works with no
environment at all. Paths are returned absolute so that dbt, which runs in its own project
directory, sees the same files as the Python code.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
GPU_CATALOG_CSV = DBT_PROJECT_DIR / "seeds" / "gpu_instance_catalog.csv"


def _find_dbt() -> str:
    """dbt installed in the same environment as this code (the venv's bin/), else the one on PATH.
    Dagster's code server may start from the base interpreter, so sys.prefix is tried first."""
    for candidate in (Path(sys.prefix) / "bin" / "dbt", Path(sys.executable).with_name("dbt")):
        if candidate.exists():
            return str(candidate)
    return shutil.which("dbt") or "dbt"


DBT_EXECUTABLE = _find_dbt()

DEFAULT_LANDING = REPO_ROOT / "data" / "landing"
DEFAULT_WAREHOUSE = REPO_ROOT / "data" / "warehouse" / "finops.duckdb"
DEFAULT_EXPORTS = REPO_ROOT / "data" / "exports"
DEFAULT_POLICY = REPO_ROOT / "policy.yaml"
DEFAULT_MODELS = REPO_ROOT / "data" / "models"


def is_s3(uri: str) -> bool:
    return uri.startswith("s3://")


def _location(value: str | None, default: Path) -> str:
    """A local path made absolute, or an s3:// URI kept as given."""
    if not value:
        return str(default)
    if is_s3(value):
        return value.rstrip("/")
    return str(Path(value).expanduser().resolve())


class ConfigError(ValueError):
    """A FINOPS_* setting (or another path the run needs) is unusable; the message names the
    variable and says what to set it to."""


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
DEFAULT_LOG_LEVEL = "WARNING"
DEFAULT_MEMORY_LIMIT = "4GB"
# What DuckDB's `SET memory_limit` (and dbt-duckdb's profile) accept: a size with its unit, or a share of RAM.
_MEMORY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|TB|KIB|MIB|GIB|TIB|K|M|G|T|%)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Settings:
    landing: str
    warehouse: str
    exports: str
    policy: str
    models: str = str(DEFAULT_MODELS)   # trained model artifacts (FINOPS_MODELS), a local folder
    log_level: str = DEFAULT_LOG_LEVEL  # Dagster's console log during `make run` (FINOPS_LOG_LEVEL)
    memory_limit: str = DEFAULT_MEMORY_LIMIT  # DuckDB memory limit (FINOPS_DUCKDB_MEMORY_LIMIT)

    @property
    def landing_is_default(self) -> bool:
        return self.landing == str(DEFAULT_LANDING)


def log_level(environ=None) -> str:
    env = os.environ if environ is None else environ
    value = (env.get("FINOPS_LOG_LEVEL") or DEFAULT_LOG_LEVEL).strip().upper()
    if value not in LOG_LEVELS:
        raise ConfigError(f"FINOPS_LOG_LEVEL={env.get('FINOPS_LOG_LEVEL')!r} is not a log level: set it to "
                          f"{', '.join(LOG_LEVELS[:-1])} or {LOG_LEVELS[-1]}, or unset it for {DEFAULT_LOG_LEVEL}")
    return value


def memory_limit(environ=None) -> str:
    env = os.environ if environ is None else environ
    value = (env.get("FINOPS_DUCKDB_MEMORY_LIMIT") or DEFAULT_MEMORY_LIMIT).strip()
    m = _MEMORY.match(value)
    if not m or float(m.group(1)) <= 0 or (m.group(2) == "%" and float(m.group(1)) > 100):
        raise ConfigError(f"FINOPS_DUCKDB_MEMORY_LIMIT={env.get('FINOPS_DUCKDB_MEMORY_LIMIT')!r} is not a memory size: "
                          f"set it like 4GB, 512MB or 75% (of RAM), or unset it for {DEFAULT_MEMORY_LIMIT}")
    return value


def load_settings(environ: os._Environ | dict | None = None) -> Settings:
    env = os.environ if environ is None else environ
    warehouse = env.get("FINOPS_WAREHOUSE")
    if warehouse and is_s3(warehouse):
        raise ConfigError(
            f"FINOPS_WAREHOUSE={warehouse} is on S3, but DuckDB needs a local file: set FINOPS_WAREHOUSE to a "
            "local path (FINOPS_LANDING and FINOPS_EXPORTS may point at S3)"
        )
    for name in ("FINOPS_POLICY", "FINOPS_MODELS"):
        if is_s3(env.get(name) or ""):
            raise ConfigError(f"{name}={env[name]} is on S3, but it must be a local path: copy it locally and "
                              f"point {name} there")
    return Settings(
        landing=_location(env.get("FINOPS_LANDING"), DEFAULT_LANDING),
        warehouse=_location(warehouse, DEFAULT_WAREHOUSE),
        exports=_location(env.get("FINOPS_EXPORTS"), DEFAULT_EXPORTS),
        policy=_location(env.get("FINOPS_POLICY"), DEFAULT_POLICY),
        models=_location(env.get("FINOPS_MODELS"), DEFAULT_MODELS),
        log_level=log_level(env),
        memory_limit=memory_limit(env),
    )


def ensure_writable_folder(folder: str | Path, setting: str) -> None:
    """Create `folder` if needed and prove a file can be written in it; otherwise a ConfigError
    naming the variable that chose it."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".finops-write-test-"):
            pass
    except OSError as exc:
        reason = file_in_the_way(folder) or exc.strerror or type(exc).__name__
        raise ConfigError(f"{setting}: cannot write to the folder {folder} ({reason}): point {setting} at a "
                          "folder you can write to, or fix its permissions") from None


def file_in_the_way(folder: str | Path) -> str | None:
    """`<path> is a file, not a folder` when a file stands where `folder` (or a parent) should be."""
    folder = Path(folder)
    for p in (folder, *folder.parents):
        if p.exists():
            return None if p.is_dir() else f"{p} is a file, not a folder"
    return None
