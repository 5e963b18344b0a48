"""Escalation: AI labels that go back to the human queue whatever the policy says.

Two signals say a judge label is not to be kept: the judge contradicted itself when the two responses
swapped places, or it strongly disagrees with a reward model that is confident (far from 0.5) and
certain (its ensemble members agree).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass
class EscalationConfig:
    on_inconsistent: bool = True
    rm_confidence: float = 0.6  # |2 p_rm - 1| at least this: the reward model is confident
    rm_max_uncertainty: float = 0.1  # and its members disagree by at most this
    min_gap: float = (
        0.5  # |p_judge - p_rm| at least this, on opposite sides of 0.5: strong disagreement
    )


def escalations(features: pd.DataFrame, config: EscalationConfig | None = None) -> pd.DataFrame:
    """Pairs (of those with a judge verdict) to send back to humans: pair_id, reason."""
    config = config or EscalationConfig()
    judged = features["has_judge"].to_numpy() > 0
    inconsistent = judged & (features["judge_consistent"].to_numpy() < 0.5)
    if not config.on_inconsistent:
        inconsistent[:] = False
    pj = features["judge_p_a"].to_numpy()
    pr = features["rm_p_a"].to_numpy()
    confident_rm = (
        (features["has_rm"].to_numpy() > 0)
        & (features["rm_confidence"].to_numpy() >= config.rm_confidence)
        & (features["rm_uncertainty"].to_numpy() <= config.rm_max_uncertainty)
    )
    clash = (
        judged & confident_rm & ((pj - 0.5) * (pr - 0.5) < 0) & (np.abs(pj - pr) >= config.min_gap)
    )
    reasons = []
    for inc, cl, a, b in zip(inconsistent, clash, pj, pr, strict=True):
        parts = []
        if inc:
            parts.append("judge inconsistent across orders")
        if cl:
            parts.append(f"judge P(A)={a:.2f} contradicts confident reward model P(A)={b:.2f}")
        reasons.append("escalated: " + "; ".join(parts) if parts else "")
    mask = inconsistent | clash
    return pd.DataFrame(
        {
            "pair_id": features.index[mask].to_numpy(),
            "reason": np.array(reasons, dtype=object)[mask],
        }
    )


def apply_escalations(routes: pd.DataFrame, escalated: pd.DataFrame, slots: int) -> pd.DataFrame:
    """Escalated pairs go to humans first in the queue, up to ``slots`` of them; the rest wait
    (``hold``) for budget, so escalation never overspends either."""
    if escalated.empty:
        return routes
    routes = routes.copy()
    reason = escalated.set_index("pair_id")["reason"]
    hit = routes.index[routes["pair_id"].isin(reason.index).to_numpy()]
    top = float(routes["priority"].max()) if len(routes) else 0.0
    send, wait = hit[: max(0, slots)], hit[max(0, slots) :]
    routes.loc[send, "route"] = "human"
    routes.loc[send, "priority"] = top + 2.0
    routes.loc[send, "propensity"] = 1.0
    routes.loc[send, "reason"] = routes.loc[send, "pair_id"].map(reason)
    routes.loc[wait, "route"] = "hold"
    routes.loc[wait, "reason"] = (
        routes.loc[wait, "pair_id"].map(reason) + "; waiting for human budget"
    )
    return routes
