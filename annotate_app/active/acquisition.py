"""Acquisition functions over an ensemble's member probabilities, and diversity-aware batches.

Inputs are plain arrays so the same code serves the app, the simulator and the tests:
``probs`` is [K, N], member k's p(A>B) for candidate n; ``feats`` is [N, d], a candidate's position in
embedding space (the prompt/context vector), used for diversity; ``labeled`` holds those vectors for
the pairs already labeled.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

EPS = 1e-12
FIT_SAMPLE = 10_000  # k-means over more candidates fits on a sample of this size


def binary_entropy(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, np.float64), EPS, 1 - EPS)
    return -(p * np.log(p) + (1 - p) * np.log(1 - p))


def predictive_entropy(probs: np.ndarray) -> np.ndarray:
    """Total uncertainty of the ensemble mean: high both for noisy and for unknown pairs."""
    return binary_entropy(probs.mean(0))


def bald(probs: np.ndarray) -> np.ndarray:
    """Mutual information between the label and the model (Houlsby et al. 2011): the part of the
    entropy the members disagree on, which a label can remove. Pairs that are merely coin flips for
    every member score zero."""
    return predictive_entropy(probs) - binary_entropy(probs).mean(0)


def kcenter_greedy(
    feats: np.ndarray,
    k: int,
    centers: np.ndarray | None = None,
    candidates: np.ndarray | None = None,
) -> np.ndarray:
    """Greedy k-center (Sener & Savarese 2018): each pick is the candidate farthest from everything
    chosen or labeled so far, so a batch covers the space instead of clustering in one corner."""
    pool = np.arange(len(feats)) if candidates is None else np.asarray(candidates)
    k = min(k, len(pool))
    x = feats[pool]
    if centers is not None and len(centers):
        dist = _min_sq_dist(x, centers)
    else:
        dist = np.full(len(pool), np.inf)
    norms = (x**2).sum(1)
    chosen: list[int] = []
    for _ in range(k):
        i = int(np.argmax(dist)) if np.isfinite(dist).any() else 0
        chosen.append(i)
        dist = np.minimum(dist, np.maximum(norms + norms[i] - 2 * (x @ x[i]), 0.0))
        dist[chosen] = -np.inf
    return pool[np.asarray(chosen, dtype=int)]


def project(feats: np.ndarray, *others: np.ndarray, dim: int = 64, above: int = 20_000):
    """Past ``above`` candidates, a fixed random projection (Johnson-Lindenstrauss) to ``dim``
    dimensions: distances survive roughly, and diversity over 100k candidates gets six times
    cheaper. Smaller pools keep exact distances."""
    if feats.shape[1] <= dim or len(feats) <= above:
        return (feats, *others)
    basis = np.random.default_rng(0).normal(size=(feats.shape[1], dim)) / np.sqrt(dim)
    basis = basis.astype(np.float32)
    return tuple(np.asarray(f, np.float32) @ basis for f in (feats, *others))


def _min_sq_dist(x: np.ndarray, centers: np.ndarray, chunk: int = 4096) -> np.ndarray:
    out = np.empty(len(x))
    c2 = (centers**2).sum(1)
    for s in range(0, len(x), chunk):
        xs = x[s : s + chunk]
        d = (xs**2).sum(1)[:, None] - 2 * xs @ centers.T + c2[None, :]
        out[s : s + chunk] = np.maximum(d.min(1), 0.0)
    return out


def _knn_sq_dists(x: np.ndarray, ref: np.ndarray, k: int, chunk: int = 4096) -> np.ndarray:
    """The k smallest squared distances from each row of x to ref, sorted; inf-padded."""
    out = np.full((len(x), k), np.inf)
    if len(ref) == 0:
        return out
    r2 = (ref**2).sum(1)
    kk = min(k, len(ref))
    for s in range(0, len(x), chunk):
        xs = x[s : s + chunk]
        d = np.maximum((xs**2).sum(1)[:, None] - 2 * xs @ ref.T + r2[None, :], 0.0)
        part = np.partition(d, kk - 1, axis=1)[:, :kk] if kk < d.shape[1] else d
        out[s : s + chunk, :kk] = np.sort(part, axis=1)[:, :kk]
    return out


def balpm_batch(
    probs: np.ndarray,
    feats: np.ndarray,
    labeled: np.ndarray,
    k: int,
    beta: float = 1.0,
    neighbours: int = 3,
) -> tuple[np.ndarray, np.ndarray]:
    """BAL-PM style (Melo et al. 2024): epistemic uncertainty plus the entropy gain of the acquired
    prompt distribution, greedily, one pick at a time.

    The entropy term is the kNN (Kozachenko-Leonenko) estimate: a point's contribution is the log of
    its distance to its k-th nearest acquired neighbour, so prompts in sparse regions of what has been
    labeled gain. Both terms are standardised over the candidates so ``beta`` is a plain trade-off.
    Returns the chosen indices and each candidate's initial score.
    """
    epistemic = _standardise(bald(probs))
    feats, labeled = project(feats, labeled)
    norms = (feats**2).sum(1)
    knn = _knn_sq_dists(feats, labeled, neighbours)
    chosen: list[int] = []
    first_scores = None
    taken = np.zeros(len(feats), dtype=bool)
    for _ in range(min(k, len(feats))):
        kth = knn[:, -1]
        finite = np.isfinite(kth)
        entropy = np.zeros(len(feats))
        if finite.any():
            log_d = 0.5 * np.log(np.where(finite, kth, 1.0) + EPS)
            fill = log_d[finite].max()
            entropy = _standardise(np.where(finite, log_d, fill))
        score = epistemic + beta * entropy
        if first_scores is None:
            first_scores = score.copy()
        score[taken] = -np.inf
        i = int(np.argmax(score))
        chosen.append(i)
        taken[i] = True
        new = np.maximum(norms + norms[i] - 2 * (feats @ feats[i]), 0.0)
        knn = np.sort(np.concatenate([knn, new[:, None]], axis=1), axis=1)[:, :neighbours]
    return np.asarray(chosen, dtype=int), (
        first_scores if first_scores is not None else np.zeros(0)
    )


def _standardise(x: np.ndarray) -> np.ndarray:
    sd = x.std()
    return (x - x.mean()) / sd if sd > EPS else np.zeros_like(x)


@dataclass
class Candidates:
    probs: np.ndarray  # [K, N] member p(A>B)
    feats: np.ndarray  # [N, d] context vectors, for diversity
    labeled: np.ndarray  # [M, d] context vectors of labeled pairs
    # [N] calibrated P(judge wrong) per candidate, where a judge has given verdicts (``value``)
    p_judge_wrong: np.ndarray | None = None


Strategy = Callable[[Candidates, int, np.random.Generator], tuple[np.ndarray, np.ndarray]]


def _top(scores: np.ndarray, k: int) -> np.ndarray:
    k = min(k, len(scores))
    idx = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
    return idx[np.argsort(-scores[idx], kind="stable")]


def _random(c: Candidates, k: int, rng: np.random.Generator):
    scores = rng.random(c.probs.shape[1])
    return _top(scores, k), scores


def _entropy(c: Candidates, k: int, rng: np.random.Generator):
    scores = predictive_entropy(c.probs)
    return _top(scores, k), scores


def _bald(c: Candidates, k: int, rng: np.random.Generator):
    scores = bald(c.probs)
    return _top(scores, k), scores


def _balpm(c: Candidates, k: int, rng: np.random.Generator):
    return balpm_batch(c.probs, c.feats, c.labeled, k)


def _kcenter(c: Candidates, k: int, rng: np.random.Generator):
    """Pure diversity: no model signal, only coverage of the context space."""
    feats, labeled = project(c.feats, c.labeled)
    chosen = kcenter_greedy(feats, k, labeled)
    scores = np.zeros(c.probs.shape[1])
    scores[chosen] = np.linspace(1.0, 0.5, len(chosen))
    return chosen, scores


def _random_cluster(c: Candidates, k: int, rng: np.random.Generator):
    """Random, spread out: k-means over the candidates, one random member per cluster."""
    return _cluster_pick(c, k, rng, rng.random(c.probs.shape[1]))


def _bald_cluster(c: Candidates, k: int, rng: np.random.Generator):
    """BALD, spread out: the most informative pair of each of k clusters."""
    return _cluster_pick(c, k, rng, bald(c.probs))


def _cluster_pick(c: Candidates, k: int, rng: np.random.Generator, scores: np.ndarray):
    from sklearn.cluster import MiniBatchKMeans

    n = len(scores)
    if n <= k:
        return _top(scores, k), scores
    (feats,) = project(c.feats)
    kmeans = MiniBatchKMeans(
        n_clusters=k, n_init=1, random_state=int(rng.integers(2**31)), batch_size=1024
    )
    if n > FIT_SAMPLE:  # centroids from a sample are as good, and fitting 100k is seconds
        kmeans.fit(feats[rng.choice(n, FIT_SAMPLE, replace=False)])
        labels = kmeans.predict(feats)
    else:
        labels = kmeans.fit_predict(feats)
    chosen = []
    for cluster in np.unique(labels):
        members = np.flatnonzero(labels == cluster)
        chosen.append(members[np.argmax(scores[members])])
    chosen = np.asarray(chosen, dtype=int)
    if len(chosen) < k:  # empty clusters: fill by score
        rest = np.setdiff1d(np.arange(n), chosen)
        chosen = np.concatenate([chosen, rest[_top(scores[rest], k - len(chosen))]])
    return chosen[np.argsort(-scores[chosen], kind="stable")], scores


def representativeness(feats: np.ndarray, neighbours: int = 5) -> np.ndarray:
    """How typical a candidate is of the open pool: minus its mean squared distance to its nearest
    other candidates in context space (dense regions score high, outliers low)."""
    (x,) = project(feats)
    knn = _knn_sq_dists(x, x, neighbours + 1)[:, 1:]  # the first is the candidate itself
    return -np.where(np.isfinite(knn), knn, 0.0).mean(1)


def _value(c: Candidates, k: int, rng: np.random.Generator):
    """Where a human label changes the most: the judge is likely wrong (calibrated), the reward
    model is uncertain (BALD) and the pair is representative, weighted as the ``value`` routing
    policy weighs them (its own score function). Without verdicts every pair's P(judge wrong) is
    the same, and the order is by uncertainty and representativeness alone. That is always so in
    the app: a verdict is a label in force, so a judged pair is routed (the ``value`` routing
    policy sends it to people by this same score), never an acquisition candidate; the replay
    passes recorded verdicts of pairs it has not revealed yet."""
    import pandas as pd

    from annotate_app.routing.policies import PolicyConfig, value_score

    n = c.probs.shape[1]
    p_wrong = np.zeros(n) if c.p_judge_wrong is None else np.asarray(c.p_judge_wrong, float)
    scores, _, _ = value_score(
        p_wrong,
        pd.Series(bald(c.probs)),
        pd.Series(representativeness(c.feats)),
        PolicyConfig(name="value"),
    )
    return _top(scores, k), scores


STRATEGIES: dict[str, Strategy] = {
    "random": _random,
    "entropy": _entropy,
    "bald": _bald,
    "balpm": _balpm,
    "kcenter": _kcenter,
    "random_cluster": _random_cluster,
    "bald_cluster": _bald_cluster,
    "value": _value,
}


def acquire(
    strategy: str, candidates: Candidates, k: int, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """The chosen batch (best first) and every candidate's acquisition score."""
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; choose from {', '.join(STRATEGIES)}")
    if candidates.probs.shape[1] == 0 or k <= 0:
        return np.zeros(0, dtype=int), np.zeros(candidates.probs.shape[1])
    return STRATEGIES[strategy](candidates, k, np.random.default_rng(seed))
