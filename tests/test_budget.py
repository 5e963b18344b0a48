"""Budget pacing never overspends; ε-exploration really sends uniformly random pairs to humans."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from annotate_app.routing.budget import BudgetConfig, allowance, pace, spend, total_budget
from annotate_app.routing.features import FEATURE_NAMES
from annotate_app.routing.learned import LearnedRouter
from annotate_app.routing.policies import PolicyConfig, decide


def test_total_budget_fraction_and_count():
    assert total_budget(BudgetConfig(human_budget=0.25), 1000) == 250
    assert total_budget(BudgetConfig(human_budget=0.25, expected_pairs=4000), 1000) == 1000
    assert total_budget(BudgetConfig(human_budget=300), 1000) == 300
    with pytest.raises(ValueError, match="whole count"):
        BudgetConfig(human_budget=2.5)
    with pytest.raises(ValueError, match=">= 0"):
        BudgetConfig(human_budget=-0.1)


def test_pacing_releases_the_budget_with_arrivals_and_time():
    cfg = BudgetConfig(human_budget=0.5, expected_pairs=1000)
    # The first hour's 100 pairs may use 10% of the budget, not all of it.
    assert allowance(cfg, 100, committed=0) == 50
    assert allowance(cfg, 1000, committed=450) == 50
    timed = BudgetConfig(human_budget=100, horizon_hours=10)
    assert pace(timed, 500, elapsed_hours=1) == pytest.approx(0.1)
    assert allowance(timed, 500, committed=0, elapsed_hours=1) == 10
    assert allowance(timed, 500, committed=0, elapsed_hours=20) == 100


@settings(max_examples=60, deadline=None)
@given(
    budget=st.one_of(st.floats(0, 1), st.integers(2, 500).map(float)),
    arrivals=st.lists(st.integers(0, 80), min_size=1, max_size=15),
    label_share=st.floats(0, 1),
)
def test_pacing_never_overspends(budget, arrivals, label_share):
    """Pairs arrive in batches; after each, routing hands out the allowance and annotators finish
    a share of their queue. Labels given never exceed the released or the total budget."""
    expected = sum(arrivals) or 1
    cfg = BudgetConfig(human_budget=budget, expected_pairs=expected)
    n_pairs = labeled = 0
    queued = 0
    for batch in arrivals:
        n_pairs += batch
        # Routing re-decides every open pair, queued ones included: only labels count as spent.
        queued = allowance(cfg, n_pairs, labeled)
        assert labeled + queued <= total_budget(cfg, n_pairs)
        assert labeled + queued <= total_budget(cfg, n_pairs) * pace(cfg, n_pairs) + 1e-9
        done = int(queued * label_share)
        labeled += done
    assert labeled <= total_budget(cfg, expected)


def test_policies_never_exceed_their_slots():
    rng = np.random.default_rng(0)
    feats = pd.DataFrame(rng.random((50, len(FEATURE_NAMES))), columns=list(FEATURE_NAMES))
    feats["has_judge"] = 1.0
    feats["judge_consistent"] = (rng.random(50) > 0.3).astype(float)
    feats.index = pd.Index([f"p{i}" for i in range(50)], name="pair_id")
    for name in ("all-human", "random", "confidence", "value", "learned"):
        for slots in (0, 7, 50, 80):
            out = decide(PolicyConfig(name=name), feats, slots)
            assert (out["route"] == "human").sum() <= min(slots, 50), (name, slots)


def test_spend_counts_costs():
    s = spend(BudgetConfig(human_budget=0.1, cost_human=0.5, cost_judge=0.01), 40, 300, 1000)
    assert s.human_cost == 20 and s.judge_cost == pytest.approx(3.0)
    assert s.total == pytest.approx(23.0) and s.budget_labels == 100


def test_epsilon_exploration_picks_uniformly_random_pairs():
    """A fitted router that always prefers the same 10 pairs; the ε share still reaches every pair,
    about equally often, with the propensity it says."""
    rng = np.random.default_rng(0)
    n = 50
    feats = pd.DataFrame(rng.normal(size=(n, len(FEATURE_NAMES))), columns=list(FEATURE_NAMES))
    feats["has_judge"] = 1.0
    feats["judge_consistent"] = 1.0
    feats["log_len_total"] = np.r_[np.full(10, 5.0), np.zeros(n - 10)]
    feats.index = pd.Index([f"p{i}" for i in range(n)], name="pair_id")
    router = LearnedRouter()
    router.fit(feats, (feats["log_len_total"] > 1).astype(int).to_numpy())
    assert router.fitted

    counts = pd.Series(0, index=feats.index)
    rounds = 150
    for seed in range(rounds):
        cfg = PolicyConfig(name="learned", seed=seed)
        cfg.router.epsilon = 0.2
        out = decide(cfg, feats, 20, router=router)
        explore = out[out["explore"]]
        assert len(explore) == 4 and (explore["route"] == "human").all()
        assert np.allclose(explore["propensity"], 4 / n)
        exploit = out[(out["route"] == "human") & ~out["explore"]]
        assert set(exploit["pair_id"]) >= set(feats.index[:10]) - set(explore["pair_id"])
        counts[explore["pair_id"]] += 1
    # Each pair expected 150 * 4/50 = 12 times; every pair explored, none far off uniform.
    assert counts.min() > 0
    assert counts.max() < 30
    assert counts[feats.index[10:]].sum() / counts.sum() == pytest.approx(0.8, abs=0.06)
