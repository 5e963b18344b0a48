"""The reward model stacked with the AI judges' verdicts: one small logistic regression per version.

Where a judge has a verdict on a pair, the pair's probability becomes

    p = sigmoid(w_head * logit(p_head) + sum over judges of w_c * e * consistent + w_i * e * (1 - consistent))

with e = 2 p_judge - 1 (the judge's debiased P(A better), centred) and ``consistent`` whether its
two orders agreed (unknown, as for a judge recorded in one order, counts as consistent). A pair
without a verdict keeps the head's probability exactly. There is no intercept and the consistency
flag enters only through the evidence, because A/B is the sorted order of response ids: a term
that did not flip sign with the sides would be a bias toward whichever response sorts first.

The head's logit used to fit the weights must be cross-fitted (``crossfit_probs``), never the
in-sample output of a head that saw those labels, and on the scale of the saved head the stack is
applied to (the head choice's logit scale, which the saved weights carry, included): ``w_head``
absorbs a scale, but only the one it was fitted on. Whether the stack is used for the app's scores
is decided on the training labels alone: its cross-validated log-loss must beat both the head
alone and the head's logit rescaled without any judge (so a stack that only recalibrates the head
does not pass for the judges' help).
No torch here: the head is passed in as a function.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

STACK_FILE = "judge_stack.json"  # beside the weights of a model version that has one
_CLIP = 1e-4


@dataclass
class JudgeStackConfig:
    enabled: bool = True
    folds: int = 5  # head fits for the cross-fitted logits, and folds of the use-or-not check
    # a judge takes part once it has verdicts on this many training labels; below that for every
    # judge, no stack is fitted (two weights per judge and one for the head stay well determined)
    min_pairs: int = 30
    l2: float = 1.0  # pulls the weights toward "head alone" (w_head 1, judge weights 0)
    seed: int = 0


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, float), _CLIP, 1 - _CLIP)
    return np.log(p / (1 - p))


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.asarray(z, float)))


def eligible_judges(
    verdicts: pd.DataFrame, labeled_ids: Sequence[str], min_pairs: int
) -> list[str]:
    """Judges with verdicts on at least ``min_pairs`` of the labeled pairs, by id. Each gets its
    own weights: judges differ in how far they can be trusted, and one judge's verdicts on a pair
    do not replace another's."""
    if verdicts.empty:
        return []
    on_labeled = verdicts[verdicts["pair_id"].isin(set(labeled_ids))]
    counts = on_labeled.groupby("judge_id")["pair_id"].nunique()
    return sorted(str(j) for j, n in counts.items() if n >= min_pairs)


@dataclass
class JudgeEvidence:
    """Per pair: the judges' evidence columns (two per judge) and whether any judge has a verdict."""

    columns: np.ndarray  # [N, 2 * judges]
    has_verdict: np.ndarray  # [N] bool

    def take(self, rows: np.ndarray) -> JudgeEvidence:
        return JudgeEvidence(self.columns[rows], self.has_verdict[rows])


def judge_evidence(
    verdicts: pd.DataFrame, pair_ids: Sequence[str], judges: Sequence[str]
) -> JudgeEvidence:
    """``verdicts``: pair_id, judge_id, p_a, consistent (bool, or missing when unknown); the
    latest verdict of a judge on a pair counts. Rows follow ``pair_ids``."""
    n = len(pair_ids)
    columns = np.zeros((n, 2 * len(judges)))
    has = np.zeros(n, dtype=bool)
    index = pd.Index(pair_ids)
    for j, judge in enumerate(judges):
        mine = verdicts[(verdicts["judge_id"] == judge) & verdicts["p_a"].notna()]
        mine = mine.drop_duplicates("pair_id", keep="last")
        at = index.get_indexer(mine["pair_id"])
        found = at >= 0
        at = at[found]
        e = 2.0 * mine["p_a"].to_numpy(float)[found] - 1.0
        inconsistent = (
            ~mine["consistent"].astype("boolean").fillna(True).to_numpy(bool)[found]
            if "consistent" in mine
            else np.zeros(len(at), dtype=bool)
        )
        columns[at, 2 * j] = e * ~inconsistent
        columns[at, 2 * j + 1] = e * inconsistent
        has[at] = True
    return JudgeEvidence(columns, has)


def fit_logistic(
    x: np.ndarray, y: np.ndarray, prior: np.ndarray, l2: float, iterations: int = 50
) -> np.ndarray:
    """Newton's method for a logistic regression without intercept on soft targets ``y`` in
    [0, 1], with the penalty l2/2 * |w - prior|^2 (which also keeps every step well posed)."""
    w = prior.astype(float).copy()
    eye = np.eye(x.shape[1])
    for _ in range(iterations):
        p = sigmoid(x @ w)
        grad = x.T @ (p - y) + l2 * (w - prior)
        hess = (x * (p * (1 - p))[:, None]).T @ x + l2 * eye
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w


def crossfit_probs(
    fit_predict: Callable[[np.ndarray, np.ndarray], np.ndarray], n: int, folds: int, seed: int
) -> np.ndarray:
    """Each of ``n`` labeled pairs scored by a head fitted without it: ``fit_predict(fit_rows,
    score_rows)`` fits on the first and returns p(A better) for the second, [len(score_rows)] or
    per member [K, len(score_rows)]; the result has the same leading shape, [n] or [K, n]."""
    fold = np.random.default_rng(seed).permutation(n) % max(2, folds)
    out: np.ndarray | None = None
    for f in np.unique(fold):
        p = np.asarray(fit_predict(np.flatnonzero(fold != f), np.flatnonzero(fold == f)), float)
        if out is None:
            out = np.full((*p.shape[:-1], n), 0.5)
        out[..., fold == f] = p
    return out if out is not None else np.full(n, 0.5)


def _design(head_logit: np.ndarray, evidence: np.ndarray) -> np.ndarray:
    return np.column_stack([head_logit, evidence])


def _accuracy(p: np.ndarray, y: np.ndarray) -> float:
    decided = y != 0.5
    if not decided.any():
        return float("nan")
    return float(((p[decided] > 0.5) == (y[decided] > 0.5)).mean())


def _log_loss(p: np.ndarray, y: np.ndarray) -> float:
    p = np.clip(p, _CLIP, 1 - _CLIP)
    return float(-(y * np.log(p) + (1 - y) * np.log(1 - p)).mean())


@dataclass
class JudgeStack:
    judges: list[str]
    weights: list[float]  # the head's logit, then per judge: consistent and inconsistent evidence
    used: bool  # its cross-validated log-loss on the training labels beat the head without judges
    pool: dict[str, float] = field(default_factory=dict)  # that check's figures

    def apply(self, member_probs: np.ndarray, evidence: JudgeEvidence) -> np.ndarray:
        """Each member's p(A better) [K, N] (or [N]) stacked where a verdict exists; elsewhere
        returned as it came."""
        probs = np.asarray(member_probs, float)
        w = np.asarray(self.weights)
        z = logit(probs) * w[0] + evidence.columns @ w[1:]
        return np.where(evidence.has_verdict, sigmoid(z), probs)

    def save(self, folder: Path) -> None:
        (folder / STACK_FILE).write_text(json.dumps(asdict(self), indent=2), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> JudgeStack | None:
        path = folder / STACK_FILE
        if not path.exists():
            return None
        return cls(**json.loads(path.read_text(encoding="utf-8")))


def fit_judge_stack(
    head_probs: np.ndarray,
    target: np.ndarray,
    evidence: JudgeEvidence,
    judges: Sequence[str],
    config: JudgeStackConfig,
) -> JudgeStack | None:
    """Fit on the labeled pairs that have a verdict. ``head_probs`` must be cross-fitted. None when
    fewer than ``config.min_pairs`` labeled pairs have a verdict."""
    rows = np.flatnonzero(evidence.has_verdict)
    if not judges or len(rows) < config.min_pairs:
        return None
    x = _design(logit(head_probs[rows]), evidence.columns[rows])
    y = np.asarray(target, float)[rows]
    prior = np.zeros(x.shape[1])
    prior[0] = 1.0
    weights = fit_logistic(x, y, prior, config.l2)
    fold = np.random.default_rng(config.seed).permutation(len(rows)) % max(2, config.folds)
    cv, rescaled = np.zeros(len(rows)), np.zeros(len(rows))
    for f in np.unique(fold):
        fit, score = fold != f, fold == f
        cv[score] = sigmoid(x[score] @ fit_logistic(x[fit], y[fit], prior, config.l2))
        w_head = fit_logistic(x[fit, :1], y[fit], prior[:1], config.l2)
        rescaled[score] = sigmoid(x[score, :1] @ w_head)
    head = np.clip(np.asarray(head_probs, float)[rows], _CLIP, 1 - _CLIP)
    pool = {
        "n": int(len(rows)),
        "head_log_loss": _log_loss(head, y),
        "rescaled_head_log_loss": _log_loss(rescaled, y),
        "stacked_log_loss": _log_loss(cv, y),
        "head_accuracy": _accuracy(head, y),
        "stacked_accuracy": _accuracy(cv, y),
    }
    # the judges must earn their place beyond what rescaling the head's logit alone would give
    used = pool["stacked_log_loss"] < min(pool["head_log_loss"], pool["rescaled_head_log_loss"])
    return JudgeStack(list(judges), [float(v) for v in weights], bool(used), pool)
