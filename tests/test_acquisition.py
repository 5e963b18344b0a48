"""Acquisition functions on hand-made member probability matrices."""

from __future__ import annotations

import math

import numpy as np
import pytest

from annotate_app.active.acquisition import (
    STRATEGIES,
    Candidates,
    acquire,
    bald,
    balpm_batch,
    kcenter_greedy,
    predictive_entropy,
)
from annotate_app.active.select import priorities

# Columns: 0 all members sure A; 1 all members coin-flip; 2 members disagree hard; 3 mild disagreement
PROBS = np.array(
    [
        [0.99, 0.5, 0.99, 0.6],
        [0.99, 0.5, 0.01, 0.4],
        [0.99, 0.5, 0.99, 0.6],
        [0.99, 0.5, 0.01, 0.4],
    ]
)


def test_entropy_ranks_mean_uncertainty() -> None:
    h = predictive_entropy(PROBS)
    assert h[1] == pytest.approx(math.log(2))
    assert h[2] == pytest.approx(math.log(2))  # the mean of 0.99 and 0.01 is also 0.5
    assert h[0] < 0.06


def test_bald_separates_disagreement_from_noise() -> None:
    mi = bald(PROBS)
    assert mi[1] == pytest.approx(0.0, abs=1e-9)  # every member says coin flip: nothing to learn
    assert mi[0] == pytest.approx(0.0, abs=1e-9)
    assert mi[2] > mi[3] > 0
    chosen, _ = acquire("bald", Candidates(PROBS, np.eye(4), np.zeros((0, 4))), 1)
    assert chosen.tolist() == [2]
    chosen, _ = acquire("entropy", Candidates(PROBS, np.eye(4), np.zeros((0, 4))), 2)
    assert set(chosen.tolist()) == {1, 2}


def test_kcenter_spreads_out_and_avoids_the_labeled_region() -> None:
    # two tight clusters of candidates, one of which is already labeled
    rng = np.random.default_rng(0)
    near = rng.normal(0, 0.01, (10, 2))
    far = rng.normal(0, 0.01, (10, 2)) + [5, 5]
    feats = np.vstack([near, far])
    picked = kcenter_greedy(feats, 1, centers=np.zeros((1, 2)))
    assert picked[0] >= 10
    picked = kcenter_greedy(feats, 2)
    assert {int(p) >= 10 for p in picked} == {True, False}


def test_balpm_trades_uncertainty_for_unexplored_prompts() -> None:
    # four equally uncertain candidates; two sit on top of labeled prompts
    probs = np.array([[0.9, 0.9, 0.9, 0.9], [0.1, 0.1, 0.1, 0.1]])
    feats = np.array([[0.0, 0.0], [0.0, 0.1], [5.0, 5.0], [9.0, 0.0]])
    labeled = np.array([[0.0, 0.0], [0.0, 0.1], [0.1, 0.0]])
    chosen, _ = balpm_batch(probs, feats, labeled, k=2, neighbours=1)
    assert set(chosen.tolist()) == {2, 3}
    # with no prompt signal (beta 0) it is plain BALD
    probs = np.array([[0.9, 0.6, 0.5, 0.99], [0.1, 0.4, 0.5, 0.99]])
    chosen, _ = balpm_batch(probs, feats, labeled, k=1, beta=0.0)
    assert chosen.tolist() == [0]


def test_every_strategy_returns_k_distinct_candidates() -> None:
    rng = np.random.default_rng(1)
    probs = rng.uniform(0.05, 0.95, (5, 300))
    feats = rng.normal(size=(300, 8))
    cands = Candidates(probs, feats, rng.normal(size=(20, 8)))
    for name in STRATEGIES:
        chosen, scores = acquire(name, cands, 25, seed=3)
        assert len(chosen) == 25 and len(set(chosen.tolist())) == 25, name
        assert scores.shape == (300,), name
    with pytest.raises(ValueError, match="unknown strategy"):
        acquire("nope", cands, 5)


def test_priorities_put_the_batch_first_in_order() -> None:
    scores = np.array([0.1, 0.9, 0.5, 0.3])
    prio = priorities(4, np.array([2, 0]), scores)
    assert prio[2] > prio[0] > 1.0 >= max(prio[1], prio[3])
    assert prio[1] > prio[3]  # the rest keep their score order


def test_value_picks_where_the_judge_is_likely_wrong_and_the_model_uncertain() -> None:
    # Six candidates on one point (equally representative). Columns 0-2: the judge is
    # likely wrong; 3-5: it is likely right. Within each, the members disagree most on 0 and 3.
    probs = np.array(
        [
            [0.95, 0.6, 0.5, 0.95, 0.6, 0.5],
            [0.05, 0.4, 0.5, 0.05, 0.4, 0.5],
        ]
    )
    feats = np.zeros((6, 4))
    p_wrong = np.array([0.5, 0.5, 0.5, 0.2, 0.2, 0.2])
    chosen, scores = acquire("value", Candidates(probs, feats, feats[:0], p_wrong), 2)
    assert chosen.tolist() == [0, 1]  # P(wrong) first, then the model's uncertainty
    assert scores[0] > scores[1] > scores[2] > scores[3] > scores[4] > scores[5]
    # the weight of P(judge wrong) is the routing policy's own: one home for the value score
    from annotate_app.routing.policies import PolicyConfig

    uw = PolicyConfig().uncertainty_weight
    assert scores[0] - scores[3] == pytest.approx(0.3)
    # BALD percentile ranks with ties: 5.5/6 for the most disputed pairs, 1.5/6 for coin flips
    assert scores[0] - scores[2] == pytest.approx(uw * (5.5 - 1.5) / 6)
    # no verdicts: BALD and representativeness alone; an outlier loses to a typical pair
    feats_out = feats.copy()
    feats_out[0] += 50.0
    chosen, _ = acquire("value", Candidates(probs, feats_out, feats[:0]), 1)
    assert chosen.tolist() == [3]


def test_representativeness_prefers_dense_regions() -> None:
    from annotate_app.active.acquisition import representativeness

    rng = np.random.default_rng(2)
    feats = np.vstack([rng.normal(0, 0.1, (20, 3)), [[9.0, 9.0, 9.0]]])
    rep = representativeness(feats)
    assert rep[-1] < rep[:-1].min()
