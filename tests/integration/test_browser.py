"""What analysts see, tested in a real browser: the Dagster UI (lineage, checks, schedule and
sensors) and the dbt docs site, both served on 127.0.0.1 from a materialized sample and driven by
Debian's headless Chromium through Playwright (no browser download).

Screenshots land in `artifacts/screenshots/` (or FINOPS_TEST_ARTIFACTS)."""

import json
import os
import re
import shutil
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from orchestration.config import DBT_PROJECT_DIR, REPO_ROOT
from tests.conftest import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

CHROMIUM = os.environ.get("FINOPS_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(os.environ.get("FINOPS_TEST_ARTIFACTS", REPO_ROOT / "artifacts")) / "screenshots"
# Every Dagster asset group, ingest to exports: the lineage a user follows in the UI.
GROUPS = ("billing", "workloads", "reference", "staging", "intermediate", "marts", "ml", "recommendations", "exports")


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        message = f"Chromium not found at {CHROMIUM}: install it with `apt-get install -y chromium` (or set FINOPS_CHROMIUM)"
        if os.environ.get("FINOPS_REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield chromium
        chromium.close()


def _serve(cmd: list[str], env: dict, url: str, timeout: float = 300) -> subprocess.Popen:
    """Start a server in its own process group and wait until `url` answers."""
    server = subprocess.Popen(cmd, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, start_new_session=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"{' '.join(cmd)} exited:\n{server.stdout.read()[-4000:]}")
        try:
            urllib.request.urlopen(url, timeout=2)
            return server
        except OSError:
            time.sleep(1)
    _stop(server)
    raise AssertionError(f"{url} did not answer within {timeout:.0f}s")


def _stop(server: subprocess.Popen) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


@pytest.fixture(scope="module")
def dagster_ui(full_run):
    """dagster-webserver over the materialized sample's Dagster home (no daemon: nothing runs
    while the browser looks)."""
    root, env, proc = full_run
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    port = free_port()
    env = dict(env, PATH=f"{Path(os.sys.executable).parent}{os.pathsep}{env.get('PATH', '')}")
    webserver = str(Path(os.sys.executable).parent / "dagster-webserver")
    server = _serve([webserver, "-h", "127.0.0.1", "-p", str(port), "-w", "workspace.yaml"], env,
                    f"http://127.0.0.1:{port}/server_info")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        _stop(server)


def _open(browser, url: str):
    page = browser.new_page(viewport={"width": 1600, "height": 1000})
    page.goto(url)
    try:  # the first visit to a fresh instance asks to join the community
        page.get_by_role("button", name="Skip").click(timeout=5000)
    except Exception:
        pass
    return page


def test_dagster_ui_shows_ingest_dbt_ml_and_exports_as_one_lineage(browser, dagster_ui):
    page = _open(browser, f"{dagster_ui}/asset-groups")
    try:
        for group in GROUPS:
            page.get_by_text(group, exact=True).first.wait_for(timeout=60_000)
        page.screenshot(path=str(ARTIFACTS / "dagster_lineage_groups.png"))
    finally:
        page.close()

    # Everything upstream of the recommendations export, as the asset's lineage tab draws it.
    page = _open(browser, f"{dagster_ui}/assets/exports/recommendations?view=lineage&lineageScope=upstream&lineageDepth=100")
    try:
        expected = {
            "ingest": "billing_line_items", "workload tables": "gpu_samples", "dbt staging": "stg_billing",
            "dbt marts": "fct_daily_cost", "dbt recommendations": "rec_idle", "ML": "spend_forecast",
            "ML model": "runtime_model",
        }
        for node in expected.values():
            page.get_by_text(node, exact=True).first.wait_for(state="attached", timeout=60_000)
        page.screenshot(path=str(ARTIFACTS / "dagster_lineage_recommendations.png"))
        text = page.inner_text("body")
    finally:
        page.close()
    assert "Not all upstream" not in text  # the UI caps the depth at the graph's: everything is drawn
    for what, node in expected.items():
        assert node in text, (what, node)


def test_dagster_ui_shows_every_asset_check_green(browser, dagster_ui):
    page = _open(browser, f"{dagster_ui}/assets/raw/billing_line_items?view=checks")
    try:
        page.get_by_text("landing_reconciles").first.wait_for(timeout=60_000)
        page.get_by_text("Succeeded").first.wait_for(timeout=30_000)
        text = page.inner_text("body")
        assert "Checks (3)" in text
        assert text.count("Succeeded") >= 3 and "Failed" not in text, text[:2000]
        page.screenshot(path=str(ARTIFACTS / "dagster_checks_billing.png"))
        # Every check in the code location, dbt tests included, through the API the UI reads.
        response = page.request.post(f"{dagster_ui}/graphql", data={"query": """{
            assetNodes { assetKey { path } assetChecksOrError { ... on AssetChecks {
                checks { name executionForLatestMaterialization { status } } } } } }"""})
        nodes = response.json()["data"]["assetNodes"]
    finally:
        page.close()
    checks = {("/".join(n["assetKey"]["path"]), c["name"]): (c["executionForLatestMaterialization"] or {}).get("status")
              for n in nodes for c in (n["assetChecksOrError"] or {}).get("checks", [])}
    assert len(checks) > 20, checks  # the three ingest checks, the marts reconciliation and the dbt tests
    assert ("marts/fct_daily_cost", "marts_reconcile_to_canonical") in checks
    not_green = {k: v for k, v in checks.items() if v != "SUCCEEDED"}
    assert not not_green, not_green


def test_dagster_ui_lists_the_nightly_schedule_and_the_sensors(browser, dagster_ui):
    page = _open(browser, f"{dagster_ui}/automation")
    try:
        page.get_by_text("nightly_build").first.wait_for(timeout=60_000)
        text = page.inner_text("body")
        page.screenshot(path=str(ARTIFACTS / "dagster_automation.png"))
    finally:
        page.close()
    for name in ("nightly_build", "billing_landing_sensor", "recommendations_on_new_forecast"):
        assert name in text, name
    assert "02:00" in text  # the schedule's cron as the UI renders it


@pytest.fixture(scope="module")
def dbt_docs(full_run):
    """`make docs` as a user runs it: generate against the built warehouse and serve."""
    root, env, proc = full_run
    assert proc.returncode == 0
    port = free_port()
    server = _serve(["make", "--no-print-directory", "docs", f"DOCS_PORT={port}"], env, f"http://127.0.0.1:{port}/")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        _stop(server)


def _documented_columns(model: str) -> dict[str, str]:
    for path in (DBT_PROJECT_DIR / "models").rglob("*.yml"):
        for node in (yaml.safe_load(path.read_text()) or {}).get("models", []):
            if node["name"] == model:
                return {c["name"]: " ".join(c.get("description", "").split()) for c in node.get("columns", [])}
    raise AssertionError(f"{model} has no yml")


def test_dbt_docs_site_shows_a_mart_with_its_column_descriptions(browser, dbt_docs):
    model = "fct_training_run_cost"
    page = browser.new_page(viewport={"width": 1600, "height": 1200})
    try:
        page.goto(f"{dbt_docs}/#!/model/model.gpu_finops.{model}")
        page.get_by_text("Columns", exact=True).first.wait_for(timeout=60_000)
        page.get_by_text("run_id", exact=True).first.wait_for(timeout=30_000)
        text = " ".join(page.inner_text("body").split())
        page.screenshot(path=str(ARTIFACTS / "dbt_docs_fct_training_run_cost.png"), full_page=True)
    finally:
        page.close()
    columns = _documented_columns(model)
    assert len(columns) > 10
    for name, description in columns.items():
        assert name in text, name
        # markdown is rendered, so compare the words before any markup
        plain = re.split(r"[`*_\[]", description)[0].strip()[:60]
        assert plain and plain in text, (name, plain)


def test_dbt_docs_site_describes_every_mart_and_built_column(dbt_docs):
    """Every mart and every column the warehouse really has carries a description in what the
    site loads (manifest and catalog)."""
    manifest = json.loads(urllib.request.urlopen(f"{dbt_docs}/manifest.json", timeout=10).read())
    catalog = json.loads(urllib.request.urlopen(f"{dbt_docs}/catalog.json", timeout=10).read())
    marts = {n["name"]: n for n in manifest["nodes"].values()
             if n["resource_type"] == "model" and n["config"].get("schema") == "marts"}
    assert {"fct_training_run_cost", "fct_inference_cost", "fct_unit_costs", "recommendations"} <= set(marts)
    for name, node in marts.items():
        assert node["description"].strip(), name
        built = catalog["nodes"][node["unique_id"]]["columns"]
        undocumented = [c for c in built if not node["columns"].get(c, {}).get("description", "").strip()]
        assert not undocumented, (name, undocumented)

