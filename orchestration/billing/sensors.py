"""The landing sensor: new or re-delivered billing files start ingestion of their periods only."""


import hashlib
import json

import dagster as dg
import duckdb

from ..ingest.billing import _period_from_path, probe_file
from ..ingest.pipeline import scan_billing
from ..resources import LandingResource, PolicyResource
from .assets import billing_periods


def changed_periods(previous: dict, files, policy, log=lambda *_: None) -> tuple[dict, dict[str, list[str]]]:
    """Compare the landing listing with the cursor: returns the new cursor and, per billing
    period touched, the files that changed (added, re-delivered or removed). Files whose path
    names no period are probed in memory (the warehouse is never opened by the sensor)."""
    current: dict[str, list] = {}
    touched: dict[str, list[str]] = {}
    con = None
    try:
        for f in files:
            old = previous.get(f.uri)
            if old and old[0] == f.signature:
                current[f.uri] = old
                continue
            periods = [_period_from_path(f.uri)] if _period_from_path(f.uri) else []
            if not periods:
                if con is None:
                    con = duckdb.connect()
                    con.execute("SET TimeZone = 'UTC'")
                probe = probe_file(con, f, policy)
                periods = sorted(probe.periods) or ([probe.home_period] if probe.home_period else [])
            current[f.uri] = [f.signature, periods]
            for p in periods:
                touched.setdefault(p, []).append(f.uri)
            log(f"{'re-delivered' if old else 'new'} billing file {f.uri} -> {', '.join(periods) or 'no period'}")
        for uri, (sig, periods) in previous.items():
            if uri not in current:
                for p in periods:
                    touched.setdefault(p, []).append(uri)
    finally:
        if con is not None:
            con.close()
    return current, touched


@dg.sensor(
    name="billing_landing_sensor",
    asset_selection=dg.AssetSelection.assets(["raw", "billing_line_items"]),
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Watches landing/billing (local mtime+size, S3 ETag) and ingests only the billing periods whose files changed.",
)
def billing_landing_sensor(context: dg.SensorEvaluationContext, landing: LandingResource, policy: PolicyResource):
    previous = json.loads(context.cursor) if context.cursor else {}
    files = scan_billing(landing.uri)
    current, touched = changed_periods(previous, files, policy.load().tagging, log=context.log.info)
    if not touched:
        context.update_cursor(json.dumps(current))
        return dg.SkipReason(f"no new or re-delivered billing files among {len(files)}")
    known = set(context.instance.get_dynamic_partitions(billing_periods.name))
    new_periods = sorted(set(touched) - known)
    runs = []
    for period, uris in sorted(touched.items()):
        sigs = "|".join(sorted(f"{u}={current.get(u, ['removed'])[0]}" for u in uris))
        runs.append(dg.RunRequest(
            run_key=f"{period}:{hashlib.sha256(sigs.encode()).hexdigest()[:16]}",
            partition_key=period,
            tags={"finops/trigger": "landing", "finops/files": str(len(uris))},
        ))
    context.update_cursor(json.dumps(current))
    return dg.SensorResult(
        run_requests=runs,
        dynamic_partitions_requests=[billing_periods.build_add_request(new_periods)] if new_periods else [],
    )
