"""Routing policies: for every open pair, ``human``, ``ai`` or ``hold``, and a reason a person can read.

Each policy scores how much a human label is worth on each pair; the best ``human_slots`` pairs (the
paced budget) go to humans. The judge-informed policies (confidence, value, learned) send a pair that
has no verdict yet to the judge first and route it again once it has one; a pair the judge cannot be
trusted on, with no human slot left, waits (``hold``) for the budget to be released.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from annotate_app.routing.calibration import JudgeCalibration
from annotate_app.routing.features import verdict_only
from annotate_app.routing.learned import LearnedRouter, LearnedRouterConfig

POLICIES = ("all-human", "all-ai", "random", "confidence", "value", "learned")
ROUTE_COLUMNS = ("pair_id", "route", "priority", "reason", "score", "propensity", "explore")


@dataclass
class PolicyConfig:
    name: str = "confidence"
    trust_threshold: float = 0.75  # calibrated P(judge right) needed to accept its label
    # value: how many points of P(judge wrong) the top percentile of the reward model's epistemic
    # uncertainty, and of the acquisition score, are worth.
    uncertainty_weight: float = 0.2
    acquisition_weight: float = 0.1
    fill_budget: bool = True  # spend slots the policy has no strong need for on the next-best pairs
    seed: int = 0
    router: LearnedRouterConfig = field(default_factory=LearnedRouterConfig)

    def __post_init__(self) -> None:
        if self.name not in POLICIES:
            raise ValueError(
                f"unknown routing policy {self.name!r}; use one of {', '.join(POLICIES)}"
            )
        if not 0.5 <= self.trust_threshold <= 1:
            raise ValueError(f"trust threshold must be in [0.5, 1], got {self.trust_threshold}")


def decide(
    config: PolicyConfig,
    features: pd.DataFrame,
    human_slots: int,
    calibration: JudgeCalibration | None = None,
    router: LearnedRouter | None = None,
) -> pd.DataFrame:
    """Routes for the pairs in ``features`` (indexed by pair_id), at most ``human_slots`` human."""
    calibration = calibration or JudgeCalibration()
    human_slots = max(0, min(int(human_slots), len(features)))
    rng = np.random.default_rng(config.seed)
    fn = {
        "all-human": _all_human,
        "all-ai": _all_ai,
        "random": _random,
        "confidence": _confidence,
        "value": _value,
        "learned": _learned,
    }[config.name]
    out = fn(config, features, human_slots, calibration, router, rng)
    return out[list(ROUTE_COLUMNS)].reset_index(drop=True)


def _frame(features: pd.DataFrame, route: str, reason: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "pair_id": features.index.to_numpy(),
            "route": route,
            "priority": 0.0,
            "reason": reason,
            "score": 0.0,
            "propensity": 0.0,
            "explore": False,
        }
    )


def _send_top(out: pd.DataFrame, candidates: np.ndarray, slots: int, why: str) -> int:
    """Send the ``slots`` best-scoring candidate rows to humans; returns the slots used."""
    if slots <= 0 or not candidates.any():
        return 0
    order = out.index[candidates][
        np.argsort(-out.loc[candidates, "score"].to_numpy(), kind="stable")
    ]
    chosen = order[:slots]
    out.loc[chosen, "route"] = "human"
    out.loc[chosen, "priority"] = out.loc[chosen, "score"]
    out.loc[chosen, "propensity"] = 1.0
    out.loc[chosen, "reason"] = [why.format(score=s) for s in out.loc[chosen, "score"]]
    return len(chosen)


def _all_human(config, features, slots, calibration, router, rng) -> pd.DataFrame:
    out = _frame(features, "hold", "all-human: waiting for human budget")
    out["score"] = features["acquisition"].to_numpy()
    _send_top(
        out, np.ones(len(out), bool), slots, "all-human: human label (acquisition {score:.3f})"
    )
    return out


def _all_ai(config, features, slots, calibration, router, rng) -> pd.DataFrame:
    return _frame(features, "ai", "all-ai: the judge labels every pair")


def _random(config, features, slots, calibration, router, rng) -> pd.DataFrame:
    n = len(features)
    out = _frame(features, "ai", f"random: not drawn for humans ({slots}/{n} drawn)")
    chosen = rng.choice(n, size=slots, replace=False) if slots else np.array([], int)
    out.loc[chosen, "route"] = "human"
    out.loc[chosen, "reason"] = f"random: drawn for humans ({slots}/{n} drawn)"
    out["propensity"] = slots / n if n else 0.0
    return out


def _judge_view(
    features: pd.DataFrame, calibration: JudgeCalibration, router: LearnedRouter | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    """Which pairs have a verdict, whether its orders agree, calibrated P(judge right), and where
    that probability came from. A verdict-only judge (no probability) has no confidence to
    calibrate: P(judge right) then comes from the pair's features (the learned router fitted on
    human labels), or from the judge's measured agreement until the router can be fitted."""
    judged = features["has_judge"].to_numpy() > 0
    consistent = features["judge_consistent"].to_numpy() > 0.5
    p_a = features["judge_p_a"].to_numpy()
    if not verdict_only(p_a[judged]):
        p_right = calibration.p_right(p_a, consistent.astype(float), pair_ids=features.index)
        return judged, consistent, p_right, "judge calibration"
    if router is not None and router.fitted:
        p_right = 1.0 - router.p_disagree(features)
        source = (
            f"verdict-only judge: P(right) from pair features, router on {router.n_train} pairs"
        )
    else:
        # Until the router can be fitted: the measured agreement (or the trust threshold's 0.75
        # before any human label), and a coin flip where a second judge disagrees, since at most
        # one of two disagreeing judges is right.
        base = calibration.agreement if calibration.agreement is not None else 0.75
        second = features.get("has_second_judge", pd.Series(0.0, index=features.index))
        agree = features.get("judges_agree", pd.Series(1.0, index=features.index))
        split = (second.to_numpy() > 0) & (agree.to_numpy() < 0.5)
        p_right = np.where(split, min(base, 0.5), base)
        source = (
            (
                f"verdict-only judge: measured agreement {base:.2f} on {calibration.n_pairs} pairs"
                if calibration.agreement is not None
                else "verdict-only judge: no human labels yet, P(right) 0.75 assumed"
            )
            + (", 0.5 where the judges disagree" if split.any() else "")
            + "; router not fitted yet"
        )
    p_right = np.where(consistent, p_right, np.minimum(p_right, 0.5))
    return judged, consistent, p_right, source


def _unjudged(out: pd.DataFrame, judged: np.ndarray, policy: str) -> None:
    out.loc[~judged, "route"] = "ai"
    out.loc[~judged, "reason"] = f"{policy}: no judge verdict yet; judge first, then route again"


def _confidence(config, features, slots, calibration, router, rng) -> pd.DataFrame:
    judged, consistent, p_right, source = _judge_view(features, calibration, router)
    note = "" if source == "judge calibration" else f" [{source}]"
    out = _frame(features, "hold", "")
    out["score"] = 1.0 - p_right
    trusted = judged & consistent & (p_right >= config.trust_threshold)
    out.loc[trusted, "route"] = "ai"
    out.loc[trusted, "reason"] = [
        f"confidence: judge trusted (P right {p:.2f} >= {config.trust_threshold:.2f}, "
        f"orders agree){note}"
        for p in p_right[trusted]
    ]
    untrusted = judged & ~trusted
    out.loc[untrusted, "reason"] = [
        "confidence: judge orders disagree; held for human budget"
        if not c
        else f"confidence: P(judge right) {p:.2f} < {config.trust_threshold:.2f}; "
        f"held for human budget{note}"
        for p, c in zip(p_right[untrusted], consistent[untrusted], strict=True)
    ]
    used = _send_top(
        out,
        untrusted & ~consistent,
        slots,
        "confidence: judge orders disagree (P wrong {score:.2f}); human label",
    )
    used += _send_top(
        out,
        untrusted & (out["route"] != "human").to_numpy(),
        slots - used,
        "confidence: P(judge wrong) {score:.2f} too high; human label" + note.replace("{", "{{"),
    )
    if config.fill_budget:
        _send_top(
            out,
            trusted,
            slots - used,
            "confidence: spare budget, least trusted judge label (P wrong {score:.2f})",
        )
    _unjudged(out, judged, "confidence")
    return out


def p_judge_wrong(features: pd.DataFrame, calibration: JudgeCalibration) -> np.ndarray:
    """Calibrated P(judge wrong) per pair, as the value policy reads it (a pair without a verdict
    gets the assumed P(right) of a verdict-only judge: it is not trusted either)."""
    _, _, p_right, _ = _judge_view(features, calibration)
    return 1.0 - p_right


def value_score(
    p_wrong: np.ndarray,
    uncertainty: pd.Series,
    acquisition: pd.Series,
    config: PolicyConfig,
    has_rm: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What a human label is worth on each pair: P(judge wrong), plus the reward model's
    uncertainty and the acquisition score as percentile ranks (so the weights mean the same
    whatever their scale). Returns the score and the two ranks."""
    has = np.ones(len(p_wrong), bool) if has_rm is None else has_rm
    unc = uncertainty.rank(pct=True).to_numpy() * has
    acq = acquisition.rank(pct=True).to_numpy() * has
    score = p_wrong + config.uncertainty_weight * unc + config.acquisition_weight * acq
    return score, unc, acq


def _value(config, features, slots, calibration, router, rng) -> pd.DataFrame:
    judged, consistent, p_right, _ = _judge_view(features, calibration)
    p_wrong = 1.0 - p_right
    has_rm = features["has_rm"].to_numpy() > 0
    score, unc, acq = value_score(
        p_wrong, features["rm_uncertainty"], features["acquisition"], config, has_rm
    )
    out = _frame(features, "ai", "")
    out["score"] = score
    out["reason"] = [
        f"value: judge label kept (P wrong {w:.2f}, RM uncertainty pct {u:.0%}; value {s:.2f})"
        for w, u, s in zip(p_wrong, unc, score, strict=True)
    ]
    untrusted = judged & ((p_right < config.trust_threshold) | ~consistent)
    out.loc[untrusted, "route"] = "hold"
    out.loc[untrusted, "reason"] = [
        f"value: held, P(judge wrong) {w:.2f} but no human budget left (value {s:.2f})"
        for w, s in zip(p_wrong[untrusted], score[untrusted], strict=True)
    ]
    why = [
        f"value: human label worth {s:.2f} (P judge wrong {w:.2f}, RM uncertainty pct {u:.0%}, "
        f"acquisition pct {a:.0%})"
        for s, w, u, a in zip(score, p_wrong, unc, acq, strict=True)
    ]
    candidates = judged if config.fill_budget else untrusted
    order = out.index[candidates][np.argsort(-score[candidates], kind="stable")][:slots]
    out.loc[order, "route"] = "human"
    out.loc[order, "priority"] = score[order]
    out.loc[order, "propensity"] = 1.0
    out.loc[order, "reason"] = [why[i] for i in order]
    _unjudged(out, judged, "value")
    return out


def _learned(config, features, slots, calibration, router, rng) -> pd.DataFrame:
    judged, consistent, p_right, _ = _judge_view(features, calibration)
    if router is not None and router.fitted:
        p_wrong = router.p_disagree(features)
        source = f"router on {router.n_train} pairs"
    else:
        p_wrong = 1.0 - p_right
        source = "router not fitted yet; judge calibration"
    out = _frame(features, "ai", "")
    out["score"] = p_wrong
    out["reason"] = [
        f"learned: judge label kept (predicted P wrong {w:.2f}; {source})" for w in p_wrong
    ]
    n_judged = int(judged.sum())
    explore_slots = min(int(round(config.router.epsilon * slots)), n_judged)
    pool = np.flatnonzero(judged)
    explore = rng.choice(pool, size=explore_slots, replace=False) if explore_slots else pool[:0]
    p_explore = explore_slots / n_judged if n_judged else 0.0
    out["propensity"] = np.where(judged, p_explore, 0.0)
    out.loc[explore, "route"] = "human"
    out.loc[explore, "explore"] = True
    # Exploration picks go first in the human queue: unlabeled, they would bias the training data.
    out.loc[explore, "priority"] = float(np.max(p_wrong, initial=0.0)) + 1.0
    out.loc[explore, "reason"] = (
        f"learned: ε-exploration, uniformly random pick (propensity {p_explore:.3f})"
    )
    rest = judged & (out["route"] != "human").to_numpy()
    _send_top(
        out,
        rest,
        slots - explore_slots,
        f"learned: predicted P(judge wrong) {{score:.2f}} ({source}); human label",
    )
    _unjudged(out, judged, "learned")
    return out
