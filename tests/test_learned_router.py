"""The learned router recovers a planted weakness of a simulated judge (long or multi-turn pairs)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from annotate_app.routing.features import LENGTH_BINS, pair_features
from annotate_app.routing.learned import LearnedRouter, LearnedRouterConfig
from annotate_app.routing.policies import PolicyConfig, decide
from annotate_app.simulation.synthetic_judge import (
    SyntheticJudgeConfig,
    synthetic_verdicts,
    weak_pairs,
)

WORDS = [
    "the",
    "a",
    "bread",
    "flour",
    "water",
    "yeast",
    "oven",
    "bake",
    "knead",
    "dough",
    "rise",
    "salt",
    "warm",
    "bowl",
]


def _pool(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)

    def text(k: int) -> str:
        return " ".join(rng.choice(WORDS, size=k))

    long = rng.random(n) < 0.35
    multi = rng.random(n) < 0.2
    return pd.DataFrame(
        {
            "pair_id": [f"s{seed}-{i}" for i in range(n)],
            "prompt": [text(30) for _ in range(n)],
            "n_turns": np.where(multi, 3, 1),
            "text_a": [text(200 if lg else 20) for lg in long],
            "text_b": [text(200 if lg else 25) for lg in long],
            "human": rng.integers(0, 2, n),
        }
    )


@pytest.mark.parametrize("model", ["logistic", "gbm"])
def test_router_finds_where_the_judge_fails(model):
    judge = SyntheticJudgeConfig(accuracy=0.75, gap=0.4, long_chars=1500)
    train, test = _pool(500, 0), _pool(400, 1)
    weak_train, weak_test = weak_pairs(train, judge), weak_pairs(test, judge)
    assert 0.3 < weak_train.mean() < 0.6  # the planted weakness is there to find

    def features(frame):
        verdicts = synthetic_verdicts(frame, judge)
        wrong = ((verdicts["p_a"] > 0.5).astype(int) != frame["human"]).to_numpy()
        return pair_features(frame, verdicts), wrong

    x_train, wrong_train = features(train)
    x_test, wrong_test = features(test)
    assert wrong_train[weak_train].mean() > wrong_train[~weak_train].mean() + 0.2

    router = LearnedRouter(LearnedRouterConfig(model=model)).fit(x_train, wrong_train.astype(int))
    p = router.p_disagree(x_test)
    # It ranks the weak pairs above the others, without ever being told which they are.
    assert roc_auc_score(weak_test, p) > 0.8
    assert roc_auc_score(wrong_test, p) > 0.6
    top = set(router.importances().index[:4])
    sizes = {"log_len_total", "log_len_a", "log_len_b", "multi_turn", "judge_consistent"}
    assert top & (sizes | {b for b in LENGTH_BINS if not b.startswith("len_diff")})

    # Routed with a budget of 20%, the human picks are mostly weak pairs.
    cfg = PolicyConfig(name="learned", router=LearnedRouterConfig(model=model, epsilon=0.1))
    out = decide(cfg, x_test, 80, router=router)
    chosen = out[(out["route"] == "human") & ~out["explore"]]["pair_id"]
    weak_ids = set(test["pair_id"][weak_test])
    assert np.mean([pid in weak_ids for pid in chosen]) > 0.8


def test_inverse_propensity_weights_are_used():
    """Training pairs explored at propensity 0.05 outweigh 20x the pairs picked on purpose: with
    the labels set to disagree only on the explored pairs, weighting changes what is learned."""
    frame = _pool(300, 2)
    feats = pair_features(frame)
    rng = np.random.default_rng(0)
    y = (feats["log_len_total"] > feats["log_len_total"].median()).astype(int).to_numpy()
    noise = rng.random(len(y)) < 0.3
    y_noisy = np.where(noise, 1 - y, y)
    prop = np.where(noise, 1.0, 0.05)  # the clean pairs were the explored ones
    weighted = LearnedRouter().fit(feats, y_noisy, prop)
    flat = LearnedRouter().fit(feats, y_noisy, None)
    auc_w = roc_auc_score(y, weighted.p_disagree(feats))
    auc_f = roc_auc_score(y, flat.p_disagree(feats))
    assert auc_w >= auc_f
    assert weighted.importances().abs().max() > flat.importances().abs().max()


def test_refit_every_k_labels_and_not_fitted_on_too_little():
    router = LearnedRouter(LearnedRouterConfig(refit_every=50, min_train=30))
    assert router.needs_refit(0)
    frame = _pool(20, 3)
    router.fit(pair_features(frame), np.r_[np.zeros(10), np.ones(10)].astype(int), n_labels=20)
    assert not router.fitted and router.importances().empty
    assert not router.needs_refit(60) and router.needs_refit(70)


def test_simulation_rows_with_the_synthetic_judge():
    """The simulation's own loop on a small pool (random stand-in embeddings, so no encoder runs):
    rows have the issue's fields, budgets are spent exactly, and routing beats random routing on
    label accuracy against a judge with a planted weakness."""
    from annotate_app.simulation.routing import Pool, RoutingSimConfig, judge_label, run_one

    frame = _pool(300, 4)
    judge = SyntheticJudgeConfig(accuracy=0.7, gap=0.4)
    verdicts = synthetic_verdicts(frame, judge)
    rng = np.random.default_rng(0)
    emb_a = rng.normal(size=(300, 8)) + frame["human"].to_numpy()[:, None] * 0.3
    emb_b = rng.normal(size=(300, 8))
    test_a, test_b = rng.normal(size=(100, 8)), rng.normal(size=(100, 8))
    pool = Pool(
        frame=frame,
        features=pair_features(frame, verdicts),
        emb_a=emb_a,
        emb_b=emb_b,
        votes=frame["human"].to_numpy(float)[:, None],
        judge_label=judge_label(verdicts["p_a"].to_numpy()),
        test_a=test_a,
        test_b=test_b,
        test_y=(test_a[:, 0] > test_b[:, 0]).astype(float),
    )
    config = RoutingSimConfig(seeds=1, rm=False)

    rows = {
        p: run_one(pool, p, 0.3, 0, config) for p in ("random", "confidence", "learned", "oracle")
    }
    for row in rows.values():
        assert {
            "policy",
            "human_budget",
            "seed",
            "human_labels",
            "ai_labels",
            "label_accuracy",
            "rm_accuracy",
            "cost",
            "reference",
        } <= set(row)
        assert row["human_labels"] == 90 and row["ai_labels"] == 210
    assert rows["learned"]["label_accuracy"] > rows["random"]["label_accuracy"]
    assert rows["confidence"]["label_accuracy"] > rows["random"]["label_accuracy"]
    assert rows["oracle"]["label_accuracy"] >= rows["confidence"]["label_accuracy"]
    all_ai = run_one(pool, "all-ai", 0.3, 0, config)
    assert all_ai["human_labels"] == 0
    assert all_ai["label_accuracy"] == pytest.approx((pool.judge_label == frame["human"]).mean())
