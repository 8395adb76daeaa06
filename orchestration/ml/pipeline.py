"""Glue between the warehouse and `models_ml`: read marts into frames, call the models, write
`ml.*` tables. Plain functions (no Dagster), so the ML assets stay thin and this is testable."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from models_ml import anomaly, forecast, runtime

from ..policy import Policy

RUNS_SQL = """
    SELECT run_id, start_time, end_time, status, resource_id, instance_type, gpu_model, gpu_count, team, user_name, params
    FROM marts.fct_training_run_cost
"""
DAILY_SPEND_SQL = """
    SELECT usage_date, team, service_name, SUM(effective_cost) AS effective_cost
    FROM marts.fct_daily_cost
    GROUP BY usage_date, team, service_name
"""
OPEN_STATUSES = ("RUNNING", "SCHEDULED")
EMPTY_PREDICTIONS = pd.DataFrame({
    "run_id": pd.Series(dtype="string"), "status": pd.Series(dtype="string"), "resource_id": pd.Series(dtype="string"),
    "team": pd.Series(dtype="string"), "user_name": pd.Series(dtype="string"), "instance_type": pd.Series(dtype="string"),
    "gpu_count": pd.Series(dtype="float64"), "start_time": pd.Series(dtype="datetime64[us]"),
    **{c: pd.Series(dtype="float64") for c in ("p50_gpu_hours", "p90_gpu_hours", "recommended_gpu_hours", "recommended_hours")},
    "expected_end_time": pd.Series(dtype="datetime64[us]"), "model_version": pd.Series(dtype="string"),
    **{c: pd.Series(dtype="float64") for c in ("backtest_mape", "baseline_mape", "p90_coverage")},
})


def replace_ml_table(con, table: str, frame: pd.DataFrame) -> int:
    """ml.<table> replaced whole in one transaction."""
    con.execute("CREATE SCHEMA IF NOT EXISTS ml")
    con.register("_ml_frame", frame)
    try:
        con.execute("BEGIN TRANSACTION")
        con.execute(f"CREATE OR REPLACE TABLE ml.{table} AS SELECT * FROM _ml_frame")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        con.unregister("_ml_frame")
    return len(frame)


def train_runtime_model(con, models_root: str, policy: Policy) -> dict:
    """Fit the p50/p90 runtime model on all but the newest finished runs, measure it on those
    against the per-instance-type-and-team median, save the version, record its evaluation."""
    runs = con.execute(RUNS_SQL).df()
    features = runtime.build_features(runs)
    try:
        train, test, cutoff = runtime.time_split(features, policy.runtime.test_share)
    except runtime.RuntimeModelError as exc:
        # no job tracker data (yet): say so, and keep the evaluation table with no model in it
        replace_ml_table(con, "runtime_model_evaluation", pd.DataFrame({"model_version": pd.Series(dtype="string"),
                                                                        "skipped_reason": pd.Series(dtype="string")}))
        return {"version": None, "skipped": str(exc)}
    model = runtime.fit(train)
    metrics = runtime.evaluate(model, train, test)
    folder = runtime.save(model, Path(models_root) / "runtime", metrics, train, cutoff)
    evaluation = pd.DataFrame([dict(metrics, model_version=folder.name, test_cutoff=cutoff,
                                    trained_from=train["start_time"].min(), trained_to=train["start_time"].max())])
    replace_ml_table(con, "runtime_model_evaluation", evaluation)
    return {"version": folder.name, "path": str(folder), "metrics": metrics, "cutoff": cutoff}


def predict_runtimes(con, models_root: str, policy: Policy) -> pd.DataFrame:
    """Predictions for every RUNNING or queued run, by the latest saved model version (an empty
    table, same columns, when no model has been trained)."""
    try:
        model, card, folder = runtime.load_latest(Path(models_root) / "runtime")
    except runtime.RuntimeModelError:
        replace_ml_table(con, "runtime_predictions", EMPTY_PREDICTIONS.copy())
        return EMPTY_PREDICTIONS.copy()
    runs = con.execute(RUNS_SQL).df()
    open_runs = runs[runs["status"].isin(OPEN_STATUSES)]
    features = runtime.build_features(open_runs, history=runs)
    out = runtime.predict_open_runs(model, features, policy.runtime.capacity_margin)
    out["model_version"] = folder.name
    out["backtest_mape"] = card["metrics"]["mape"]
    out["baseline_mape"] = card["metrics"]["baseline_mape"]
    out["p90_coverage"] = card["metrics"]["p90_coverage"]
    replace_ml_table(con, "runtime_predictions", out.reset_index(drop=True))
    return out


def _forecast_settings(policy: Policy) -> forecast.ForecastSettings:
    f = policy.forecast
    return forecast.ForecastSettings(horizon_days=f.horizon_days, levels=f.levels,
                                     backtest_windows=f.backtest_windows, backtest_step_days=f.backtest_step_days)


def forecast_spend(con, policy: Policy) -> dict:
    """Backtest, choose and forecast every spend series; write ml.spend_forecast,
    ml.spend_forecast_backtest and ml.month_end_projection."""
    settings = _forecast_settings(policy)
    series = forecast.spend_series(con.execute(DAILY_SPEND_SQL).df())
    cv = forecast.backtest(series, settings)
    errors, choice = forecast.score_backtest(cv, settings.selection_metric)
    fc = forecast.forecast_series(series, choice, errors, settings)
    projection = forecast.month_end_projection(series, fc, level=max(settings.levels))
    replace_ml_table(con, "spend_forecast", fc)
    replace_ml_table(con, "spend_forecast_backtest", errors.assign(is_chosen=errors.apply(
        lambda r: choice.get(r["unique_id"]) == r["model"], axis=1)))
    replace_ml_table(con, "month_end_projection", projection)
    return {"series": series, "forecast": fc, "errors": errors, "choice": choice, "projection": projection}


def detect_spend_anomalies(con, policy: Policy) -> pd.DataFrame:
    a = policy.anomaly
    settings = anomaly.AnomalySettings(lookback_days=a.lookback_days, interval_level=a.interval_level,
                                       min_history_days=a.min_history_days, robust_z_threshold=a.robust_z_threshold,
                                       min_severity_usd=a.min_severity_usd)
    series = forecast.spend_series(con.execute(DAILY_SPEND_SQL).df())
    found = anomaly.detect(series, settings)
    replace_ml_table(con, "spend_anomalies", found)
    return found


def forecast_figure(series: pd.DataFrame, fc: pd.DataFrame, history_days: int = 60):
    """Small multiples: one panel for the total and one per team, each with the last
    `history_days` of actuals, the forecast line and its 80 % / 95 % fan."""
    from matplotlib.figure import Figure

    from ..exports.plots import DOLLARS

    ids = [forecast.TOTAL] + sorted(u for u in series["unique_id"].unique() if u.startswith("team=") and "|" not in u)
    cols = 2
    rows = (len(ids) + cols - 1) // cols
    fig = Figure(figsize=(12, 1.0 + 3.2 * rows), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False)
    start = series["ds"].max() - pd.Timedelta(days=history_days)
    for ax, uid in zip(axes.flat, ids):
        hist = series[(series["unique_id"] == uid) & (series["ds"] >= start)]
        f = fc[fc["unique_id"] == uid]
        levels = sorted(int(c.split("_")[1]) for c in f.columns if c.startswith("lo_"))
        for lv, alpha in zip(reversed(levels), (0.2, 0.35)):
            ax.fill_between(f["ds"], f[f"lo_{lv}"], f[f"hi_{lv}"], color="tab:blue", alpha=alpha, label=f"{lv} % interval")
        ax.plot(hist["ds"], hist["y"], color="black", lw=1, label="actual")
        ax.plot(f["ds"], f["mean"], color="tab:blue", lw=1.5, label=f"forecast ({f['model'].iloc[0] if len(f) else ''})")
        ax.set_title("all teams (total)" if uid == forecast.TOTAL else uid.replace("team=", "team "), fontsize=10)
        ax.tick_params(labelsize=7)
        ax.yaxis.set_major_formatter(DOLLARS)
        ax.set_ylabel("$ per day", fontsize=8)
        ax.set_ylim(bottom=0)
        ax.legend(fontsize=6, loc="upper left")
    for ax in list(axes.flat)[len(ids):]:
        ax.axis("off")
    fig.suptitle(f"Daily amortised spend: last {history_days} days of actuals and the "
                 f"{int(fc['ds'].nunique()) if len(fc) else 0}-day forecast with 80 % / 95 % intervals, per team",
                 fontsize=12)
    return fig


def forecast_plot_png(series: pd.DataFrame, fc: pd.DataFrame, history_days: int = 60) -> bytes:
    """The fan chart per team and in total as PNG bytes (deterministic)."""
    from ..exports.plots import figure_png

    return figure_png(forecast_figure(series, fc, history_days), dpi=90)


def md_table(frame: pd.DataFrame, index: bool = False, digits: int = 3) -> str:
    """A Markdown table for asset metadata."""
    f = frame.reset_index() if index else frame
    fmt = lambda v: f"{v:.{digits}g}" if isinstance(v, float) else str(v)  # noqa: E731
    lines = ["| " + " | ".join(map(str, f.columns)) + " |", "|" + "---|" * len(f.columns)]
    lines += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in f.itertuples(index=False)]
    return "\n".join(lines)


def png_markdown(png: bytes, alt: str = "spend forecast") -> str:
    from ..exports.plots import png_markdown as md

    return md(png, alt)
