"""Every billing export in ../shared/data (made by tools no one here wrote) ingests without error,
and the canonical totals equal the file's own sums per billing account, computed from the file."""

from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from tests.conftest import SHARED_DATA, ingest_all

FILES = sorted(
    p for p in SHARED_DATA.glob("*/*.csv.gz")
    if "contract_commitment" not in p.name and p.parent.name != "traces"
) if SHARED_DATA.exists() else []


def file_sums(path: Path) -> dict[str, Decimal]:
    """The file's own billed total per billing account, straight from its text."""
    con = duckdb.connect()
    cols = con.execute(f"SELECT * FROM read_csv('{path}', all_varchar=true, nullstr=['', 'NULL']) LIMIT 0").description
    names = [c[0] for c in cols]
    if "lineItem/UnblendedCost" in names:
        account, cost = '"bill/PayerAccountId"', '"lineItem/UnblendedCost"'
    else:
        account, cost = "BillingAccountId", "BilledCost"
    rows = con.execute(
        f"SELECT {account}, SUM(CAST({cost} AS DECIMAL(38, 10))) FROM read_csv('{path}', all_varchar=true, nullstr=['', 'NULL']) GROUP BY 1"
    ).fetchall()
    return {a: s for a, s in rows}


@pytest.mark.skipif(not FILES, reason="../shared/data is not beside this checkout")
@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_external_export_ingests_with_matching_totals(path, tmp_path, con, tagging):
    landing = tmp_path / "landing" / "billing"
    landing.mkdir(parents=True)
    (landing / path.name).symlink_to(path)
    loads = ingest_all(con, tmp_path / "landing", tagging)
    assert loads and all(l.rows_quarantined == 0 for l in loads.values())
    got = dict(con.execute(
        "SELECT BillingAccountId, SUM(BilledCost) FROM raw.billing_line_items GROUP BY 1").fetchall())
    assert got == file_sums(path)
    rows = sum(l.rows_loaded for l in loads.values())
    assert rows == duckdb.connect().execute(f"SELECT COUNT(*) FROM read_csv('{path}', all_varchar=true)").fetchone()[0]


@pytest.mark.skipif(not FILES, reason="../shared/data is not beside this checkout")
def test_focus_1_0_gpu_rows_get_gpu_columns(tmp_path, con, tagging):
    path = SHARED_DATA / "focus-1.0" / "focus_sample.csv.gz"
    landing = tmp_path / "landing" / "billing"
    landing.mkdir(parents=True)
    (landing / path.name).symlink_to(path)
    ingest_all(con, tmp_path / "landing", tagging)
    gpu = con.execute("SELECT DISTINCT x_instance_type, x_gpu_model FROM raw.billing_line_items WHERE x_gpu_count > 0").fetchall()
    assert gpu and all(model for _, model in gpu)
