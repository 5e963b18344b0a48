"""Everything the dashboard shows, as small pre-aggregated frames built in one call.

The heavy lifting is GROUP BY in DuckDB (store.analytics); only the votes on pairs that two or more
raters labeled come back row by row, because kappa and alpha need them. That keeps the page under
a second on a 100k-pair project (bench/bench_dashboard.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from annotate_app.analytics import agreement
from annotate_app.analytics.calibration import reliability_curve
from annotate_app.routing.plan import current_spend, load_config
from annotate_app.store import Store
from annotate_app.store.analytics import LabelFilter


@dataclass
class AgreementFrames:
    kappas: pd.DataFrame  # annotator_1, annotator_2, n_pairs, agreement, kappa
    alpha: float  # Krippendorff, nominal on outcomes, human raters
    alpha_ordinal: float  # Krippendorff, ordinal on the 5-point choice
    gold: pd.DataFrame  # annotator, n_gold, correct, accuracy
    judges: pd.DataFrame  # judge, n_pairs, agreement, ci_low, ci_high, kappa, log_loss, brier, ece
    reliability: pd.DataFrame  # judge, bin_low, bin_high, mean_p_a, frac_a, count
    overlap_pairs: int


@dataclass
class DashboardData:
    over_time: pd.DataFrame  # day, source, labels
    throughput: pd.DataFrame  # annotator, source, labels, median_seconds, active_days, per_day
    agreement: AgreementFrames
    learning_curve: pd.DataFrame  # model_versions: n_labels, heldout_accuracy, log_loss, ...
    routes: pd.DataFrame  # route, policy, pairs, human_labeled, ai_labeled
    spend: dict  # labels and verdicts paid for, priced by the routing costs


def agreement_frames(store: Store, flt: LabelFilter | None = None) -> AgreementFrames:
    votes = store.overlap_votes(flt)
    return AgreementFrames(
        kappas=agreement.pairwise_kappa(votes),
        alpha=agreement.krippendorff_alpha(votes),
        alpha_ordinal=agreement.krippendorff_alpha(votes, scale=True),
        gold=agreement.gold_accuracy(votes),
        judges=agreement.judge_agreement(votes),
        reliability=reliability(votes),
        overlap_pairs=int(votes["pair_id"].nunique()),
    )


def reliability(votes: pd.DataFrame, bins: int = 10) -> pd.DataFrame:
    """Reliability-diagram points of every judge (the judge issue's curve, per judge)."""
    probs = agreement.judge_probabilities(votes)
    curves = [
        reliability_curve(part["p_a"].to_numpy(), part["human_a"].to_numpy(), bins).assign(
            judge=judge
        )
        for judge, part in probs.groupby("judge", sort=True)
    ]
    columns = ["judge", "bin_low", "bin_high", "mean_p_a", "frac_a", "count"]
    return (
        pd.concat(curves, ignore_index=True)[columns] if curves else pd.DataFrame(columns=columns)
    )


def throughput(store: Store, flt: LabelFilter | None = None) -> pd.DataFrame:
    frame = store.annotator_activity(flt)
    frame["per_day"] = frame["labels"] / frame["active_days"].clip(lower=1)
    return frame


def spend_summary(store: Store) -> dict:
    """``routing.plan.current_spend`` as JSON-ready numbers, with the prices it used."""
    budget = load_config(store).budget
    summary = current_spend(store, budget).as_dict()
    summary["cost_per_human_label"] = budget.cost_human
    summary["cost_per_judge_call"] = budget.cost_judge
    return summary


def routing_summary(store: Store) -> dict:
    """Pairs per route and the spend so far, JSON-ready, for ``annotate stats --json``."""
    return {"routes": store.route_mix(), "spend": spend_summary(store)}


def load_dashboard(store: Store, flt: LabelFilter | None = None) -> DashboardData:
    """The page's one call. Filters apply to label-based panels; model versions, routes and spend
    describe the whole project."""
    return DashboardData(
        over_time=store.label_time_series(flt),
        throughput=throughput(store, flt),
        agreement=agreement_frames(store, flt),
        learning_curve=store.model_versions_frame(),
        routes=store.route_mix_by_policy(),
        spend=spend_summary(store),
    )


def reward_model_accuracy(versions: pd.DataFrame) -> dict[str, float | int | str | None]:
    """The active model version's held-out accuracy, alone and stacked with the judges' verdicts
    (None where it has none), and the head it uses with why the train job chose it (None for
    versions that recorded no choice), as the train job recorded them: the page's tiles read this,
    and the learning curve plots the same columns of ``store.model_versions_frame``."""
    active = versions[versions["active"].astype(bool)] if len(versions) else versions
    if active.empty:
        return {
            "heldout_accuracy": None,
            "heldout_accuracy_with_judge": None,
            "n_with_verdict": 0,
            "judge_stack_used": False,
            "head": None,
            "head_reason": None,
        }
    row = active.iloc[-1]

    def number(key: str) -> float | None:
        value = row.get(key)
        return None if value is None or pd.isna(value) else float(value)

    def text(key: str) -> str | None:
        value = row.get(key)
        return None if value is None or pd.isna(value) else str(value)

    with_verdict, used = row.get("n_heldout_with_verdict"), row.get("judge_stack_used")
    return {
        "heldout_accuracy": number("heldout_accuracy"),
        "heldout_accuracy_with_judge": number("heldout_accuracy_with_judge"),
        "n_with_verdict": 0 if with_verdict is None or pd.isna(with_verdict) else int(with_verdict),
        "judge_stack_used": used is not None and not pd.isna(used) and bool(used),
        "head": text("head"),
        "head_reason": text("head_reason"),
    }


def headline(data: DashboardData) -> dict[str, float | int | None]:
    """The numbers for the metric tiles."""
    labels = int(data.over_time["labels"].sum()) if len(data.over_time) else 0
    humans = data.throughput[data.throughput["source"] == "human"]
    alpha = data.agreement.alpha
    return {
        "labels": labels,
        "annotators": int(humans["annotator"].nunique()),
        "alpha": None if math.isnan(alpha) else alpha,
        "overlap_pairs": data.agreement.overlap_pairs,
    }
