"""Spend anomaly detector: which recent days' spend per team x service was out of line?

Each of the last `lookback_days` days is judged against a model fit on the history BEFORE that
day (statsforecast `cross_validation` with a one-day horizon and one window per day), so a spike
never hides itself by pulling its own expectation up:
- series with enough history: outside the ETS model's `interval_level` % prediction interval;
- shorter series: a robust z-score of the day against the median and MAD of the days before it.
Severity is the spend above (or below) the expectation in dollars; days whose severity is below
`min_severity_usd` are not reported (a $3 swing is noise to a FinOps analyst).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pandas as pd
from statsforecast import StatsForecast
from statsforecast.models import AutoETS, SeasonalNaive


@dataclass(frozen=True)
class AnomalySettings:
    lookback_days: int = 14
    interval_level: int = 99
    season_length: int = 7
    min_history_days: int = 28        # below: robust z-score instead of the model interval
    robust_z_threshold: float = 3.5
    min_severity_usd: float = 50.0


def detect(df: pd.DataFrame, settings: AnomalySettings) -> pd.DataFrame:
    """`df`: unique_id, ds, y, team, service_name (forecast.spend_series). One row per anomalous
    (series, day): actual, expected, interval, severity in dollars, method and evidence."""
    lengths = df.groupby("unique_id")["ds"].size()
    need = settings.min_history_days + settings.lookback_days
    long_ids = lengths[lengths >= need].index
    found = [_model_based(df[df["unique_id"].isin(long_ids)], settings),
             _robust_z(df[~df["unique_id"].isin(long_ids)], settings)]
    out = pd.concat([f for f in found if not f.empty], ignore_index=True) if any(not f.empty for f in found) else _empty()
    out = out[out["severity_usd"].abs() >= settings.min_severity_usd]
    keys = df.drop_duplicates("unique_id").set_index("unique_id")[["team", "service_name"]]
    out = out.join(keys, on="unique_id")
    return out.sort_values(["ds", "severity_usd"], ascending=[True, False]).reset_index(drop=True)


def _empty() -> pd.DataFrame:
    return pd.DataFrame(columns=["unique_id", "ds", "actual", "expected", "lower", "upper", "severity_usd",
                                 "direction", "method", "evidence"])


def _model_based(df: pd.DataFrame, s: AnomalySettings) -> pd.DataFrame:
    if df.empty:
        return _empty()
    sf = StatsForecast(models=[AutoETS(season_length=s.season_length, model="ANA", alias="expected")], freq="D",
                       n_jobs=1, fallback_model=SeasonalNaive(season_length=s.season_length, alias="expected"))
    cv = sf.cross_validation(df=df[["unique_id", "ds", "y"]], h=1, step_size=1, n_windows=s.lookback_days,
                             level=[s.interval_level])
    lo, hi = f"expected-lo-{s.interval_level}", f"expected-hi-{s.interval_level}"
    out = cv[(cv["y"] > cv[hi]) | (cv["y"] < cv[lo])]
    rows = pd.DataFrame({
        "unique_id": out["unique_id"].to_numpy(), "ds": out["ds"].to_numpy(), "actual": out["y"].to_numpy(),
        "expected": out["expected"].clip(lower=0).to_numpy(), "lower": out[lo].clip(lower=0).to_numpy(),
        "upper": out[hi].to_numpy(),
    })
    rows["severity_usd"] = rows["actual"] - rows["expected"]
    rows["direction"] = np.where(rows["severity_usd"] > 0, "above", "below")
    rows["method"] = f"ets_{s.interval_level}pct_interval"
    rows["evidence"] = [json.dumps({"model": "ETS(A,N,A) weekly", "fit_on": f"history before {d:%Y-%m-%d}",
                                    "interval_level": s.interval_level, "lower": round(float(a), 2), "upper": round(float(b), 2)})
                        for d, a, b in zip(pd.to_datetime(rows["ds"]), rows["lower"], rows["upper"])]
    return rows


def _robust_z(df: pd.DataFrame, s: AnomalySettings) -> pd.DataFrame:
    rows = []
    for uid, g in df.sort_values("ds").groupby("unique_id"):
        y = g["y"].to_numpy()
        days = g["ds"].to_numpy()
        for i in range(max(s.season_length, len(y) - s.lookback_days), len(y)):
            past = y[:i]
            median = float(np.median(past))
            mad = float(np.median(np.abs(past - median))) * 1.4826
            if mad == 0:
                continue  # a flat history: no scale to judge against
            z = (y[i] - median) / mad
            if abs(z) >= s.robust_z_threshold:
                rows.append({"unique_id": uid, "ds": days[i], "actual": float(y[i]), "expected": median,
                             "lower": median - s.robust_z_threshold * mad, "upper": median + s.robust_z_threshold * mad,
                             "severity_usd": float(y[i]) - median, "direction": "above" if z > 0 else "below",
                             "method": "robust_z", "evidence": json.dumps({"median": round(median, 2), "mad": round(mad, 2),
                                                                           "z": round(float(z), 2), "history_days": i})})
    return pd.DataFrame(rows) if rows else _empty()
