"""models_ml on frames: feature building without look-ahead, the time split, the runtime model
against its baseline (sample and the real Zeus trace), forecast model selection and fallback,
the month-end projection, and anomaly detection."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from models_ml import anomaly, forecast, runtime
from models_ml.traces import evaluate_runtime_on_zeus
from orchestration.ingest.jobs import read_mlflow_runs_csv

ZEUS = Path(__file__).resolve().parents[3] / "shared" / "data" / "traces" / "zeus_nsdi23"


def run(run_id, user, start, hours, status="FINISHED", gpus=1, **params):
    start = pd.Timestamp(start)
    p = {"batch_size": 64, "epochs": 2, "dataset_gb": 10, "model_params_m": 100, "framework": "pytorch", **params}
    return {"run_id": run_id, "start_time": start, "end_time": None if status == "RUNNING" else start + pd.Timedelta(hours=hours),
            "status": status, "instance_type": "g5.xlarge", "gpu_model": "A10G", "gpu_count": gpus, "team": "nlp",
            "user_name": user, "params": json.dumps(p)}


def test_user_history_features_only_see_runs_that_ended_before_the_start():
    runs = pd.DataFrame([
        run("a", "alice", "2026-11-01 00:00", 2),    # ends 02:00
        run("b", "alice", "2026-11-01 01:00", 10),   # ends 11:00: still running when c starts
        run("c", "alice", "2026-11-01 03:00", 4),
        run("d", "bob", "2026-11-01 05:00", 1),
    ])
    f = runtime.build_features(runs).set_index("run_id")
    assert np.isnan(f.loc["a", "user_recent_gpu_hours"]) and f.loc["a", "user_prior_runs"] == 0
    assert f.loc["c", "user_recent_gpu_hours"] == 2.0 and f.loc["c", "user_prior_runs"] == 1  # b not yet finished
    assert np.isnan(f.loc["d", "user_recent_gpu_hours"])                                       # other users do not count
    assert f.loc["c", "gpu_hours"] == 4.0 and f.loc["c", "batch_size"] == 64 and f.loc["c", "submit_hour"] == 3


def test_time_split_trains_on_the_past_and_tests_on_the_newest():
    rng = np.random.default_rng(1)
    starts = pd.Timestamp("2026-09-01") + pd.to_timedelta(np.sort(rng.uniform(0, 60 * 24, 200)), unit="h")
    runs = pd.DataFrame([run(f"r{i}", f"u{i % 5}", s, float(rng.uniform(0.5, 30))) for i, s in enumerate(starts)])
    train, test, cutoff = runtime.time_split(runtime.build_features(runs), 0.2)
    assert (train["end_time"] < cutoff).all() and (test["start_time"] >= cutoff).all()
    assert len(test) == 40 and not set(train["run_id"]) & set(test["run_id"])
    with pytest.raises(runtime.RuntimeModelError, match="only 10 finished runs"):
        runtime.time_split(runtime.build_features(runs.head(10)), 0.2)


@pytest.fixture(scope="module")
def sample_runs(sample_landing_master):
    frames = [read_mlflow_runs_csv(str(f))[0].to_pandas() for f in sorted((sample_landing_master / "jobs" / "mlflow").glob("*.csv"))]
    jobs = pd.concat(frames, ignore_index=True).rename(columns={"job_id": "run_id"})
    catalog = pd.read_csv(Path(runtime.__file__).resolve().parents[1] / "dbt_project" / "seeds" / "gpu_instance_catalog.csv")
    return jobs.merge(catalog[["instance_type", "gpu_model"]], on="instance_type", how="left")


def test_runtime_model_beats_the_per_type_median_and_round_trips(sample_runs, tmp_path):
    features = runtime.build_features(sample_runs)
    train, test, cutoff = runtime.time_split(features, 0.2)
    model = runtime.fit(train)
    m = runtime.evaluate(model, train, test)
    assert m["mape"] < 0.3 and m["mape"] < m["baseline_mape"] / 3, m
    assert 0.75 <= m["p90_coverage"] <= 1.0, m
    saved = runtime.save(model, tmp_path, m, train, cutoff)
    loaded, card, where = runtime.load_latest(tmp_path)
    assert where == saved and card["metrics"]["mape"] == m["mape"] and "instance_type" in card["categorical_features"]
    pd.testing.assert_frame_equal(loaded.predict(test), model.predict(test))
    # open runs: p90 >= p50, capacity = p90 x margin
    open_runs = runtime.build_features(sample_runs[sample_runs["status"] == "RUNNING"], history=sample_runs)
    pred = runtime.predict_open_runs(loaded, open_runs, capacity_margin=1.2)
    assert len(pred) >= 1 and (pred["p90_gpu_hours"] >= pred["p50_gpu_hours"]).all()
    assert np.allclose(pred["recommended_gpu_hours"], pred["p90_gpu_hours"] * 1.2)


@pytest.mark.skipif(not ZEUS.exists(), reason="the shared Zeus trace is not present")
def test_runtime_model_on_the_real_zeus_trace_beats_the_median_of_the_same_workload():
    r = evaluate_runtime_on_zeus(ZEUS)
    assert r["test_jobs"] > 100
    assert r["median_ape"] < r["baseline_median_ape"] / 3, r


def daily(values: dict[tuple[str, str], np.ndarray], start="2026-06-01") -> pd.DataFrame:
    rows = []
    for (team, service), ys in values.items():
        days = pd.date_range(start, periods=len(ys), freq="D")
        rows += [{"usage_date": d, "team": team, "service_name": service, "effective_cost": y} for d, y in zip(days, ys)]
    return pd.DataFrame(rows)


def test_spend_series_fill_missing_days_and_add_team_and_total_series():
    d = daily({("nlp", "EC2"): np.array([10.0, 20.0, 30.0])})
    d = d[d["usage_date"] != pd.Timestamp("2026-06-02")]  # a day with no spend at all
    s = forecast.spend_series(d)
    assert set(s["unique_id"]) == {"team=nlp|service=EC2", "team=nlp", "total"}
    ec2 = s[s["unique_id"] == "team=nlp|service=EC2"]
    assert ec2["y"].tolist() == [10.0, 0.0, 30.0]


def test_forecast_picks_per_series_by_backtest_and_flags_short_series():
    rng = np.random.default_rng(3)
    t = np.arange(120)
    weekly = 1000 + 8 * t + 300 * np.sin(2 * np.pi * t / 7) + rng.normal(0, 20, 120)  # trend + season: ETS/MSTL win
    d = pd.concat([daily({("nlp", "EC2"): weekly}), daily({("vision", "S3"): np.full(10, 50.0)}, start="2026-09-19")])
    settings = forecast.ForecastSettings()
    s = forecast.spend_series(d)
    cv = forecast.backtest(s, settings)
    errors, choice = forecast.score_backtest(cv)
    assert choice["team=nlp|service=EC2"] in ("ETS", "MSTL")
    nlp = errors[errors["unique_id"] == "team=nlp|service=EC2"].set_index("model")
    assert nlp.loc[choice["team=nlp|service=EC2"], "mae"] < nlp.loc["SeasonalNaive", "mae"]
    fc = forecast.forecast_series(s, choice, errors, settings)
    short = fc[fc["unique_id"] == "team=vision|service=S3"]
    assert short["is_fallback"].all() and (short["model"] == "SeasonalNaive").all() and len(short) == 30
    assert short["backtest_monthly_total_mape"].isna().all()  # no backtest, said so
    long = fc[fc["unique_id"] == "team=nlp|service=EC2"]
    assert (long["lo_95"] <= long["lo_80"]).all() and (long["lo_80"] <= long["mean"]).all() and (long["mean"] <= long["hi_95"]).all()
    assert long["backtest_monthly_total_mape"].notna().all() and long["baseline_monthly_total_mape"].notna().all()


def test_seasonal_naive_wins_a_tie():
    """A series that repeats its week exactly: every model is perfect, the baseline is kept."""
    week = np.array([5.0, 6, 7, 8, 9, 1, 2])
    errors = pd.DataFrame({"unique_id": ["s"] * 3, "model": ["ETS", "SeasonalNaive", "MSTL"], "mae": [0.0, 0.0, 0.0],
                           "smape": [0.0] * 3, "total_ape": [0.0] * 3})
    cv = pd.DataFrame({"unique_id": "s", "ds": pd.date_range("2026-01-01", periods=7), "cutoff": pd.Timestamp("2025-12-31"),
                       "y": week, "ETS": week, "SeasonalNaive": week, "MSTL": week})
    _, choice = forecast.score_backtest(cv)
    assert choice["s"] == "SeasonalNaive" and errors is not None


def test_month_end_projection_adds_month_to_date_and_the_rest_of_the_month():
    s = pd.DataFrame({"unique_id": "team=nlp", "ds": pd.date_range("2026-11-01", "2026-11-28"), "y": 10.0,
                      "team": "nlp", "service_name": None})
    fc = pd.DataFrame({"unique_id": "team=nlp", "ds": pd.date_range("2026-11-29", periods=5), "mean": 20.0,
                       "hi_95": 23.0, "lo_95": 17.0})
    p = forecast.month_end_projection(s, fc).set_index("team").loc["nlp"]
    assert (p["actual_to_date"], p["forecast_remaining"], p["projected_total"]) == (280.0, 40.0, 320.0)  # Nov 29 + 30 only
    assert p["projected_hi"] == pytest.approx(320 + np.sqrt(2 * 9.0)) and p["month"] == "2026-11"


def test_anomaly_detector_finds_a_spike_with_its_dollars_and_ignores_noise():
    rng = np.random.default_rng(5)
    t = np.arange(90)
    y = 500 + 100 * np.sin(2 * np.pi * t / 7) + rng.normal(0, 10, 90)
    y[86] += 900  # the spike, 4 days before the end
    short = 40 + rng.normal(0, 1, 20)
    short[18] = 400
    s = forecast.spend_series(pd.concat([daily({("nlp", "EC2"): y}), daily({("vision", "S3"): short}, start="2026-08-10")]))
    found = anomaly.detect(s, anomaly.AnomalySettings(min_severity_usd=50))
    spike = found[found["unique_id"] == "team=nlp|service=EC2"]
    assert len(spike) == 1 and spike["ds"].iloc[0] == pd.Timestamp("2026-06-01") + pd.Timedelta(days=86)
    assert spike["severity_usd"].iloc[0] == pytest.approx(900, rel=0.15) and spike["method"].iloc[0].startswith("ets")
    z = found[found["unique_id"] == "team=vision|service=S3"]
    assert len(z) == 1 and z["method"].iloc[0] == "robust_z" and json.loads(z["evidence"].iloc[0])["z"] > 3.5
