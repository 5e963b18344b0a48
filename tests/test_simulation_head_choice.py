"""Replays fit the reward head as the train job does (``reward.pipeline.fit_chosen_head``): the
variant chosen by CV on the labels so far, its out-of-fold logit scale in the weights. Checked here
against ``choose_head`` and ``fit_head`` called by hand, for both replay modes; small heads on
planted vectors, so no encoder runs."""

from __future__ import annotations

import json
from dataclasses import asdict, replace

import numpy as np
import pandas as pd
import pytest

from annotate_app.active.bandit import BanditConfig
from annotate_app.reward.config import HeadChoiceConfig, HeadConfig
from annotate_app.reward.head_choice import choose_head
from annotate_app.reward.metrics import evaluate
from annotate_app.reward.pipeline import fit_head
from annotate_app.simulation.routing import Pool, RoutingSimConfig, _reward_features
from annotate_app.simulation.strategies import Replay, SimulationConfig, simulation_config

# few short-trained members: a timid head, whose fitted logit scale is well above 1
HEAD = HeadConfig(members=3, hidden=16, min_steps=30, max_steps=30)
CHOICE = HeadChoiceConfig(variants=("default", "linear_decay10"), folds=3, min_labels=30)


def _planted(n: int, dim: int = 8, seed: int = 0):
    """Pairs whose outcome follows a linear reward of their vectors."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(n, dim)).astype(np.float32)
    b = rng.normal(size=(n, dim)).astype(np.float32)
    w = rng.normal(size=dim) * 3 / np.sqrt(dim)
    y = (rng.random(n) < 1 / (1 + np.exp(-(a - b) @ w))).astype(float)
    return a, b, y


def _app_head(a, b, y, head: HeadConfig, choice_config: HeadChoiceConfig):
    """The train job's steps written out: choose the variant, fit it, fold in its scale."""

    def fit_predict(h: HeadConfig, fit: np.ndarray, score: np.ndarray) -> np.ndarray:
        return fit_head(a[fit], b[fit], y[fit], np.ones(len(fit)), h).member_probs(
            a[score], b[score]
        )

    choice = choose_head(fit_predict, y, head, choice_config)
    model = fit_head(a, b, y, np.ones(len(y)), choice.head)
    return model.fold_logit_scale(choice.logit_scale), choice


def test_a_strategy_replay_scores_with_the_chosen_scaled_head() -> None:
    a, b, y = _planted(300)
    replay = Replay(a, b, np.zeros((300, 4), np.float32), y, np.zeros(300, bool), None)
    pool, test = np.arange(240), np.arange(240, 300)
    start = np.random.default_rng(1).choice(pool, size=60, replace=False)
    config = SimulationConfig(data="x", budgets=[60, 80], batch=20, head=HEAD, head_choice=CHOICE)
    rows = replay.replay("random", 2, pool, test, start, config)

    # the first budget's model: the seed set alone, with the round's head seed
    head = replace(HEAD, seed=2 * 1000)
    model, choice = _app_head(a[start], b[start], y[start], head, CHOICE)
    assert choice.logit_scale > 1.2  # the scale is there to be carried
    assert rows[0]["logit_scale"] == choice.logit_scale
    assert rows[0]["head_variant"] == choice.variant
    p = model.member_probs(a[test], b[test]).mean(0)
    assert rows[0]["log_loss"] == pytest.approx(evaluate(p, y[test])["log_loss"], abs=1e-6)
    plain = fit_head(a[start], b[start], y[start], np.ones(60), head)
    plain_loss = evaluate(plain.member_probs(a[test], b[test]).mean(0), y[test])["log_loss"]
    assert abs(rows[0]["log_loss"] - plain_loss) > 1e-3

    # with the choice off, the replay's head is the configured one, unscaled
    off = replace(config, head_choice=replace(CHOICE, enabled=False))
    rows_off = replay.replay("random", 2, pool, test, start, off)
    assert rows_off[0]["log_loss"] == pytest.approx(plain_loss, abs=1e-6)
    assert rows_off[0]["logit_scale"] == 1.0 and rows_off[0]["head_variant"] == "default"


def test_a_routing_replay_reads_the_chosen_scaled_head() -> None:
    n = 120
    a, b, y = _planted(n, seed=3)
    frame = pd.DataFrame({"pair_id": [f"p{i}" for i in range(n)]})
    features = pd.DataFrame({"judge_p_a": np.full(n, 0.5)})
    pool = Pool(frame, features, a, b, y[:, None], y, a[:0], b[:0], np.zeros(0))
    labeled = np.zeros(n, bool)
    labeled[:60] = True
    config = RoutingSimConfig(seeds=1, head=HEAD, head_choice=CHOICE)

    feats = _reward_features(pool, labeled, y, config, seed=7)

    rows = np.arange(60)
    model, choice = _app_head(a[rows], b[rows], y[rows], replace(HEAD, seed=7), CHOICE)
    assert choice.logit_scale > 1.2
    probs = model.member_probs(a, b)
    np.testing.assert_allclose(feats["rm_p_a"], probs.mean(0), atol=1e-6)
    np.testing.assert_allclose(feats["rm_uncertainty"], probs.std(0), atol=1e-6)


def test_the_replay_config_survives_the_job_params() -> None:
    config = SimulationConfig(
        data="pool.jsonl",
        head=HEAD,
        head_choice=HeadChoiceConfig(variants=("default", "decay10"), folds=3, enabled=False),
        bandit=BanditConfig(explore=0.5),
    )
    raw = json.loads(json.dumps(asdict(config)))
    assert simulation_config(raw) == config
    assert SimulationConfig(data="x").head_choice == HeadChoiceConfig()
    assert RoutingSimConfig().head_choice == HeadChoiceConfig()
