from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from orchestration.config import DEFAULT_POLICY, REPO_ROOT
from orchestration.ingest.billing import ensure_tables, load_period
from orchestration.ingest.pipeline import probe_all, scan_billing
from orchestration.policy import load_policy
from orchestration.sample_data.generator import generate

SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def tagging():
    return load_policy(DEFAULT_POLICY).tagging


@pytest.fixture(scope="session")
def sample_landing_master(tmp_path_factory) -> Path:
    landing = tmp_path_factory.mktemp("sample") / "landing"
    generate(landing, seed=7, log=lambda m: None)
    return landing


@pytest.fixture(scope="session")
def full_run(sample_landing_master, tmp_path_factory):
    """`make run` once per session on the sample, in its own warehouse, exports, models and
    Dagster home: (root, env, completed process). The end-to-end and browser tests read it."""
    root = tmp_path_factory.mktemp("e2e")
    env = dict(os.environ,
               FINOPS_LANDING=str(sample_landing_master),
               FINOPS_WAREHOUSE=str(root / "warehouse" / "finops.duckdb"),
               FINOPS_EXPORTS=str(root / "exports"),
               FINOPS_MODELS=str(root / "models"),
               DAGSTER_HOME=str(root / "dagster_home"))
    proc = subprocess.run([sys.executable, "-m", "orchestration.cli", "run"], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=900)
    return root, env, proc


@pytest.fixture
def sample_landing(sample_landing_master, tmp_path) -> Path:
    """A private copy of the generated sample (tests may re-deliver files in it)."""
    dst = tmp_path / "landing"
    shutil.copytree(sample_landing_master, dst, copy_function=shutil.copy2)
    return dst


@pytest.fixture
def con():
    c = duckdb.connect()
    c.execute("SET TimeZone = 'UTC'")
    yield c
    c.close()


def ingest_all(con, landing, tagging, periods=None) -> dict:
    """Plain-function ingest of every (or the given) billing period; returns period -> PeriodLoad."""
    ensure_tables(con)
    probes = probe_all(con, scan_billing(str(landing)), tagging, log=lambda m: None)
    wanted = periods or sorted({p for pr in probes for p in pr.periods})
    return {p: load_period(con, p, probes, tagging, log=lambda m: None) for p in wanted}


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now, for servers the tests start themselves."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
