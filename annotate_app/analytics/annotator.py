"""One annotator's own figures: agreement with the other people, and labeling by day (count, speed,
streak). Gold accuracy is ``agreement.gold_accuracy``; this module adds what a person's own page
needs and no other page computes.

Agreement with others is leave-one-out: on each pair this annotator and at least one other person
labeled, the others' outcome (the one rule of ``annotate_app.labels``, over the others' votes only)
is the reference. Pairs the others left tied or both-bad are not scored; this annotator's tie or
both-bad on a decided pair is a miss, as in gold accuracy.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from annotate_app.analytics.agreement import wilson_interval
from annotate_app.labels.outcome import decided, outcome_codes, pair_outcomes
from annotate_app.labels.sources import HUMAN_SOURCES, Source

DAY_COLUMNS = ["day", "labels", "median_seconds"]


@dataclass(frozen=True)
class Agreement:
    n_pairs: int
    matched: int
    ci_low: float
    ci_high: float

    @property
    def rate(self) -> float | None:
        return self.matched / self.n_pairs if self.n_pairs else None


def agreement_with_others(votes: pd.DataFrame, annotator: str) -> Agreement:
    """How often ``annotator``'s human labels match the other people's outcome on shared pairs.

    ``votes``: current labels with pair_id, annotator, source, choice, both_bad (``overlap_votes``).
    """
    people = votes[votes["source"].isin(HUMAN_SOURCES)]
    mine = people[(people["annotator"] == annotator) & (people["source"] == Source.HUMAN.value)]
    others = people[(people["annotator"] != annotator) & people["pair_id"].isin(mine["pair_id"])]
    reference = decided(pair_outcomes(others)).set_index("pair_id")["outcome"]
    scored = mine[mine["pair_id"].isin(reference.index)]
    if scored.empty:
        return Agreement(0, 0, float("nan"), float("nan"))
    expected = np.where(reference.loc[scored["pair_id"]].to_numpy() == "a", 0, 1)
    matched = int((outcome_codes(scored) == expected).sum())
    low, high = wilson_interval(matched, len(scored))
    return Agreement(len(scored), matched, low, high)


def labels_by_day(events: pd.DataFrame) -> pd.DataFrame:
    """Per calendar day: labels given and median seconds per label (``events``: one annotator's
    label events with kind, latency_ms and created_at; skips and undos are not labels)."""
    labels = events[events["kind"] == "label"]
    if labels.empty:
        return pd.DataFrame(columns=DAY_COLUMNS)
    days = pd.to_datetime(labels["created_at"]).dt.date
    out = (
        labels.assign(day=days, seconds=labels["latency_ms"].astype("float64") / 1000.0)
        .groupby("day")
        .agg(labels=("kind", "size"), median_seconds=("seconds", "median"))
        .reset_index()
    )
    return out[DAY_COLUMNS]


def streak(days: pd.Series | list[dt.date], today: dt.date) -> int:
    """Consecutive days with labels, ending today (or yesterday, so a streak is not lost before
    today's first label)."""
    active = set(days)
    day = today if today in active else today - dt.timedelta(days=1)
    count = 0
    while day in active:
        count += 1
        day -= dt.timedelta(days=1)
    return count
