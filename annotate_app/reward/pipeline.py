"""Train, score and evaluate on vectors: the code path shared by training jobs and the simulator.

Everything here works on arrays already embedded, so the app's worker and ``annotate simulate`` run
the very same functions and a simulated strategy is the strategy the app would run.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from annotate_app import ids
from annotate_app.reward.config import FeatureConfig, HeadChoiceConfig, HeadConfig
from annotate_app.reward.head import BTEnsemble
from annotate_app.reward.head_choice import FitPredict, HeadChoice, choose_head


def label_targets(labels: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """P(A better) from the votes (a tie is half a win each way), and the strength: 2 when every
    vote agrees on one side and most are "much better", else 1."""
    n_a, n_b, n_tie = (labels[c].to_numpy(float) for c in ("n_a", "n_b", "n_tie"))
    total = np.maximum(n_a + n_b + n_tie, 1.0)
    target = (n_a + 0.5 * n_tie) / total
    unanimous = (n_a == total) | (n_b == total)
    strength = np.where(unanimous & (labels["mean_strength"].to_numpy(float) >= 1.5), 2.0, 1.0)
    return target, strength


def heldout_mask(pair_ids: list[str] | np.ndarray, fraction: float) -> np.ndarray:
    """A pair is held out or not for good, whatever else is labeled: versions compare fairly."""
    if fraction <= 0:
        return np.zeros(len(pair_ids), dtype=bool)
    cut = int(fraction * 2**32)
    return np.array([int(ids.digest("heldout", p)[:8], 16) < cut for p in pair_ids], dtype=bool)


def response_features(emb: np.ndarray, lengths: np.ndarray, config: FeatureConfig) -> np.ndarray:
    if not config.length:
        return emb
    return np.hstack([emb, np.log1p(np.asarray(lengths, np.float32))[:, None]]).astype(np.float32)


def context_features(emb_a: np.ndarray, emb_b: np.ndarray) -> np.ndarray:
    """Where a pair sits in embedding space, for diversity: both sides share the conversation, so
    their mean is dominated by it (the prompt), with the replies averaged in."""
    ctx = (emb_a + emb_b) / 2.0
    norm = np.linalg.norm(ctx, axis=1, keepdims=True)
    return (ctx / np.maximum(norm, 1e-9)).astype(np.float32)


def fit_head(
    feats_a: np.ndarray,
    feats_b: np.ndarray,
    target: np.ndarray,
    strength: np.ndarray,
    config: HeadConfig,
) -> BTEnsemble:
    return BTEnsemble(config, feats_a.shape[1]).fit(feats_a, feats_b, target, strength)


def fold_fitter(
    feats_a: np.ndarray, feats_b: np.ndarray, target: np.ndarray, strength: np.ndarray
) -> FitPredict:
    """(head, fit rows, score rows) -> each member's p(A better) [K, len(score rows)] on the score
    rows of a head fitted on the fit rows; rows index these arrays. The head choice and the judge
    stack cross-fit with it."""

    def fit_predict(head: HeadConfig, fit: np.ndarray, score: np.ndarray) -> np.ndarray:
        model = fit_head(feats_a[fit], feats_b[fit], target[fit], strength[fit], head)
        return model.member_probs(feats_a[score], feats_b[score])

    return fit_predict


def fit_chosen_head(
    feats_a: np.ndarray,
    feats_b: np.ndarray,
    target: np.ndarray,
    strength: np.ndarray,
    base: HeadConfig,
    choice_config: HeadChoiceConfig,
) -> tuple[BTEnsemble, HeadChoice]:
    """The head a model version ships: the variant of ``base`` these training labels favour
    (``head_choice.choose_head``, K-fold CV), fitted on all of them, with that variant's
    out-of-fold logit scale folded into its weights. The train job and the replays both fit their
    heads here, so a replay scores and acquires with the head the app would have."""
    choice = choose_head(
        fold_fitter(feats_a, feats_b, target, strength), target, base, choice_config
    )
    model = fit_head(feats_a, feats_b, target, strength, choice.head)
    return model.fold_logit_scale(choice.logit_scale), choice
