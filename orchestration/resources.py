"""Dagster resources: the one DuckDB writer, the landing location, the policy file."""

from __future__ import annotations

import re
import time
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb

from .config import ConfigError, file_in_the_way, memory_limit
from .policy import Policy, load_policy


class WarehouseBusyError(RuntimeError):
    """Another process holds DuckDB's one-writer lock on the warehouse file."""


def _lock_holder(message: str) -> str:
    """`(PID 1234)` from DuckDB's lock error, as ` (PID 1234)`, or nothing."""
    m = re.search(r"\(PID (\d+)\)", message)
    return f" (PID {m.group(1)})" if m else ""


def connect_warehouse(path: str, read_only: bool = False, wait_seconds: float = 600.0):
    """Open the DuckDB warehouse. DuckDB allows one writing process per file: if another process
    holds it, wait (with backoff) up to `wait_seconds`, then stop with a clear message."""
    limit = memory_limit()  # a bad FINOPS_DUCKDB_MEMORY_LIMIT fails here with what to set, not in DuckDB
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _unwritable(path, file_in_the_way(Path(path).parent) or exc.strerror or type(exc).__name__) from None
    deadline = time.monotonic() + wait_seconds
    delay = 0.5
    while True:
        try:
            con = duckdb.connect(path, read_only=read_only)
            con.execute("SET TimeZone = 'UTC'")
            # a bounded footprint: DuckDB spills to disk past this (same setting as dbt's profile)
            con.execute("SET memory_limit = ?", [limit])
            return con
        except duckdb.IOException as exc:
            text = str(exc)
            if "lock" not in text.lower():
                reason = text.split(":", 1)[-1].strip().split('": ', 1)[-1] if '": ' in text else text
                raise _unwritable(path, reason) from None
            if time.monotonic() >= deadline:
                waited = f"; waited {wait_seconds:.0f}s" if wait_seconds >= 1 else ""
                raise warehouse_busy(path, _lock_holder(text), waited) from None
            time.sleep(min(delay, max(deadline - time.monotonic(), 0.05)))
            delay = min(delay * 2, 10.0)


def warehouse_busy(path: str, holder: str = "", waited: str = "") -> WarehouseBusyError:
    """The one line for a warehouse another process holds (`holder` is ` (PID 1234)` or empty)."""
    return WarehouseBusyError(
        f"the warehouse {path} is locked by another process{holder}: another run (`make run`, a Dagster job) "
        f"or a DuckDB shell holds it{waited}; wait for it to finish or stop it, then run again")


def _unwritable(path: str, reason: str) -> ConfigError:
    return ConfigError(f"FINOPS_WAREHOUSE: cannot open the warehouse {path} ({reason}): point FINOPS_WAREHOUSE at "
                       "a file in a folder you can write to, or fix the folder's permissions")


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
