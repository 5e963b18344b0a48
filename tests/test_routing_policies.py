"""Each routing policy on hand-made pairs with a known judge calibration and known reward uncertainty."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from annotate_app.routing.calibration import JudgeCalibration
from annotate_app.routing.features import pair_features
from annotate_app.routing.policies import POLICIES, PolicyConfig, decide


def _pairs(n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "pair_id": [f"p{i}" for i in range(n)],
            "prompt": ["How do I bake bread?"] * n,
            "n_turns": [1] * n,
            "text_a": ["Mix flour, water and yeast."] * n,
            "text_b": ["Buy it at a shop."] * n,
        }
    )


def _features(judge: list[tuple[float | None, bool]], unc=None, acq=None) -> pd.DataFrame:
    """judge: (p_a or None for no verdict, consistent) per pair; unc/acq: reward-model columns."""
    pairs = _pairs(len(judge))
    jf = pd.DataFrame(
        [
            {"pair_id": f"p{i}", "p_a": p, "metadata": {"consistent": c}}
            for i, (p, c) in enumerate(judge)
            if p is not None
        ]
    )
    scores = None
    if unc is not None:
        scores = pd.DataFrame(
            {
                "pair_id": pairs["pair_id"],
                "p_a": 0.5,
                "uncertainty": unc,
                "acquisition": acq if acq is not None else [0.0] * len(unc),
            }
        )
    return pair_features(pairs, jf if len(jf) else None, scores)


def _calibrated_judge() -> JudgeCalibration:
    """A judge that is right 95% of the time when confident (|p_a - .5| >= .4), 50% when not."""
    rng = np.random.default_rng(0)
    n = 400
    confident = rng.random(n) < 0.5
    p_a = np.where(confident, 0.95, 0.55)
    right = np.where(confident, rng.random(n) < 0.95, rng.random(n) < 0.5)
    human_a = np.where(right, 1, 0)
    return JudgeCalibration().fit(p_a, np.ones(n), human_a)


def _route(out: pd.DataFrame) -> dict[str, str]:
    return dict(zip(out["pair_id"], out["route"], strict=True))


def test_every_policy_gives_every_pair_a_route_and_a_reason():
    feats = _features([(0.9, True), (0.6, False), (None, True), (0.2, True)], unc=[0.1] * 4)
    for name in POLICIES:
        out = decide(PolicyConfig(name=name), feats, 2, _calibrated_judge())
        assert list(out["pair_id"]) == ["p0", "p1", "p2", "p3"]
        assert set(out["route"]) <= {"human", "ai", "hold"}
        assert out["reason"].str.len().min() > 10, name
        assert (out["route"] == "human").sum() <= 2, name


def test_baselines():
    feats = _features([(0.9, True)] * 10, unc=[0.0] * 10, acq=np.linspace(0, 1, 10))
    human = decide(PolicyConfig(name="all-human"), feats, 3)
    assert _route(human) == {f"p{i}": "human" if i >= 7 else "hold" for i in range(10)}
    assert (decide(PolicyConfig(name="all-ai"), feats, 3)["route"] == "ai").all()
    picks = [
        frozenset(r[r["route"] == "human"]["pair_id"])
        for r in (decide(PolicyConfig(name="random", seed=s), feats, 4) for s in range(5))
    ]
    assert all(len(p) == 4 for p in picks)
    assert len(set(picks)) > 1  # different seeds draw different pairs
    out = decide(PolicyConfig(name="random"), feats, 4)
    assert np.allclose(out["propensity"], 0.4)


def test_confidence_trusts_only_confident_consistent_verdicts():
    calib = _calibrated_judge()
    feats = _features([(0.95, True), (0.55, True), (0.95, False), (None, True), (0.05, True)])
    out = decide(PolicyConfig(name="confidence", fill_budget=False), feats, 2, calib)
    assert _route(out) == {"p0": "ai", "p1": "human", "p2": "human", "p3": "ai", "p4": "ai"}
    reasons = dict(zip(out["pair_id"], out["reason"], strict=True))
    assert "orders disagree" in reasons["p2"]
    assert "no judge verdict" in reasons["p3"]
    assert "trusted" in reasons["p0"]
    # With one slot, the inconsistent verdict goes first and the unsure one waits.
    out = decide(PolicyConfig(name="confidence", fill_budget=False), feats, 1, calib)
    assert _route(out)["p2"] == "human" and _route(out)["p1"] == "hold"
    # Spare budget goes to the least trusted of the trusted pairs.
    out = decide(PolicyConfig(name="confidence"), feats, 3, calib)
    assert (out["route"] == "human").sum() == 3


def test_confidence_follows_the_calibration_not_the_raw_score():
    """A judge that is confidently wrong: after calibration on humans it is not trusted."""
    rng = np.random.default_rng(1)
    p_a = np.full(200, 0.95)
    human_a = (rng.random(200) < 0.4).astype(int)  # right only 40% of the time
    calib = JudgeCalibration().fit(p_a, np.ones(200), human_a)
    feats = _features([(0.95, True), (0.95, True)])
    assert (decide(PolicyConfig(name="confidence"), feats, 0, calib)["route"] == "hold").all()
    assert (
        decide(PolicyConfig(name="confidence"), feats, 0, JudgeCalibration())["route"] == "ai"
    ).all()


def test_value_prefers_likely_wrong_judge_then_uncertain_reward_model():
    calib = _calibrated_judge()
    feats = _features(
        [(0.95, True), (0.55, True), (0.55, True), (0.95, True)],
        unc=[0.30, 0.01, 0.20, 0.02],
    )
    out = decide(PolicyConfig(name="value"), feats, 1, calib)
    assert _route(out)["p2"] == "human"  # judge unsure and reward model uncertain
    out = decide(PolicyConfig(name="value"), feats, 2, calib)
    assert {p for p, r in _route(out).items() if r == "human"} == {"p1", "p2"}
    # Among confident verdicts, the reward model's uncertainty breaks the tie.
    out = decide(PolicyConfig(name="value"), feats, 3, calib)
    assert _route(out)["p0"] == "human" and _route(out)["p3"] == "ai"
    scores = out.set_index("pair_id")["score"]
    assert scores["p2"] > scores["p1"] > scores["p0"] > scores["p3"]


def test_learned_without_a_router_falls_back_to_calibration_and_explores():
    calib = _calibrated_judge()
    feats = _features([(0.95, True)] * 15 + [(0.55, True)] * 5)
    cfg = PolicyConfig(name="learned")
    cfg.router.epsilon = 0.5
    out = decide(cfg, feats, 4, calib)
    human = out[out["route"] == "human"]
    assert len(human) == 4
    assert human["explore"].sum() == 2
    assert human.loc[~human["explore"], "pair_id"].isin([f"p{i}" for i in range(15, 20)]).all()
    assert (
        out.loc[~out["explore"] & (out["route"] == "human"), "reason"]
        .str.contains("router not fitted")
        .all()
    )
    # Exploration picks go first in the human queue.
    assert human.sort_values("priority", ascending=False)["explore"].iloc[:2].all()


def test_unknown_policy_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown routing policy 'best'"):
        PolicyConfig(name="best")


def test_features_cover_lengths_similarity_tags_and_missing_sources():
    pairs = pd.DataFrame(
        {
            "pair_id": ["x", "y"],
            "prompt": ["How do I kill a python process?", "What is 12 * 7?"],
            "n_turns": [3, 1],
            "text_a": ["Use `kill PID`.\n```\nkill 123\n```", "84"],
            "text_b": ["Use kill with the PID.", "It is 84."],
        }
    )
    emb = {"x": (np.array([1.0, 0.0]), np.array([1.0, 1.0]))}
    f = pair_features(pairs, embeddings=emb)
    assert f.loc["x", "tag_code"] == 1 and f.loc["x", "tag_safety"] == 1
    assert f.loc["y", "tag_math"] == 1 and f.loc["y", "tag_code"] == 0
    assert f.loc["x", "multi_turn"] == 1 and f.loc["y", "multi_turn"] == 0
    assert f.loc["x", "emb_cosine"] == pytest.approx(2**-0.5) and f.loc["x", "has_embedding"] == 1
    assert f.loc["y", "has_embedding"] == 0
    assert 0 < f.loc["y", "jaccard"] < 1
    assert f.loc["x", "len_diff"] > 0
    # No judge and no reward model yet: neutral values and the flags say so.
    assert (f["has_judge"] == 0).all() and (f["judge_p_a"] == 0.5).all()
    assert (f["has_rm"] == 0).all() and (f["judge_consistent"] == 1).all()
