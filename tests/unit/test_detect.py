import gzip

import pytest

from orchestration.ingest.cur import legacy_to_cur2_name
from orchestration.ingest.detect import CUR2, CUR_LEGACY, FOCUS, detect_billing_format, focus_version, read_header
from orchestration.ingest.errors import BadFileError


@pytest.mark.parametrize("legacy,cur2", [
    ("lineItem/UnblendedCost", "line_item_unblended_cost"),
    ("reservation/ReservationARN", "reservation_reservation_a_r_n"),
    ("savingsPlan/SavingsPlanEffectiveCost", "savings_plan_savings_plan_effective_cost"),
    ("product/instanceType", "product_instance_type"),
    ("bill/PayerAccountId", "bill_payer_account_id"),
])
def test_legacy_names_map_to_cur2(legacy, cur2):
    assert legacy_to_cur2_name(legacy) == cur2


def test_formats_detected_by_header():
    assert detect_billing_format(("lineItem/UnblendedCost", "lineItem/UsageStartDate"), "f") == CUR_LEGACY
    assert detect_billing_format(("line_item_unblended_cost", "bill_payer_account_id"), "f") == CUR2
    assert detect_billing_format(("BilledCost", "ChargePeriodStart", "BillingAccountId"), "f") == FOCUS


def test_unknown_header_names_the_file():
    with pytest.raises(BadFileError, match="inventory.csv.*not a billing export"):
        detect_billing_format(("bucket", "key", "size"), "inventory.csv")


def test_focus_missing_required_column_names_it():
    with pytest.raises(BadFileError, match="column 'BillingAccountId'"):
        detect_billing_format(("BilledCost", "ChargePeriodStart"), "focus.csv")


def test_focus_versions():
    assert focus_version(("BilledCost", "ServiceProviderName")) == "1.3"
    assert focus_version(("BilledCost", "InvoiceId")) == "1.2"
    assert focus_version(("BilledCost",)) == "1.0"


def test_header_of_gzip_csv_with_bom(tmp_path):
    f = tmp_path / "x.csv.gz"
    with gzip.open(f, "wt", encoding="utf-8-sig") as fh:
        fh.write("BilledCost,ChargePeriodStart\n1,2026-01-01\n")
    h = read_header(str(f), "x.csv.gz")
    assert h.columns == ("BilledCost", "ChargePeriodStart") and h.gzipped


def test_empty_and_broken_files(tmp_path):
    empty = tmp_path / "e.csv"
    empty.write_bytes(b"")
    with pytest.raises(BadFileError, match="empty"):
        read_header(str(empty), "e.csv")
    broken = tmp_path / "b.parquet"
    broken.write_bytes(b"PAR1" + b"\x00" * 20)
    with pytest.raises(BadFileError, match="not a readable parquet"):
        read_header(str(broken), "b.parquet")
