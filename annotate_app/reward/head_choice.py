"""The head a project's reward model uses, and the scale on its logits, chosen on the project's own
training labels.

No one head shape serves every project: on HH harmless the regularised heads scored better on
pool folds than the default MLP, and on PandaLM they lost 2 to 8.5 pt. So each train job fits every
variant of ``HeadChoiceConfig`` on the same K folds of its training labels and compares their
cross-validated log-loss pair by pair. The default stays unless another variant is better by more
than ``margin_se`` standard errors of the per-pair differences, so noise alone seldom moves it.

Each variant's logits are compared after one scale, fitted on its own cross-fitted probabilities:
strong weight decay makes a head timid (its p(A better) hugs 0.5), bootstrap members over-fitted
on noise make it bold, and either would otherwise decide the comparison by calibration alone. The
chosen variant's scale then ships with the model (``BTEnsemble.fold_logit_scale``), so the app's
scores, the held-out metrics, routing's confidence and the exported model all read calibrated
probabilities. ``pipeline.fit_chosen_head`` does the choice, the fit and the scale in one call, for
the train job and the replays (``annotate simulate``) alike. The scale is fitted on the members as
the saved model combines them (the mean of each member's sigmoid), on out-of-fold probabilities
only, so it is exactly the one that calibrates the saved ensemble on those pairs.

The chosen variant's cross-fitted probabilities come back with the choice, scaled: every training
pair scored by a head that did not see it, on the saved model's scale, which is what the judge
stack fits on (no second set of fits). No torch here: the head is fitted through the function
passed in.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from annotate_app.reward.config import (
    HeadChoiceConfig,
    HeadConfig,
    HeadVariant,
    describe_head,
    head_variant,
)
from annotate_app.reward.judge_stack import crossfit_probs, logit, sigmoid
from annotate_app.reward.metrics import pair_log_loss, pairwise_accuracy

# fit_predict(head, fit_rows, score_rows): each member's p(A better) [K, len(score_rows)] (or the
# ensemble's alone, [len(score_rows)]) on score_rows, of a head fitted on fit_rows
FitPredict = Callable[[HeadConfig, np.ndarray, np.ndarray], np.ndarray]

# the scale a head's logits may get: wide enough for the measured ones (0.44 to 2.03 on HH and
# PandaLM, bench_head_scale) and for a head that learned nothing (toward 0), narrow enough that a
# handful of pairs that all fall on one side cannot send it to infinity
LOGIT_SCALE_BOUNDS = (0.05, 20.0)


@dataclass
class HeadChoice:
    variant: HeadVariant
    head: HeadConfig
    reason: str
    # per variant: logit_scale, cv_log_loss (after that scale), cv_raw_log_loss, cv_accuracy, and
    # against the default: diff (mean per-pair scaled log-loss difference, negative is better), se
    cv: dict[str, dict[str, float]] = field(default_factory=dict)
    # the chosen head's cross-fitted p(A better) with its logit scale, or None
    crossfit: np.ndarray | None = None
    # times each member's reward difference (logit) of the chosen head; 1 when no CV ran
    logit_scale: float = 1.0
    n: int = 0  # the training labels the folds were cut from
    folds: int = 0
    seconds: float = 0.0

    def as_metrics(self) -> dict[str, Any]:
        """What the model version records (its ``metrics``), and the Dashboard shows."""
        return {
            "variant": self.variant,
            "head": describe_head(self.head),
            "reason": self.reason,
            "n": self.n,
            "folds": self.folds,
            "seconds": round(self.seconds, 3),
            "logit_scale": self.logit_scale,
            "cv": self.cv,
        }


def scaled_members(member_probs: np.ndarray, scale: float) -> np.ndarray:
    """Each member's p(A better) with its logit times ``scale`` ([K, N], or [N] for one)."""
    return sigmoid(float(scale) * logit(member_probs))


def fit_logit_scale(member_probs: np.ndarray, target: np.ndarray) -> float:
    """The scale on every member's logit that minimises the log-loss of the ensemble's
    p(A better) (the member mean, as the saved model gives it) against ``target``, within
    ``LOGIT_SCALE_BOUNDS``. ``member_probs``: [K, N] or [N]."""
    from scipy.optimize import minimize_scalar

    z = logit(np.atleast_2d(member_probs))
    target = np.asarray(target, float)

    def loss(log_scale: float) -> float:
        return float(pair_log_loss(sigmoid(np.exp(log_scale) * z).mean(0), target).mean())

    low, high = np.log(LOGIT_SCALE_BOUNDS)
    found = minimize_scalar(loss, bounds=(low, high), method="bounded", options={"xatol": 1e-4})
    return float(np.exp(found.x))


def choose_head(
    fit_predict: FitPredict,
    target: np.ndarray,
    base: HeadConfig,
    config: HeadChoiceConfig,
) -> HeadChoice:
    """Choose among ``config.variants`` of ``base`` by K-fold CV on ``target`` (P(A better) of
    each training pair). The first variant is the default."""
    start = time.perf_counter()
    target = np.asarray(target, float)
    n = len(target)
    default = config.variants[0]
    if not config.enabled:
        return HeadChoice(default, head_variant(base, default), "choice off", n=n)
    if n < config.min_labels:
        why = f"only {n} training labels (the choice needs {config.min_labels})"
        return HeadChoice(default, head_variant(base, default), why, n=n)
    heads = {v: head_variant(base, v) for v in config.variants}
    rows = np.arange(n)
    if n > config.max_labels:
        rng = np.random.default_rng(config.seed)
        rows = np.sort(rng.choice(n, config.max_labels, replace=False))
    target = target[rows]

    def on_sample(head: HeadConfig):
        return lambda fit, score: fit_predict(head, rows[fit], rows[score])

    # out-of-fold member probabilities [K, n] per variant, their logit scale, and the ensemble's
    # p(A better) before and after it
    members = {
        v: np.atleast_2d(crossfit_probs(on_sample(head), len(rows), config.folds, config.seed))
        for v, head in heads.items()
    }
    scales = {v: fit_logit_scale(m, target) for v, m in members.items()}
    raw = {v: m.mean(0) for v, m in members.items()}
    scaled = {v: scaled_members(m, scales[v]).mean(0) for v, m in members.items()}
    losses = {v: pair_log_loss(p, target) for v, p in scaled.items()}
    cv: dict[str, dict[str, float]] = {}
    for v in config.variants:
        diff = losses[v] - losses[default]
        cv[v] = {
            "cv_log_loss": float(losses[v].mean()),
            "cv_raw_log_loss": float(pair_log_loss(raw[v], target).mean()),
            "cv_accuracy": pairwise_accuracy(raw[v], target),
            "logit_scale": scales[v],
            "diff": float(diff.mean()),
            "se": float(diff.std(ddof=1) / np.sqrt(len(rows))),
        }
    better = [
        v
        for v in config.variants[1:]
        if cv[v]["diff"] < -config.margin_se * cv[v]["se"] and cv[v]["se"] > 0
    ]
    if better:
        chosen = min(better, key=lambda v: cv[v]["cv_log_loss"])
        reason = (
            f"CV log-loss {cv[chosen]['cv_log_loss']:.4f} against the default's "
            f"{cv[default]['cv_log_loss']:.4f} (lower by {-cv[chosen]['diff']:.4f}, "
            f"se {cv[chosen]['se']:.4f})"
        )
    else:
        chosen = default
        reason = f"no variant beat the default by more than {config.margin_se:g} se"
    reason += f"; its logits scaled by {scales[chosen]:.2f}, fitted out of fold"
    return HeadChoice(
        chosen,
        heads[chosen],
        reason,
        cv,
        # cross-fitted probabilities for every training pair, or none when only a sample had them
        scaled[chosen] if len(rows) == n else None,
        scales[chosen],
        n=len(rows),
        folds=config.folds,
        seconds=time.perf_counter() - start,
    )
