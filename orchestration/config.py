"""Runtime configuration, read from the environment (CONTRACTS.md, "Configuration").

Every setting has a default that points into the repository, so `make run` works with no
environment at all. Paths are returned absolute so that dbt, which runs in its own project
directory, sees the same files as the Python code.
"""

from __future__ import annotations

import os
import shutil
import sys
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


@dataclass(frozen=True)
class Settings:
    landing: str
    warehouse: str
    exports: str
    policy: str
    models: str = str(DEFAULT_MODELS)   # trained model artifacts (FINOPS_MODELS), a local folder

    @property
    def landing_is_default(self) -> bool:
        return self.landing == str(DEFAULT_LANDING)


def load_settings(environ: os._Environ | dict | None = None) -> Settings:
    env = os.environ if environ is None else environ
    warehouse = env.get("FINOPS_WAREHOUSE")
    if warehouse and is_s3(warehouse):
        raise ValueError(
            "FINOPS_WAREHOUSE must be a local file path (DuckDB needs a local file); "
            f"got {warehouse!r}. Point FINOPS_LANDING / FINOPS_EXPORTS at S3 instead."
        )
    return Settings(
        landing=_location(env.get("FINOPS_LANDING"), DEFAULT_LANDING),
        warehouse=_location(warehouse, DEFAULT_WAREHOUSE),
        exports=_location(env.get("FINOPS_EXPORTS"), DEFAULT_EXPORTS),
        policy=_location(env.get("FINOPS_POLICY"), DEFAULT_POLICY),
        models=_location(env.get("FINOPS_MODELS"), DEFAULT_MODELS),
    )
