"""Turn acquisition scores into queue priorities: the chosen batch first, the rest by score."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from annotate_app.active.acquisition import Candidates, acquire
from annotate_app.active.bandit import AUTO
from annotate_app.settings import ProjectSettings

# Only an out-of-sample replay decides this default (docs/benchmarks.md, "Active learning out of
# sample"). There, BALD helped on HH harmless and hurt on PandaLM, and entropy did the opposite, so
# no fixed strategy is safe. `auto` starts on random and moves to another strategy only on the
# project's own evidence. Its exploration starts at nothing and grows with the project; in
# replays of 6 to 14 batches it stays within 0.5 pt of random at every budget on both datasets
# ("`auto`'s exploration cost" in docs/benchmarks.md).
DEFAULT_STRATEGY = AUTO


@dataclass
class ActiveConfig:
    strategy: str = DEFAULT_STRATEGY
    batch: int = 50  # pairs put at the head of the queue per selection
    retrain_every: int = ProjectSettings.retrain_every  # the project setting's default
    seed: int = 0


def priorities(n: int, chosen: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Chosen pairs get (1, 2] in batch order; every other open pair gets [0, 1) by its score
    rank, so the queue never runs dry between selections and still prefers informative pairs."""
    out = np.zeros(n)
    if n == 0:
        return out
    ranks = pd.Series(np.asarray(scores, float)).rank(method="first").to_numpy()
    out[:] = (ranks - 1) / max(n, 1)
    k = len(chosen)
    if k:
        out[chosen] = 1.0 + (k - np.arange(k)) / k
    return out


def select_batch(
    candidates: Candidates, strategy: str, k: int, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The chosen indices (best first), each candidate's acquisition score, and its priority."""
    chosen, scores = acquire(strategy, candidates, k, seed)
    return chosen, scores, priorities(candidates.probs.shape[1], chosen, scores)
