"""Model leaderboard (admin): Bradley-Terry ratings of the responses' models, Chatbot Arena style,
with the position bias of the humans and of the judge beside them."""

from __future__ import annotations

import streamlit as st

from annotate_app.analytics import figures
from annotate_app.analytics.leaderboard import LeaderboardConfig, leaderboard
from annotate_app.export.files import csv_bytes
from annotate_app.store.labels import SOURCES
from annotate_app.ui import common

SOURCE_CHOICES = {"Humans and AI (all)": "all", **{s: s for s in SOURCES}}


def _bias_line(rate: float | None, low: float | None, high: float | None, n: int) -> str:
    if rate is None:
        return "no decided labels with a recorded side yet"
    interval = f"95% CI {low:.1%} to {high:.1%}, " if low is not None and high is not None else ""
    return f"{rate:.1%} ({interval}n={n}); 50% means no bias"


def render() -> None:
    common.require_admin()
    store = common.store()
    st.title("Model leaderboard")
    label = st.radio("Label source", list(SOURCE_CHOICES), horizontal=True, key="lb-source")
    rounds = st.select_slider("Bootstrap rounds", [50, 100, 200, 500], value=200, key="lb-rounds")
    config = LeaderboardConfig(source=SOURCE_CHOICES[label], bootstrap_rounds=rounds)
    board = leaderboard(store, config)
    if board.ratings.empty:
        st.info(
            "No battles yet. The leaderboard needs labels on pairs whose two responses carry "
            "different model names."
        )
    else:
        st.caption(
            "Rank follows Chatbot Arena: 1 + the number of models whose lower 95% bound is above "
            "this model's upper bound, so models the data cannot tell apart share a rank. "
            f"'few battles' marks models with fewer than {config.min_battles} battles; "
            "'unranked' marks an interval that overlaps every other model's."
        )
        st.dataframe(
            board.ratings,
            hide_index=True,
            key="lb-table",
            column_config={
                c: st.column_config.NumberColumn(format="%.0f")
                for c in ("rating", "ci_low", "ci_high")
            }
            | {
                "few_battles": st.column_config.CheckboxColumn("few battles"),
                "unranked": st.column_config.CheckboxColumn("unranked"),
            },
        )
        for note in board.notes():
            st.warning(note)
        st.download_button(
            "Download ratings (CSV)",
            data=csv_bytes(board.ratings),
            file_name="leaderboard.csv",
            key="lb-download",
            on_click="ignore",
        )
    st.plotly_chart(figures.ratings_chart(board.ratings), key="lb-ratings")
    left, right = st.columns(2)
    left.plotly_chart(figures.win_rate_heatmap(board.win_rate), key="lb-winrate")
    right.plotly_chart(figures.battles_per_model(board.ratings), key="lb-battles")

    st.subheader("Position bias")
    human = board.human_position
    st.markdown(
        "**Humans**, how often the response shown on the left won: "
        + _bias_line(human["left_win_rate"], human["ci_low"], human["ci_high"], human["n"])
    )
    if not board.judge_position:
        st.markdown("**Judges**: no verdict with raw per-order readings yet.")
    for judge, bias in board.judge_position.items():
        st.markdown(
            f"**Judge `{judge}`**, how often it prefers the response shown first (before "
            "debiasing): "
            + _bias_line(bias["first_position_rate"], bias["ci_low"], bias["ci_high"], bias["n"])
        )
