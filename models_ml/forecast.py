"""Spend forecaster: daily spend per team x service, per team and in total, 30 days ahead with 80 %
and 95 % intervals, each series forecast by the candidate that backtested best on it.

Plain functions on pandas frames in Nixtla's long format (`unique_id`, `ds`, `y`); no Dagster, no
database. The flow:

    df = spend_series(daily)                         # fill missing days with 0, add team and total series
    cv = backtest(df, settings)                      # rolling-origin cross_validation of every candidate
    errors, choice = score_backtest(cv)              # per series and model: 30-day-total APE, daily sMAPE
    forecast = forecast_series(df, choice, settings) # the chosen model's forecast, with its backtest error
    projection = month_end_projection(df, forecast)  # month-to-date + forecast to month end, per team

Candidates: MSTL (weekly season on an ETS trend), ETS with additive weekly season, and
SeasonalNaive (7 days) as the baseline every other model must beat. Series too short to backtest
are forecast by the baseline and flagged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from statsforecast import StatsForecast
from statsforecast.models import MSTL, AutoETS, Naive, SeasonalNaive

TOTAL = "total"
BASELINE = "SeasonalNaive"


@dataclass(frozen=True)
class ForecastSettings:
    horizon_days: int = 30
    levels: tuple[int, ...] = (80, 95)
    season_length: int = 7
    backtest_windows: int = 2
    backtest_step_days: int = 15
    selection_metric: str = "mae"          # per-series choice: mean absolute error of daily values


def series_id(team: str | None = None, service: str | None = None) -> str:
    if team is None or (isinstance(team, float) and np.isnan(team)):
        return TOTAL
    no_service = service is None or (isinstance(service, float) and np.isnan(service))
    return f"team={team}" if no_service else f"team={team}|service={service}"


def spend_series(daily: pd.DataFrame) -> pd.DataFrame:
    """`daily`: usage_date, team, service_name, effective_cost (any number of rows per key).
    Returns unique_id, ds, y, team, service_name: one row per series and day from the series'
    first day to the last day of the data (a day without spend is 0, not missing)."""
    d = daily.assign(ds=pd.to_datetime(daily["usage_date"]), y=daily["effective_cost"].astype(float))
    last = d["ds"].max()
    levels = [
        d.groupby(["team", "service_name", "ds"], as_index=False)["y"].sum(),
        d.groupby(["team", "ds"], as_index=False)["y"].sum().assign(service_name=None),
        d.groupby(["ds"], as_index=False)["y"].sum().assign(team=None, service_name=None),
    ]
    frames = []
    for level in levels:
        level["unique_id"] = [series_id(t, s) for t, s in zip(level["team"], level["service_name"])]
        for uid, g in level.groupby("unique_id", sort=True):
            days = pd.date_range(g["ds"].min(), last, freq="D")
            y = g.set_index("ds")["y"].reindex(days, fill_value=0.0)
            frames.append(pd.DataFrame({"unique_id": uid, "ds": days, "y": y.to_numpy(),
                                        "team": g["team"].iloc[0], "service_name": g["service_name"].iloc[0]}))
    return pd.concat(frames, ignore_index=True)


def candidates(settings: ForecastSettings) -> list:
    s = settings.season_length
    return [MSTL(season_length=s, alias="MSTL"), AutoETS(season_length=s, model="ANA", alias="ETS"),
            SeasonalNaive(season_length=s, alias=BASELINE)]


def backtest_length(settings: ForecastSettings) -> int:
    """Days of history a series needs to be backtested: two seasons before the first cutoff."""
    return settings.horizon_days + (settings.backtest_windows - 1) * settings.backtest_step_days + 2 * settings.season_length


def backtest(df: pd.DataFrame, settings: ForecastSettings) -> pd.DataFrame:
    """Rolling-origin cross_validation of every candidate on the series long enough for it."""
    lengths = df.groupby("unique_id")["ds"].size()
    eligible = df[df["unique_id"].isin(lengths[lengths >= backtest_length(settings)].index)]
    if eligible.empty:
        return pd.DataFrame(columns=["unique_id", "ds", "cutoff", "y"])
    sf = StatsForecast(models=candidates(settings), freq="D", n_jobs=1,
                       fallback_model=SeasonalNaive(season_length=settings.season_length))
    return sf.cross_validation(df=eligible[["unique_id", "ds", "y"]], h=settings.horizon_days,
                               step_size=settings.backtest_step_days, n_windows=settings.backtest_windows)


def score_backtest(cv: pd.DataFrame, metric: str = "mae") -> tuple[pd.DataFrame, pd.Series]:
    """Per series and model: MAE and sMAPE of daily values and the absolute % error of each
    window's 30-day total (averaged over windows). Returns (errors, chosen model per series):
    the model with the lowest `metric`, the baseline on ties."""
    models = [c for c in cv.columns if c not in ("unique_id", "ds", "cutoff", "y") and "-lo-" not in c and "-hi-" not in c]
    if cv.empty or not models:  # no series long enough to backtest: every series falls back, flagged
        return (pd.DataFrame({"unique_id": pd.Series(dtype="object"), "mae": pd.Series(dtype="float64"),
                              "smape": pd.Series(dtype="float64"), "total_ape": pd.Series(dtype="float64"),
                              "model": pd.Series(dtype="object")}),
                pd.Series(dtype="object", name="model", index=pd.Index([], name="unique_id", dtype="object")))
    rows = []
    for model in models:
        pred = cv[model].clip(lower=0)
        err = pd.DataFrame({"unique_id": cv["unique_id"], "cutoff": cv["cutoff"], "y": cv["y"], "pred": pred})
        err["abs"] = (err["pred"] - err["y"]).abs()
        denom = err["pred"].abs() + err["y"].abs()
        err["smape"] = np.where(denom > 0, 2 * err["abs"] / denom.where(denom > 0, 1), 0.0)
        windows = err.groupby(["unique_id", "cutoff"]).agg(y=("y", "sum"), pred=("pred", "sum"))
        windows["total_ape"] = np.where(windows["y"] > 0, (windows["pred"] - windows["y"]).abs() / windows["y"].where(windows["y"] > 0, 1), np.nan)
        per = err.groupby("unique_id").agg(mae=("abs", "mean"), smape=("smape", "mean"))
        per["total_ape"] = windows.groupby("unique_id")["total_ape"].mean()
        rows.append(per.assign(model=model).reset_index())
    errors = pd.concat(rows, ignore_index=True)
    # lowest error wins; the baseline first among equals (a model must beat it, not tie it)
    order = errors.assign(is_baseline=errors["model"] != BASELINE).sort_values(["unique_id", metric, "is_baseline"])
    choice = order.groupby("unique_id").head(1).set_index("unique_id")["model"]
    return errors, choice


def forecast_series(df: pd.DataFrame, choice: pd.Series, errors: pd.DataFrame, settings: ForecastSettings) -> pd.DataFrame:
    """The chosen model's forecast for every series (the baseline, flagged, where the series was too
    short to backtest; Naive where it is shorter than a season), with 80/95 % intervals and the
    backtest error of the model that made it and of the baseline."""
    s = settings.season_length
    lengths = df.groupby("unique_id")["ds"].size()
    frames = []
    long_enough = df[df["unique_id"].isin(lengths[lengths >= s].index)][["unique_id", "ds", "y"]]
    if not long_enough.empty:
        sf = StatsForecast(models=candidates(settings), freq="D", n_jobs=1, fallback_model=SeasonalNaive(season_length=s))
        frames.append(sf.forecast(df=long_enough, h=settings.horizon_days, level=list(settings.levels)))
    short = df[df["unique_id"].isin(lengths[lengths < s].index)][["unique_id", "ds", "y"]]
    if not short.empty:
        naive = StatsForecast(models=[Naive(alias=BASELINE)], freq="D", n_jobs=1)
        frames.append(naive.forecast(df=short, h=settings.horizon_days, level=list(settings.levels)))
    wide = pd.concat(frames, ignore_index=True)
    out = []
    for uid, g in wide.groupby("unique_id", sort=True):
        model = choice.get(uid, BASELINE)
        cols = {"mean": model, **{f"lo_{lv}": f"{model}-lo-{lv}" for lv in settings.levels},
                **{f"hi_{lv}": f"{model}-hi-{lv}" for lv in settings.levels}}
        part = pd.DataFrame({"unique_id": uid, "ds": g["ds"].to_numpy(), "model": model,
                             "is_fallback": uid not in choice.index})
        for name, col in cols.items():
            part[name] = g[col].to_numpy().clip(min=0) if col in g else np.nan  # spend is never negative
        out.append(part)
    fc = pd.concat(out, ignore_index=True)
    chosen_err = errors.merge(choice.rename("model").reset_index(), on=["unique_id", "model"])
    base_err = errors[errors["model"] == BASELINE].set_index("unique_id")
    fc = fc.merge(chosen_err[["unique_id", "total_ape", "smape"]].rename(
        columns={"total_ape": "backtest_monthly_total_mape", "smape": "backtest_daily_smape"}), on="unique_id", how="left")
    fc["baseline_monthly_total_mape"] = fc["unique_id"].map(base_err["total_ape"])
    fc["baseline_daily_smape"] = fc["unique_id"].map(base_err["smape"])
    keys = df.drop_duplicates("unique_id").set_index("unique_id")[["team", "service_name"]]
    return fc.join(keys, on="unique_id")


def month_end_projection(df: pd.DataFrame, forecast: pd.DataFrame, level: int = 95) -> pd.DataFrame:
    """Per team (and the total): spend so far this month + the forecast to the month's end. The
    interval adds the daily half-widths in quadrature (days taken as independent)."""
    last = df["ds"].max()
    month_start = last.replace(day=1)
    month_end = month_start + pd.offsets.MonthEnd(0)
    teams = df[df["service_name"].isna()]
    actual = teams[teams["ds"] >= month_start].groupby("unique_id")["y"].sum()
    fc = forecast[(forecast["ds"] > last) & (forecast["ds"] <= month_end) & forecast["unique_id"].isin(teams["unique_id"])]
    rest = fc.groupby("unique_id")["mean"].sum().rename("forecast_remaining")
    half = (fc[f"hi_{level}"] - fc["mean"]).pow(2).groupby(fc["unique_id"]).sum().pow(0.5)
    out = pd.DataFrame({"actual_to_date": actual}).join(rest, how="outer").fillna(0.0)
    out["projected_total"] = out["actual_to_date"] + out["forecast_remaining"]
    out["projected_lo"] = (out["projected_total"] - half.reindex(out.index).fillna(0)).clip(lower=out["actual_to_date"])
    out["projected_hi"] = out["projected_total"] + half.reindex(out.index).fillna(0)
    out["interval_level"] = level
    out = out.reset_index().rename(columns={"index": "unique_id"})
    out["team"] = out["unique_id"].map(lambda u: None if u == TOTAL else u.split("=", 1)[1])
    out["month"] = month_start.strftime("%Y-%m")
    out["data_through"] = last
    return out
