"""The head a project's reward model uses, chosen on the project's own training labels.

No one head shape serves every project: on HH harmless the regularised heads scored better on
pool folds than the default MLP, and on PandaLM they lost 2 to 8.5 pt. So each train job fits every
variant of ``HeadChoiceConfig`` on the same K folds of its training labels and compares their
cross-validated log-loss pair by pair. The default stays unless another variant is better by more
than ``margin_se`` standard errors of the per-pair differences, so noise alone seldom moves it.

The chosen variant's cross-fitted probabilities come back with the choice: every training pair
scored by a head that did not see it, which is what the judge stack fits on (no second set of fits).
No torch here: the head is fitted through the function passed in.
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
from annotate_app.reward.judge_stack import crossfit_probs, fit_logistic, logit, sigmoid
from annotate_app.reward.metrics import pair_log_loss, pairwise_accuracy

# fit_predict(head, fit_rows, score_rows): p(A better) on score_rows of a head fitted on fit_rows
FitPredict = Callable[[HeadConfig, np.ndarray, np.ndarray], np.ndarray]


@dataclass
class HeadChoice:
    variant: HeadVariant
    head: HeadConfig
    reason: str
    # per variant: cv_log_loss (after ``rescaled``), cv_raw_log_loss, cv_accuracy, and against the
    # default: diff (mean per-pair rescaled log-loss difference, negative is better) and its se
    cv: dict[str, dict[str, float]] = field(default_factory=dict)
    crossfit: np.ndarray | None = None  # the chosen head's cross-fitted p(A better), or None
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
            "cv": self.cv,
        }


def rescaled(p: np.ndarray, target: np.ndarray) -> np.ndarray:
    """``p`` with its logit times the one scale that fits ``target`` best. Heads are compared on
    log-loss after this, so what counts is how well a head orders the pairs, not how sure it is:
    strong weight decay makes a head timid, bootstrap members over-fitted on noise make it bold,
    and either would otherwise decide the comparison by calibration alone."""
    z = logit(p)[:, None]
    scale = fit_logistic(z, np.asarray(target, float), np.ones(1), l2=1e-3)
    return sigmoid(z[:, 0] * scale[0])


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
    if n < config.min_labels or len(config.variants) == 1:
        why = (
            f"only {n} training labels (the choice needs {config.min_labels})"
            if n < config.min_labels
            else "one variant"
        )
        return HeadChoice(default, head_variant(base, default), why, n=n)
    heads = {v: head_variant(base, v) for v in config.variants}
    rows = np.arange(n)
    if n > config.max_labels:
        rng = np.random.default_rng(config.seed)
        rows = np.sort(rng.choice(n, config.max_labels, replace=False))
    target = target[rows]

    def on_sample(head: HeadConfig):
        return lambda fit, score: fit_predict(head, rows[fit], rows[score])

    probs = {
        v: crossfit_probs(on_sample(head), len(rows), config.folds, config.seed)
        for v, head in heads.items()
    }
    losses = {v: pair_log_loss(rescaled(p, target), target) for v, p in probs.items()}
    cv: dict[str, dict[str, float]] = {}
    for v in config.variants:
        diff = losses[v] - losses[default]
        cv[v] = {
            "cv_log_loss": float(losses[v].mean()),
            "cv_raw_log_loss": float(pair_log_loss(probs[v], target).mean()),
            "cv_accuracy": pairwise_accuracy(probs[v], target),
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
    return HeadChoice(
        chosen,
        heads[chosen],
        reason,
        cv,
        # cross-fitted probabilities for every training pair, or none when only a sample had them
        probs[chosen] if len(rows) == n else None,
        n=len(rows),
        folds=config.folds,
        seconds=time.perf_counter() - start,
    )
