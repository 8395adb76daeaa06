"""Dagster resources: the one DuckDB writer, the landing location, the policy file."""

from __future__ import annotations

import os
import time
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb

from .policy import Policy, load_policy


class WarehouseBusyError(RuntimeError):
    pass


def connect_warehouse(path: str, read_only: bool = False, wait_seconds: float = 600.0):
    """Open the DuckDB warehouse. DuckDB allows one writing process per file: if another process
    holds it, wait (with backoff) up to `wait_seconds`, then stop with a clear message."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait_seconds
    delay = 0.5
    while True:
        try:
            con = duckdb.connect(path, read_only=read_only)
            con.execute("SET TimeZone = 'UTC'")
            # a bounded footprint: DuckDB spills to disk past this (same setting as dbt's profile)
            con.execute("SET memory_limit = ?", [os.environ.get("FINOPS_DUCKDB_MEMORY_LIMIT", "4GB")])
            return con
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise
            if time.monotonic() > deadline:
                raise WarehouseBusyError(
                    f"the warehouse {path} is in use by another process (another run, or a DuckDB "
                    f"shell); waited {wait_seconds:.0f}s. Let it finish, then run again."
                ) from None
            time.sleep(delay)
            delay = min(delay * 2, 10.0)


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB warehouse file; every writer goes through here."""

    path: str
    wait_seconds: float = 600.0

    @contextmanager
    def connect(self, read_only: bool = False):
        con = connect_warehouse(self.path, read_only=read_only, wait_seconds=self.wait_seconds)
        try:
            yield con
        finally:
            con.close()


class LandingResource(dg.ConfigurableResource):
    """Where exports land: a local folder or s3://bucket/prefix."""

    uri: str


class PolicyResource(dg.ConfigurableResource):
    path: str

    def load(self) -> Policy:
        return load_policy(self.path)


class ExportsResource(dg.ConfigurableResource):
    """Where BI-ready exports are written: a local folder or s3://bucket/prefix."""

    uri: str


class ModelStoreResource(dg.ConfigurableResource):
    """Where trained model versions live (FINOPS_MODELS, default data/models)."""

    path: str
