"""The charts of the exports folder: savings by recommendation category, spend by team, the forecast
fan per team. Each is a PNG, non-trivial, byte-identical for the same input, and labelled."""

import numpy as np
import pandas as pd

from orchestration.exports import plots
from orchestration.ml.pipeline import forecast_figure, forecast_plot_png, png_markdown

PNG = b"\x89PNG\r\n\x1a\n"


def _texts(fig) -> str:
    """Every piece of text drawn on a figure: titles, labels, tick labels, legends, annotations."""
    plots.figure_png(fig)  # tick labels are filled in when the figure is drawn
    out = [t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text"))]
    return "\n".join(out)


def recs() -> pd.DataFrame:
    return pd.DataFrame({
        "category": ["idle_pause", "idle_pause", "idle_pause", "rightsize_gpu", "rightsize_gpu", "budget_alert", "storage_tiering"],
        "estimated_monthly_savings_usd": [1200.0, 800.0, 50.5, 3000.0, 2500.0, 9000.0, None],
    })


def daily(days: int, teams=("nlp", "vision", None)) -> pd.DataFrame:
    rows = []
    for i, day in enumerate(pd.date_range("2026-07-01", periods=days)):
        for j, team in enumerate(teams):
            rows.append({"usage_date": day.date(), "team": team, "effective_cost": 100.0 * (j + 1) + i % 7})
    return pd.DataFrame(rows)


def test_savings_by_category_sums_counts_and_keeps_dollars_at_risk_apart():
    agg = plots.savings_by_category(recs()).set_index("category")
    assert agg.loc["idle_pause", "recommendations"] == 3 and agg.loc["idle_pause", "monthly_usd"] == 2050.5
    assert agg.loc["rightsize_gpu", "monthly_usd"] == 5500.0
    assert agg.loc["storage_tiering", "monthly_usd"] == 0.0  # a missing estimate counts as nothing, not NaN
    assert agg["at_risk"].to_dict() == {"budget_alert": True, "idle_pause": False, "rightsize_gpu": False, "storage_tiering": False}
    assert list(plots.savings_by_category(recs())["category"])[:2] == ["budget_alert", "rightsize_gpu"]  # largest first


def test_savings_chart_is_a_deterministic_labelled_png():
    png = plots.savings_by_category_png(recs())
    assert png[:8] == PNG and len(png) > 10_000
    assert plots.savings_by_category_png(recs()) == png
    text = _texts(plots.savings_by_category_figure(recs()))
    for label in ("rightsize_gpu", "idle_pause", "$5,500/mo · 2 recs", "$2,050/mo · 3 recs", "$ per month",
                  "savings if applied", "dollars at risk"):
        assert label in text, label
    # the headline total is savings only: 5,500 + 2,050.5, not the 9,000 budget overrun
    assert "$7,550/mo across 6 recommendations" in text


def test_spend_by_team_daily_then_weekly_folds_small_teams_and_names_untagged():
    wide, period = plots.spend_by_team(daily(30))
    assert period == "day" and len(wide) == 30
    assert list(wide.columns) == ["(untagged)", "vision", "nlp"]  # largest total first; a null team is untagged
    assert abs(wide.to_numpy().sum() - daily(30)["effective_cost"].sum()) < 1e-6
    wide, period = plots.spend_by_team(daily(140))
    assert period == "week" and wide.index[0] == pd.Timestamp("2026-06-29")  # weeks start on Mondays
    # a mean of daily spend: the partial first week (Wed-Sun) is not drawn low
    assert abs(wide["nlp"].iloc[0] - np.mean([100.0 + i for i in range(5)])) < 1e-9
    many = daily(10, teams=tuple(f"team{i}" for i in range(12)))
    wide, _ = plots.spend_by_team(many, max_teams=5)
    assert list(wide.columns)[-1] == "other teams" and wide.shape[1] == 5
    assert abs(wide.to_numpy().sum() - many["effective_cost"].sum()) < 1e-6


def test_spend_by_team_chart_is_a_deterministic_labelled_png():
    png = plots.spend_by_team_png(daily(140))
    assert png[:8] == PNG and len(png) > 10_000
    assert plots.spend_by_team_png(daily(140)) == png
    text = _texts(plots.spend_by_team_figure(daily(140)))
    for label in ("nlp", "vision", "(untagged)", "team", "$ per day", "week starting", "Amortised"):
        assert label in text, label


def test_empty_inputs_still_draw_a_chart_that_says_so():
    empty = pd.DataFrame({"category": [], "estimated_monthly_savings_usd": []})
    assert plots.savings_by_category_png(empty)[:8] == PNG
    assert "no open recommendations" in _texts(plots.savings_by_category_figure(empty))
    assert plots.spend_by_team_png(pd.DataFrame({"usage_date": [], "team": [], "effective_cost": []}))[:8] == PNG


def _forecast_frames():
    days = pd.date_range("2026-09-01", periods=90)
    series, fc = [], []
    future = pd.date_range(days[-1] + pd.Timedelta(days=1), periods=30)
    for uid, level in (("total", 600.0), ("team=nlp", 400.0), ("team=vision", 200.0), ("team=nlp|service=EC2", 400.0)):
        series.append(pd.DataFrame({"unique_id": uid, "ds": days, "y": level + 10 * np.sin(np.arange(90))}))
        fc.append(pd.DataFrame({"unique_id": uid, "ds": future, "model": "ETS", "mean": level,
                                "lo_80": level * 0.9, "hi_80": level * 1.1, "lo_95": level * 0.8, "hi_95": level * 1.2}))
    return pd.concat(series, ignore_index=True), pd.concat(fc, ignore_index=True)


def test_forecast_fan_has_one_panel_per_team_with_both_intervals():
    series, fc = _forecast_frames()
    fig = forecast_figure(series, fc)
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == ["all teams (total)", "team nlp", "team vision"]  # team x service series are not drawn
    text = _texts(fig)
    for label in ("80 % interval", "95 % interval", "actual", "forecast (ETS)", "$ per day", "30-day forecast"):
        assert label in text, label
    png = forecast_plot_png(series, fc)
    assert png[:8] == PNG and len(png) > 20_000 and forecast_plot_png(series, fc) == png
    assert png_markdown(png).startswith("![spend forecast](data:image/png;base64,iVBORw0KGgo")
