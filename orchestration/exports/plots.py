"""Charts for the exports folder and the Dagster UI: plain functions from frames to a matplotlib
Figure (inspectable in tests) and to PNG bytes (deterministic: same input, same bytes).

No pyplot: every figure is a standalone `matplotlib.figure.Figure` rendered by the Agg canvas,
so nothing global is touched and nothing has to be closed."""

from __future__ import annotations

import base64
import io

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter

# Categories whose "savings" are dollars at risk (the projected budget overrun, the anomaly's
# excess spend), not a saving an action books: drawn apart so they are not read as savings.
AT_RISK_CATEGORIES = ("budget_alert", "spend_anomaly")
UNTAGGED = "(untagged)"
DPI = 100


def dollars(x: float, _pos=None) -> str:
    """$1,234 / $12.3k / $1.2M for axes and labels."""
    a = abs(x)
    if a >= 1e6:
        return f"${x / 1e6:,.1f}M"
    if a >= 1e4:
        return f"${x / 1e3:,.1f}k"
    return f"${x:,.0f}"


DOLLARS = FuncFormatter(dollars)


def figure_png(fig: Figure, dpi: int = DPI) -> bytes:
    """PNG bytes of a figure with no timestamp or software tag, so equal input gives equal bytes."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    return buf.getvalue()


def png_markdown(png: bytes, alt: str) -> str:
    """The PNG inline as Markdown (a data URI), as Dagster's UI renders it in asset metadata."""
    return f"![{alt}](data:image/png;base64,{base64.b64encode(png).decode()})"


def _empty(fig: Figure, ax, message: str) -> Figure:
    ax.axis("off")
    ax.text(0.5, 0.5, message, ha="center", va="center", fontsize=12, transform=ax.transAxes)
    return fig


def savings_by_category(recs: pd.DataFrame) -> pd.DataFrame:
    """recommendations (category, estimated_monthly_savings_usd; one row per recommendation) ->
    category, recommendations, monthly_usd, at_risk; largest dollars first (then by name)."""
    if recs.empty:
        return pd.DataFrame({"category": pd.Series(dtype="object"), "recommendations": pd.Series(dtype="int64"),
                             "monthly_usd": pd.Series(dtype="float64"), "at_risk": pd.Series(dtype="bool")})
    g = (recs.assign(usd=pd.to_numeric(recs["estimated_monthly_savings_usd"], errors="coerce").astype(float).fillna(0.0))
         .groupby("category", sort=True).agg(recommendations=("category", "size"), monthly_usd=("usd", "sum")).reset_index())
    g["at_risk"] = g["category"].isin(AT_RISK_CATEGORIES)
    return g.sort_values(["monthly_usd", "category"], ascending=[False, True], kind="mergesort").reset_index(drop=True)


def savings_by_category_figure(recs: pd.DataFrame) -> Figure:
    """Horizontal bars: estimated monthly savings per recommendation category, each labelled with
    its dollars and how many recommendations make it up; dollars at risk (budget overruns, spend
    anomalies) in a second colour, not added to the savings total."""
    agg = savings_by_category(recs)
    fig = Figure(figsize=(10, 1.6 + 0.55 * max(len(agg), 2)), layout="constrained")
    ax = fig.subplots()
    if agg.empty:
        ax.set_title("Estimated monthly savings by recommendation category")
        return _empty(fig, ax, "no open recommendations")
    plot = agg.iloc[::-1]  # largest at the top
    colors = ["tab:orange" if r else "tab:green" for r in plot["at_risk"]]
    bars = ax.barh(plot["category"], plot["monthly_usd"], color=colors)
    top = float(plot["monthly_usd"].max()) or 1.0
    for bar, (_, row) in zip(bars, plot.iterrows()):
        n = int(row["recommendations"])
        ax.text(bar.get_width() + top * 0.01, bar.get_y() + bar.get_height() / 2,
                f"{dollars(row['monthly_usd'])}/mo · {n} rec{'s' if n != 1 else ''}", va="center", fontsize=9)
    ax.set_xlim(0, top * 1.3)
    ax.xaxis.set_major_formatter(DOLLARS)
    ax.set_xlabel("estimated savings, $ per month")
    ax.set_ylabel("recommendation category")
    savings = agg.loc[~agg["at_risk"], "monthly_usd"].sum()
    ax.set_title(f"Estimated monthly savings by recommendation category\n{dollars(savings)}/mo "
                 f"across {int(agg.loc[~agg['at_risk'], 'recommendations'].sum())} recommendations")
    handles = [Patch(color="tab:green", label="savings if applied")]
    if agg["at_risk"].any():
        handles.append(Patch(color="tab:orange", label="dollars at risk (budget overrun, anomaly); not in the total"))
    ax.legend(handles=handles, loc="lower right", fontsize=8)
    ax.grid(axis="x", alpha=0.3)
    return fig


def savings_by_category_png(recs: pd.DataFrame) -> bytes:
    return figure_png(savings_by_category_figure(recs))


def spend_by_team(daily: pd.DataFrame, max_teams: int = 8, weekly_after_days: int = 92) -> tuple[pd.DataFrame, str]:
    """daily (usage_date, team, effective_cost; any rows per key) -> a wide frame (index: day or
    week start, one column per team, largest total first; beyond `max_teams` summed as "other
    teams") and the period: "day", or "week" (mean daily spend of each week, so a partial first or
    last week is not drawn low) when the data spans more than `weekly_after_days`."""
    if daily.empty:
        return pd.DataFrame(), "day"
    d = daily.assign(usage_date=pd.to_datetime(daily["usage_date"]),
                     team=daily["team"].fillna(UNTAGGED),
                     effective_cost=pd.to_numeric(daily["effective_cost"], errors="coerce").astype(float).fillna(0.0))
    wide = d.pivot_table(index="usage_date", columns="team", values="effective_cost", aggfunc="sum", fill_value=0.0)
    wide = wide.reindex(pd.date_range(wide.index.min(), wide.index.max(), freq="D"), fill_value=0.0)
    order = sorted(wide.columns, key=lambda t: (-wide[t].sum(), str(t)))
    wide = wide[order]
    if len(order) > max_teams:
        keep = order[:max_teams - 1]
        wide = wide[keep].assign(**{"other teams": wide[order[max_teams - 1:]].sum(axis=1)})
    period = "day"
    if (wide.index.max() - wide.index.min()).days + 1 > weekly_after_days:
        wide = wide.resample("W-MON", label="left", closed="left").mean()
        period = "week"
    wide.columns = [str(c) for c in wide.columns]
    return wide, period


def spend_by_team_figure(daily: pd.DataFrame, max_teams: int = 8) -> Figure:
    """Stacked area of amortised (effective) spend by team over time, untagged spend in grey."""
    wide, period = spend_by_team(daily, max_teams=max_teams)
    fig = Figure(figsize=(12, 5.5), layout="constrained")
    ax = fig.subplots()
    if wide.empty:
        ax.set_title("Amortised spend by team")
        return _empty(fig, ax, "no spend loaded")
    palette = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown", "tab:pink", "tab:olive", "tab:cyan")
    colors, i = [], 0
    for team in wide.columns:
        if team == UNTAGGED:
            colors.append("lightgrey")
        elif team == "other teams":
            colors.append("dimgrey")
        else:
            colors.append(palette[i % len(palette)])
            i += 1
    ax.stackplot(wide.index, *[wide[c].to_numpy() for c in wide.columns], labels=list(wide.columns), colors=colors, alpha=0.9)
    ax.yaxis.set_major_formatter(DOLLARS)
    ax.set_ylabel("amortised spend, $ per day" + (" (weekly average)" if period == "week" else ""))
    ax.set_xlabel("week starting" if period == "week" else "usage day (UTC)")
    ax.set_xlim(wide.index.min(), wide.index.max())
    ax.set_ylim(bottom=0)
    total = wide.sum(axis=1)
    ax.set_title(f"Amortised (effective) spend by team, {wide.index.min():%Y-%m-%d} to {wide.index.max():%Y-%m-%d}; "
                 f"peak {dollars(float(total.max()))}/day")
    # legend in the stacking order, top band first
    handles, labels = ax.get_legend_handles_labels()
    ax.legend(handles[::-1], labels[::-1], title="team", loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=9)
    ax.grid(axis="y", alpha=0.3)
    return fig


def spend_by_team_png(daily: pd.DataFrame, max_teams: int = 8) -> bytes:
    return figure_png(spend_by_team_figure(daily, max_teams=max_teams))
