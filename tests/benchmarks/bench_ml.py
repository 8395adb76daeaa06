"""Benchmark (not a test): fit the spend forecaster on 500 series x 180 days (backtest + choice +
30-day forecast) and the runtime predictor on 200 k runs (features + p50/p90 fit).

    make bench        # runs this after bench_ingest.py

Prints forecast_fit_s=... and runtime_fit_s=... (target: both under 60 s on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import pandas as pd

from models_ml import forecast, runtime


def spend_frame(series: int, days: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t = np.arange(days)
    rows = []
    for i in range(series):
        level = rng.uniform(50, 5000)
        y = level * (1 + 0.002 * t) * (1 + 0.2 * np.sin(2 * np.pi * t / 7 + rng.uniform(0, 6))) * rng.lognormal(0, 0.1, days)
        rows.append(pd.DataFrame({"usage_date": pd.date_range("2026-01-01", periods=days), "team": f"team{i // 10}",
                                  "service_name": f"svc{i % 10}", "effective_cost": y}))
    return pd.concat(rows, ignore_index=True)


def runs_frame(n: int, seed: int = 2) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    types = {"p4d.24xlarge": ("A100-40GB", 8, 1.0), "g5.xlarge": ("A10G", 1, 0.35), "p3.2xlarge": ("V100", 1, 0.45),
             "g5.12xlarge": ("A10G", 4, 0.35), "p5.48xlarge": ("H100", 8, 2.2)}
    itype = rng.choice(list(types), n)
    gpus = np.array([types[t][1] for t in itype])
    speed = np.array([types[t][2] for t in itype])
    epochs, data, params_m = rng.integers(1, 12, n), np.exp(rng.uniform(0.7, 6, n)), np.exp(rng.uniform(2.3, 9, n))
    batch = rng.choice([16, 32, 64, 128, 256, 512], n)
    hours = 0.004 * epochs * data * (params_m / 100) ** 0.6 / (speed * gpus * 0.92 ** np.log2(gpus) * (batch / 64) ** 0.15)
    hours = np.clip(hours * rng.lognormal(0, 0.15, n), 0.05, 500)
    start = pd.Timestamp("2025-01-01") + pd.to_timedelta(np.sort(rng.uniform(0, 365 * 24, n)), unit="h")
    users = rng.integers(0, 400, n)
    params = [json.dumps({"epochs": int(e), "dataset_gb": float(d), "model_params_m": float(m), "batch_size": int(b),
                          "framework": "pytorch", "optimizer": "adamw", "learning_rate": 3e-4, "model_name": f"m{u % 7}"})
              for e, d, m, b, u in zip(epochs, data, params_m, batch, users)]
    return pd.DataFrame({"run_id": [f"r{i}" for i in range(n)], "start_time": start,
                         "end_time": start + pd.to_timedelta(hours / gpus, unit="h"), "status": "FINISHED",
                         "instance_type": itype, "gpu_model": [types[t][0] for t in itype], "gpu_count": gpus,
                         "team": [f"t{u % 8}" for u in users], "user_name": [f"u{u}" for u in users], "params": params})


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--series", type=int, default=500)
    ap.add_argument("--days", type=int, default=180)
    ap.add_argument("--runs", type=int, default=200_000)
    args = ap.parse_args()

    settings = forecast.ForecastSettings()
    series = forecast.spend_series(spend_frame(args.series // 10 * 10, args.days))
    base = series[series["unique_id"].str.contains("service=")]  # the team x service series only
    t = time.monotonic()
    cv = forecast.backtest(base, settings)
    errors, choice = forecast.score_backtest(cv)
    fc = forecast.forecast_series(base, choice, errors, settings)
    forecast_s = time.monotonic() - t
    print(f"forecaster: {base['unique_id'].nunique()} series x {args.days} days, chosen {choice.value_counts().to_dict()}, "
          f"{len(fc):,} forecast rows in {forecast_s:.1f}s", flush=True)

    runs = runs_frame(args.runs)
    t = time.monotonic()
    features = runtime.build_features(runs)
    train, test, _ = runtime.time_split(features, 0.2)
    model = runtime.fit(train)
    runtime_s = time.monotonic() - t
    m = runtime.evaluate(model, train, test)
    print(f"runtime predictor: {len(train):,} train runs, MAPE {m['mape']:.1%} vs baseline {m['baseline_mape']:.1%}, "
          f"fit in {runtime_s:.1f}s", flush=True)
    print(f"forecast_fit_s={forecast_s:.1f}")
    print(f"runtime_fit_s={runtime_s:.1f}")


if __name__ == "__main__":
    main()
