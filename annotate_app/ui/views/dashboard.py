"""Dashboard (admin): is the data good, is the money well spent.

All numbers come from ``analytics.dashboard.load_dashboard`` in one call; this page only lays them
out. The downloads live on the Data page, with the export's rules.
"""

from __future__ import annotations

from datetime import date

import streamlit as st

from annotate_app.active.bandit import leader_line, project_standings
from annotate_app.analytics import figures
from annotate_app.analytics.dashboard import headline, load_dashboard, reward_model_accuracy
from annotate_app.labels.sources import SOURCES
from annotate_app.store import Store
from annotate_app.store.analytics import LabelFilter
from annotate_app.ui import common


def _filters(store: Store) -> LabelFilter:
    options = store.filter_options()
    with st.expander("Filters", expanded=False):
        left, mid, right = st.columns(3)
        start, end = options["start"] or date.today(), options["end"] or date.today()
        span = left.date_input("Date range", value=(start, end), key="dash-dates")
        annotators = mid.multiselect("Annotators", options["annotators"], key="dash-annotators")
        sources = right.multiselect("Sources", list(SOURCES), key="dash-sources")
        categories = left.multiselect("Prompt category", options["categories"], key="dash-cats")
    first, last = (tuple(span) + (None, None))[:2] if isinstance(span, tuple) else (span, None)
    return LabelFilter(
        start=first,
        end=last,
        annotators=tuple(annotators),
        sources=tuple(sources),
        categories=tuple(categories),
    )


def render() -> None:
    common.require_admin()
    store = common.store()
    st.title("Dashboard")
    flt = _filters(store)
    data = load_dashboard(store, flt)
    tiles = headline(data)
    cols = st.columns(4)
    cols[0].metric("Labels", tiles["labels"])
    cols[1].metric("Human annotators", tiles["annotators"])
    cols[2].metric(
        "Krippendorff's alpha", "-" if tiles["alpha"] is None else f"{tiles['alpha']:.2f}"
    )
    cols[3].metric("Pairs with 2+ raters", tiles["overlap_pairs"])

    st.subheader("Labels")
    st.plotly_chart(figures.labels_over_time(data.over_time), key="fig-time")
    st.plotly_chart(figures.annotator_throughput(data.throughput), key="fig-throughput")

    st.subheader("Agreement")
    left, right = st.columns(2)
    left.plotly_chart(figures.kappa_heatmap(data.agreement.kappas), key="fig-kappa")
    right.plotly_chart(figures.gold_accuracy(data.agreement.gold), key="fig-gold")
    left.plotly_chart(figures.judge_agreement(data.agreement.judges), key="fig-judge")
    right.plotly_chart(figures.reliability_diagram(data.agreement.reliability), key="fig-rel")
    if not data.agreement.judges.empty:
        st.dataframe(data.agreement.judges, hide_index=True, key="tbl-judges")

    st.subheader("Reward model")
    accuracy = reward_model_accuracy(data.learning_curve)
    if accuracy["heldout_accuracy"] is not None:
        left, right = st.columns(2)
        left.metric(
            "Held-out accuracy (active model)",
            f"{accuracy['heldout_accuracy']:.1%}",
            help=None
            if accuracy["head"] is None
            else f"Head: {accuracy['head']}, chosen by cross-validation on the training labels "
            f"({accuracy['head_reason']}).",
        )
        if accuracy["head"] is not None:
            left.caption(f"Head: {accuracy['head']}")
        if accuracy["heldout_accuracy_with_judge"] is not None:
            right.metric(
                "Held-out accuracy with the judge's verdicts",
                f"{accuracy['heldout_accuracy_with_judge']:.1%}",
                help=f"{accuracy['n_with_verdict']} of the held-out pairs have a verdict; the "
                "others keep the reward model's probability. "
                + (
                    "The scores of judged pairs use it: on the training labels it beat the model "
                    "without the judges."
                    if accuracy["judge_stack_used"]
                    else "Not used for scores: on the training labels it did not beat the model "
                    "without the judges."
                ),
            )
    st.plotly_chart(figures.learning_curve(data.learning_curve), key="fig-learning")
    auto = project_standings(store)
    if auto is not None:
        st.caption(leader_line(auto))
        st.dataframe(auto.drop(columns="measured_rounds"), hide_index=True, key="tbl-auto")

    st.subheader("Routing and spend")
    left, right = st.columns(2)
    left.plotly_chart(figures.routing_mix(data.routes), key="fig-routes")
    right.plotly_chart(figures.spend_vs_budget(data.spend), key="fig-spend")

    st.caption(
        "Downloads (the preference dataset, the audit log, reward models) are on the Data page."
    )
