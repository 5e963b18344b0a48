"""The routing simulation with several annotators per pair, and a verdict-only judge.

No encoder runs here: the pool gets random stand-in vectors, and the reward model is left out
(``rm=False``, and only policies that do not read it)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from annotate_app.routing.calibration import JudgeCalibration
from annotate_app.routing.features import pair_features, verdict_only
from annotate_app.routing.learned import LearnedRouter
from annotate_app.routing.policies import PolicyConfig, decide
from annotate_app.simulation.routing import Pool, RoutingSimConfig, judge_label, run_one


def _frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    long = rng.random(n) < 0.4
    return pd.DataFrame(
        {
            "pair_id": [f"p{seed}-{i}" for i in range(n)],
            "prompt": ["Explain it " + "in detail " * (30 if lg else 1) for lg in long],
            "n_turns": 1,
            "text_a": ["word " * (300 if lg else 20) for lg in long],
            "text_b": ["word " * (280 if lg else 25) for lg in long],
        }
    )


def _pool(
    n: int = 300, seed: int = 0, flip: float = 0.15, short: float = 0.9, long_: float = 0.5
) -> tuple[Pool, np.ndarray]:
    """Three annotators who each flip the true side ``flip`` of the time; a verdict-only judge that
    is right ``short`` of the time on short pairs and ``long_`` on long ones (a feature pattern)."""
    rng = np.random.default_rng(seed)
    frame = _frame(n, seed)
    truth = rng.integers(0, 2, n).astype(float)
    votes = np.stack([np.where(rng.random(n) < 0.15, 1 - truth, truth) for _ in range(3)], axis=1)
    long = frame["prompt"].str.len().to_numpy() > 100
    right = rng.random(n) < np.where(long, long_, short)
    p_a = np.where(right, truth, 1 - truth)  # 1 or 0: no probability
    verdicts = pd.DataFrame({"pair_id": frame["pair_id"], "p_a": p_a})
    frame["human"] = truth.astype(int)
    emb = rng.normal(size=(n, 4))
    pool = Pool(
        frame=frame,
        features=pair_features(frame, verdicts),
        emb_a=emb,
        emb_b=-emb,
        votes=votes,
        judge_label=judge_label(p_a),
        test_a=emb[:0],
        test_b=emb[:0],
        test_y=np.zeros(0),
    )
    return pool, truth


def test_a_paid_human_without_a_vote_where_the_others_split_says_tie():
    pool, _ = _pool(n=60)
    paid_col = int(np.random.default_rng(0).integers(3))  # the column humans(0) pays
    others = [k for k in range(3) if k != paid_col]
    pool.votes[:10, paid_col] = np.nan
    pool.votes[:5, others[0]], pool.votes[:5, others[1]] = 1.0, 0.0  # they split
    pool.votes[5:10, others[0]] = pool.votes[5:10, others[1]] = 1.0  # they agree on A
    paid, reference, _ = pool.humans(0)
    assert not np.isnan(paid).any()
    assert (paid[:5] == 0.5).all() and np.isnan(reference[:5]).all()
    assert (paid[5:10] == 1.0).all()
    row = run_one(pool, "all-human", 1.0, 0, RoutingSimConfig(seeds=1, rm=False))
    assert row["scored_pairs"] == int((~np.isnan(reference)).sum()) <= 55, "split pairs unscored"


def test_one_annotator_is_paid_and_the_others_are_the_reference():
    pool, _ = _pool()
    config = RoutingSimConfig(seeds=1, rm=False)
    for seed in range(3):
        paid, reference, note = pool.humans(seed)
        col = next(k for k in range(3) if np.array_equal(paid, pool.votes[:, k]))
        others = np.delete(pool.votes, col, axis=1)
        split = others[:, 0] != others[:, 1]
        assert np.isnan(reference[split]).all()
        assert (reference[~split] == others[~split, 0]).all()
        assert f"annotator {col + 1} of 3" in note and "majority of the other 2" in note
        row = run_one(pool, "all-human", 1.0, seed, config)
        # the paid human is scored against the others: below 1, as a real campaign is
        expected = (paid[~split] == reference[~split]).mean()
        assert row["label_accuracy"] == pytest.approx(expected) and row["label_accuracy"] < 0.95
        assert "paid human" in row["reference"]
        assert row["scored_pairs"] == int((~split).sum())


def test_verdict_only_judge_falls_back_to_feature_based_p_right_and_says_so():
    pool, truth = _pool(400, 1)
    feats = pool.features
    assert verdict_only(feats["judge_p_a"].to_numpy())
    wrong = (pool.judge_label != truth).astype(int)
    # before any human label: P(right) unknown, and the reason says where P(right) came from
    early = decide(PolicyConfig(name="confidence"), feats, 50, JudgeCalibration(), None)
    assert early["reason"].str.contains("verdict-only judge").any()
    router = LearnedRouter().fit(feats.iloc[:200], wrong[:200])
    calibration = JudgeCalibration().fit(
        feats["judge_p_a"].to_numpy()[:200], np.ones(200), truth[:200]
    )
    routes = decide(PolicyConfig(name="confidence"), feats.iloc[200:], 60, calibration, router)
    humans = routes[routes["route"] == "human"]
    assert len(humans) == 60
    assert humans["reason"].str.contains("P\\(right\\) from pair features").all()
    # the fallback finds where this judge fails: long pairs get the human labels
    long = feats["log_prompt_len"].to_numpy()[200:] > np.log1p(100)
    picked = routes["route"].to_numpy() == "human"
    assert long[picked].mean() > 0.8


def test_simulation_with_a_verdict_only_judge_beats_random_routing():
    pool, _ = _pool(400, 2, flip=0.1, short=0.97, long_=0.35)
    config = RoutingSimConfig(seeds=1, rm=False)
    scores = {
        p: np.mean([run_one(pool, p, 0.25, s, config)["label_accuracy"] for s in range(3)])
        for p in ("random", "confidence", "oracle")
    }
    row = run_one(pool, "confidence", 0.25, 0, config)
    assert row["verdict_only_judge"]
    assert scores["confidence"] > scores["random"] + 0.02
    assert scores["oracle"] >= scores["confidence"]
