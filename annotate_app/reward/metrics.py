"""How good a reward model is, on pairs it never trained on: accuracy, log-loss, calibration."""

from __future__ import annotations

import numpy as np

EPS = 1e-6


def pairwise_accuracy(p_a: np.ndarray, target: np.ndarray) -> float:
    """Share of decided pairs (target 1 or 0) where p(A>B) is on the winner's side; p = 0.5 scores
    half, since it is a coin flip. Ties in the target carry no right answer and are left out."""
    p_a, target = np.asarray(p_a, float), np.asarray(target, float)
    decided = target != 0.5
    if not decided.any():
        return float("nan")
    p, t = p_a[decided], target[decided]
    right = np.where(p == 0.5, 0.5, ((p > 0.5) == (t > 0.5)).astype(float))
    return float(right.mean())


def pair_log_loss(p_a: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Each pair's cross-entropy against its target probability (a tie's target is 0.5)."""
    p = np.clip(np.asarray(p_a, float), EPS, 1 - EPS)
    t = np.asarray(target, float)
    return -(t * np.log(p) + (1 - t) * np.log(1 - p))


def log_loss(p_a: np.ndarray, target: np.ndarray) -> float:
    """Mean cross-entropy against the target probability (ties included as 0.5)."""
    if len(np.asarray(target)) == 0:
        return float("nan")
    return float(pair_log_loss(p_a, target).mean())


def expected_calibration_error(p_a: np.ndarray, target: np.ndarray, bins: int = 10) -> float:
    """ECE of the predicted winner: confidence max(p, 1-p) binned, against how often it won.

    Orientation-free, since A/B is an arbitrary sort order of ids. Ties are left out.
    """
    p_a, target = np.asarray(p_a, float), np.asarray(target, float)
    decided = target != 0.5
    if not decided.any():
        return float("nan")
    p, t = p_a[decided], target[decided]
    confidence = np.maximum(p, 1 - p)
    correct = ((p >= 0.5) == (t > 0.5)).astype(float)
    edges = np.linspace(0.5, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        in_bin = which == b
        if in_bin.any():
            ece += in_bin.mean() * abs(correct[in_bin].mean() - confidence[in_bin].mean())
    return float(ece)


def evaluate(p_a: np.ndarray, target: np.ndarray) -> dict[str, float | int]:
    return {
        "accuracy": pairwise_accuracy(p_a, target),
        "log_loss": log_loss(p_a, target),
        "ece": expected_calibration_error(p_a, target),
        "n": int(len(np.asarray(target))),
    }
