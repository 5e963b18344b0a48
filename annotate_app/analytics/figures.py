"""Plotly figures for the dashboard and the leaderboard, each from one pre-aggregated frame.

Each function returns a figure even for an empty frame (with a note saying what is missing), so a
page never has to special-case a young project.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

SOURCE_COLORS = {"human": "#1f77b4", "ai": "#ff7f0e", "import": "#7f7f7f"}
ROUTE_COLORS = {"human": "#1f77b4", "ai": "#ff7f0e", "hold": "#bcbd22"}


def _empty(title: str, note: str) -> go.Figure:
    fig = go.Figure()
    fig.update_layout(title=title, xaxis_visible=False, yaxis_visible=False, height=300)
    fig.add_annotation(text=note, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
    return fig


def labels_over_time(frame: pd.DataFrame) -> go.Figure:
    title = "Labels per day by source"
    if frame.empty:
        return _empty(title, "no labels yet")
    fig = go.Figure()
    for source, part in frame.groupby("source"):
        fig.add_bar(
            x=part["day"], y=part["labels"], name=source, marker_color=SOURCE_COLORS.get(source)
        )
    fig.update_layout(title=title, barmode="stack", xaxis_title="day", yaxis_title="labels")
    return fig


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
    fig.update_yaxes(title_text="labels", secondary_y=False)
    fig.update_yaxes(title_text="median seconds", secondary_y=True)
    return fig


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
    text = grid.round(2).astype(str) + "<br>n=" + counts.astype(str)
    fig = go.Figure(
        go.Heatmap(
            z=grid.to_numpy(),
            x=names,
            y=names,
            zmin=-1,
            zmax=1,
            colorscale="RdBu",
            text=text.where(grid.notna(), "").to_numpy(),
            texttemplate="%{text}",
            colorbar_title="kappa",
        )
    )
    fig.update_layout(title=title)
    return fig


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


def judge_agreement(judges: pd.DataFrame) -> go.Figure:
    title = "Judge agreement with the human majority"
    if judges.empty:
        return _empty(title, "no judge verdict on a human-labeled pair yet")
    fig = go.Figure()
    fig.add_bar(x=judges["judge"], y=judges["agreement"], name="agreement")
    fig.add_bar(x=judges["judge"], y=judges["kappa"], name="kappa")
    fig.update_layout(title=title, barmode="group", yaxis_range=[-1, 1])
    return fig


def reliability_diagram(points: pd.DataFrame) -> go.Figure:
    title = "Judge reliability: p_a against how often humans chose A"
    if points.empty:
        return _empty(title, "no judge probabilities on human-labeled pairs yet")
    fig = go.Figure()
    fig.add_scatter(x=[0, 1], y=[0, 1], mode="lines", name="perfect", line_dash="dot")
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


def learning_curve(versions: pd.DataFrame) -> go.Figure:
    title = "Reward model: held-out accuracy and log-loss against labels used"
    versions = versions.dropna(subset=["n_labels"]) if not versions.empty else versions
    if versions.empty:
        return _empty(title, "no reward model trained yet")
    versions = versions.sort_values("n_labels")
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_scatter(
        x=versions["n_labels"],
        y=versions["heldout_accuracy"],
        name="held-out accuracy",
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
    fig.update_layout(title=title, xaxis_title="labels used")
    fig.update_yaxes(title_text="accuracy", secondary_y=False)
    fig.update_yaxes(title_text="log-loss", secondary_y=True)
    return fig


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


def spend_vs_budget(summary: dict | None) -> go.Figure:
    title = "Spend"
    if not summary:
        return _empty(title, "no cost settings (set them on the routing page)")
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


def battles_per_model(ratings: pd.DataFrame) -> go.Figure:
    title = "Battles per model"
    if ratings.empty:
        return _empty(title, "no battles between named models yet")
    fig = go.Figure()
    for column in ("wins", "ties", "losses"):
        fig.add_bar(x=ratings["model"], y=ratings[column], name=column)
    fig.update_layout(title=title, barmode="stack")
    return fig
