"""Plotly figures for the dashboard, the leaderboard and the judge page, each from one
pre-aggregated frame.

Each function returns a figure even for an empty frame (with a note saying what is missing), so a
page never has to special-case a young project. Every figure passes through ``data_as_text``:
plotly renders a subset of HTML (links, bold, line breaks) in names, tick labels and text, so every
string that came from the data is escaped there, and a model or account named
``<a href=...>`` shows as those characters, never as a link. Markup of our own lives only in
templates and titles, which are not data.
"""

from __future__ import annotations

import functools
import html
import math
from collections.abc import Callable

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

SOURCE_COLORS = {"human": "#1f77b4", "ai": "#ff7f0e", "import": "#7f7f7f"}
ROUTE_COLORS = {"human": "#1f77b4", "ai": "#ff7f0e", "hold": "#bcbd22"}
_DAY_MS = 86_400_000  # plotly's date axes count in milliseconds
_DAILY_TICKS_UP_TO = 14  # days of span with one tick per day; longer spans tick on their own


# Trace attributes that carry data strings plotly would render as HTML.
_DATA_TEXT = ("name", "x", "y", "labels", "text", "hovertext", "customdata", "legendgroup")


def _plain(value):
    if isinstance(value, str):
        return html.escape(value, quote=False)
    if isinstance(value, np.ndarray) and value.dtype.kind not in "OUS":
        return value  # numbers and dates carry no markup
    if isinstance(value, tuple | list | np.ndarray):
        return [_plain(v) for v in value]
    return value


def data_as_text(build: Callable[..., go.Figure]) -> Callable[..., go.Figure]:
    """Escape every data string of the figure's traces (the one place this happens)."""

    @functools.wraps(build)
    def wrapper(*args, **kwargs) -> go.Figure:
        fig = build(*args, **kwargs)
        for trace in fig.data:
            for attr in _DATA_TEXT:
                if attr in trace and trace[attr] is not None:
                    trace[attr] = _plain(trace[attr])
        return fig

    return wrapper


def _empty(title: str, note: str) -> go.Figure:
    fig = go.Figure()
    fig.update_layout(title=title, xaxis_visible=False, yaxis_visible=False, height=300)
    fig.add_annotation(text=note, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
    return fig


@data_as_text
def labels_over_time(frame: pd.DataFrame) -> go.Figure:
    title = "Labels per day by source"
    if frame.empty:
        return _empty(title, "no labels yet")
    fig = go.Figure()
    for source, part in frame.groupby("source"):
        fig.add_bar(
            x=part["day"],
            y=part["labels"],
            name=source,
            marker_color=SOURCE_COLORS.get(source),
            width=0.8 * _DAY_MS,
        )
    fig.update_layout(title=title, barmode="stack", xaxis_title="day", yaxis_title="labels")
    days = pd.to_datetime(frame["day"])
    first, last = days.min(), days.max()
    # A young project has labels on a few days; left to itself plotly then zooms to hours or
    # milliseconds. Whole days, with a day's margin, read right at any span.
    fig.update_xaxes(
        type="date",
        tickformat="%b %d\n%Y",
        range=[first - pd.Timedelta(days=1), last + pd.Timedelta(days=1)],
    )
    if (last - first).days < _DAILY_TICKS_UP_TO:
        fig.update_xaxes(dtick=_DAY_MS, tick0=first)
    if frame.groupby("day")["labels"].sum().max() < 10:
        fig.update_yaxes(dtick=1)  # counts: no 0.2-label ticks
    return fig


@data_as_text
def annotator_throughput(frame: pd.DataFrame) -> go.Figure:
    title = "Annotator throughput and median seconds per label"
    humans = frame[frame["source"] == "human"] if not frame.empty else frame
    if humans.empty:
        return _empty(title, "no human labels yet")
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_bar(x=humans["annotator"], y=humans["labels"], name="labels")
    fig.add_scatter(
        x=humans["annotator"],
        y=humans["median_seconds"],
        name="median s / label",
        mode="markers",
        marker_size=12,
        secondary_y=True,
    )
    fig.update_layout(title=title)
    # Both axes start at 0: a 0.1 s difference between annotators must look like one.
    fig.update_yaxes(title_text="labels", rangemode="tozero", secondary_y=False)
    fig.update_yaxes(title_text="median seconds", rangemode="tozero", secondary_y=True)
    return fig


@data_as_text
def kappa_heatmap(kappas: pd.DataFrame) -> go.Figure:
    title = "Cohen's kappa per annotator pair (overlapping pairs)"
    if kappas.empty:
        return _empty(title, "no pair has two human labels yet")
    both_ways = pd.concat(
        [
            kappas,
            kappas.rename(columns={"annotator_1": "annotator_2", "annotator_2": "annotator_1"}),
        ]
    )
    names = sorted(set(both_ways["annotator_1"]))
    grid = both_ways.pivot(index="annotator_1", columns="annotator_2", values="kappa")
    grid = grid.reindex(index=names, columns=names).astype(float)
    counts = both_ways.pivot(index="annotator_1", columns="annotator_2", values="n_pairs")
    counts = counts.reindex(index=names, columns=names).fillna(0).astype(int)
    text = ("n=" + counts.astype(str)).where(grid.notna(), "")
    fig = go.Figure(
        go.Heatmap(
            z=grid.to_numpy(),
            x=names,
            y=names,
            zmin=-1,
            zmax=1,
            colorscale="RdBu",
            text=text.to_numpy(),
            texttemplate="%{z:.2f}<br>%{text}",
            colorbar_title="kappa",
        )
    )
    fig.update_layout(title=title)
    return fig


@data_as_text
def gold_accuracy(gold: pd.DataFrame) -> go.Figure:
    title = "Gold accuracy per annotator"
    if gold.empty:
        return _empty(title, "no human label on a gold (imported) pair yet")
    fig = go.Figure(
        go.Bar(
            x=gold["annotator"],
            y=gold["accuracy"],
            text=[f"{c}/{n}" for c, n in zip(gold["correct"], gold["n_gold"], strict=True)],
        )
    )
    fig.update_layout(title=title, yaxis_range=[0, 1], yaxis_title="accuracy")
    return fig


@data_as_text
def judge_agreement(judges: pd.DataFrame) -> go.Figure:
    title = "Judge agreement with the human majority"
    if judges.empty:
        return _empty(title, "no judge verdict on a human-labeled pair yet")
    fig = go.Figure()
    for column in ("agreement", "kappa"):
        values = judges[column].astype("float64")
        # the value is printed on each bar, so an agreement of 0 (a bar of no height) still shows
        fig.add_bar(
            x=judges["judge"],
            y=values,
            name=column,
            text=["n/a" if math.isnan(v) else f"{v:.2f}" for v in values],
            textposition="outside",
        )
    fig.update_layout(title=title, barmode="group", yaxis_range=[-1.1, 1.1])
    fig.add_hline(y=0, line_width=1, line_color="grey")
    return fig


@data_as_text
def reliability_diagram(points: pd.DataFrame) -> go.Figure:
    title = "Judge reliability: p_a against how often humans chose A"
    if points.empty:
        return _empty(title, "no judge probabilities on human-labeled pairs yet")
    fig = go.Figure()
    fig.add_scatter(x=[0, 1], y=[0, 1], mode="lines", name="perfectly calibrated", line_dash="dot")
    for judge, part in points.groupby("judge"):
        fig.add_scatter(
            x=part["mean_p_a"],
            y=part["frac_a"],
            mode="lines+markers",
            name=judge,
            text=[f"n={n}" for n in part["count"]],
        )
    fig.update_layout(
        title=title,
        xaxis_title="judge p_a",
        yaxis_title="humans chose A",
        xaxis_range=[0, 1],
        yaxis_range=[0, 1],
    )
    return fig


@data_as_text
def learning_curve(versions: pd.DataFrame) -> go.Figure:
    title = "Reward model: held-out accuracy and log-loss against labels used"
    if versions.empty:
        return _empty(title, "no reward model trained yet")
    measured = versions.dropna(subset=["n_labels"]).dropna(
        subset=["heldout_accuracy", "log_loss"], how="all"
    )
    if measured.empty:
        return _empty(
            title,
            f"{len(versions)} model version(s) trained, none with held-out figures yet "
            "(too few held-out human or gold labels)",
        )
    versions = measured.sort_values("n_labels")
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_scatter(
        x=versions["n_labels"],
        y=versions["heldout_accuracy"],
        name="held-out accuracy",
        mode="lines+markers",
        text=versions["id"],
    )
    if (
        "heldout_accuracy_with_judge" in versions
        and versions["heldout_accuracy_with_judge"].notna().any()
    ):
        fig.add_scatter(
            x=versions["n_labels"],
            y=versions["heldout_accuracy_with_judge"],
            name="held-out accuracy, stacked with the judge",
            mode="lines+markers",
            text=versions["id"],
        )
    fig.add_scatter(
        x=versions["n_labels"],
        y=versions["log_loss"],
        name="log-loss",
        mode="lines+markers",
        text=versions["id"],
        secondary_y=True,
    )
    fig.update_layout(title=title, xaxis_title="labels used", xaxis_rangemode="tozero")
    fig.update_traces(marker_size=10)
    fig.update_yaxes(title_text="accuracy", range=[0, 1], secondary_y=False)
    fig.update_yaxes(title_text="log-loss", rangemode="tozero", secondary_y=True)
    return fig


@data_as_text
def routing_mix(routes: pd.DataFrame) -> go.Figure:
    title = "Routing mix"
    if routes.empty:
        return _empty(title, "no pair routed yet")
    totals = routes.groupby("route")["pairs"].sum()
    fig = go.Figure(
        go.Pie(
            labels=totals.index,
            values=totals.to_numpy(),
            marker_colors=[ROUTE_COLORS.get(r) for r in totals.index],
            hole=0.4,
        )
    )
    fig.update_layout(title=title)
    return fig


@data_as_text
def spend_vs_budget(summary: dict | None) -> go.Figure:
    title = "Spend"
    if not summary:
        return _empty(title, "no spend yet")
    fig = make_subplots(rows=1, cols=2, subplot_titles=("cost", "human labels vs budget"))
    fig.add_bar(
        x=["human", "judge"], y=[summary["human_cost"], summary["judge_cost"]], row=1, col=1
    )
    fig.add_bar(
        x=["used", "budget"],
        y=[summary["human_labels"], summary["budget_labels"]],
        marker_color=["#1f77b4", "#d3d3d3"],
        row=1,
        col=2,
    )
    fig.update_layout(title=title, showlegend=False)
    return fig


@data_as_text
def ratings_chart(ratings: pd.DataFrame) -> go.Figure:
    title = "Bradley-Terry ratings with 95% bootstrap intervals"
    if ratings.empty:
        return _empty(title, "no battles between named models yet")
    ordered = ratings.sort_values("rating")
    fig = go.Figure(
        go.Scatter(
            x=ordered["rating"],
            y=ordered["model"],
            mode="markers",
            marker_size=10,
            error_x={
                "type": "data",
                "symmetric": False,
                "array": ordered["ci_high"] - ordered["rating"],
                "arrayminus": ordered["rating"] - ordered["ci_low"],
            },
        )
    )
    fig.update_layout(title=title, xaxis_title="rating (Elo scale)")
    return fig


@data_as_text
def win_rate_heatmap(win_rate: pd.DataFrame) -> go.Figure:
    title = "Win rate of row model against column model (ties count half)"
    if win_rate.empty:
        return _empty(title, "no battles between named models yet")
    fig = go.Figure(
        go.Heatmap(
            z=win_rate.to_numpy(),
            x=list(win_rate.columns),
            y=list(win_rate.index),
            zmin=0,
            zmax=1,
            colorscale="RdBu",
            texttemplate="%{z:.2f}",
            colorbar_title="win rate",
        )
    )
    fig.update_layout(title=title, yaxis_autorange="reversed")
    return fig


@data_as_text
def battles_per_model(ratings: pd.DataFrame) -> go.Figure:
    title = "Battles per model"
    if ratings.empty:
        return _empty(title, "no battles between named models yet")
    fig = go.Figure()
    for column in ("wins", "ties", "losses"):
        fig.add_bar(x=ratings["model"], y=ratings[column], name=column)
    fig.update_layout(title=title, barmode="stack")
    return fig
