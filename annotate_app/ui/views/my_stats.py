"""An annotator's own numbers: progress, gold accuracy, agreement with the other people, speed over
time and a day-by-day view with the current streak. Nothing here shows anyone else's labels: the
agreement is one figure over the pairs this annotator shared with others."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from annotate_app.analytics.agreement import gold_accuracy
from annotate_app.analytics.annotator import agreement_with_others, labels_by_day, streak
from annotate_app.annotation import assignment as queue
from annotate_app.ui import common

DAYS_SHOWN = 28  # the day-by-day view: four weeks up to today

who = common.require_account()
store = common.store()
done = queue.progress(store, who.name)
st.title("My stats")
cols = st.columns(3)
cols[0].metric("Labeled today", done.done_today)
cols[1].metric("Labeled in total", done.done_total)
cols[2].metric("Left in my queue", done.left)

events = store.label_events(who.name)
events = events[events["source"] == "human"]
days = labels_by_day(events)
today = dt.date.today()
votes = store.overlap_votes()
gold = gold_accuracy(votes)
gold = gold[gold["annotator"] == who.name]
agree = agreement_with_others(votes, who.name)

a, b, c, d = st.columns(4)
if gold.empty:
    a.metric("Gold accuracy", "–", help="No gold pairs labeled yet.")
else:
    row = gold.iloc[0]
    a.metric(
        "Gold accuracy",
        f"{row['accuracy']:.0%}",
        help=f"{int(row['correct'])} of {int(row['n_gold'])} pairs with a known answer.",
    )
b.metric(
    "Agreement with others",
    "–" if agree.rate is None else f"{agree.rate:.0%}",
    help=(
        "No pair you labeled has been decided by someone else yet."
        if agree.rate is None
        else f"You matched the other people's decision on {agree.matched} of {agree.n_pairs} "
        f"shared pairs (95% interval {agree.ci_low:.0%}–{agree.ci_high:.0%})."
    ),
)
labeled = events[events["kind"] == "label"]
c.metric(
    "Median seconds per label",
    "–" if labeled["latency_ms"].dropna().empty else f"{labeled['latency_ms'].median() / 1000:.1f}",
)
d.metric(
    "Streak",
    f"{streak(days['day'], today)} days",
    help="Days in a row with at least one label, up to today.",
)

if days.empty:
    st.info("Your figures by day appear here after your first label.")
else:
    window = pd.date_range(today - dt.timedelta(days=DAYS_SHOWN - 1), today).date
    per_day = days.set_index("day").reindex(window)
    per_day.index = pd.to_datetime(per_day.index)
    left, right = st.columns(2)
    with left:
        st.subheader("Labels per day")
        st.bar_chart(per_day["labels"].fillna(0), y_label="labels")
    with right:
        st.subheader("Speed over time")
        st.line_chart(per_day["median_seconds"].dropna(), y_label="median seconds per label")
