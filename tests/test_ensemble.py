"""The BT ensemble head: it learns a reward, it is unsure where it has seen nothing, it round-trips."""

from __future__ import annotations

import numpy as np

from annotate_app.reward.config import HeadConfig
from annotate_app.reward.head import BTEnsemble, summarize
from annotate_app.reward.metrics import pairwise_accuracy

DIM = 8
SMALL = HeadConfig(members=5, hidden=16, min_steps=100, max_steps=100)


def _pairs(rng: np.random.Generator, n: int, seen: int = DIM):
    """Responses that vary only in the first ``seen`` directions (the rest stay near zero); the
    true reward is linear, labels are BT draws."""
    w = np.linspace(1.0, -1.0, DIM)
    scale = np.where(np.arange(DIM) < seen, 1.0, 0.1)
    a = rng.normal(size=(n, DIM)) * scale
    b = rng.normal(size=(n, DIM)) * scale
    p = 1 / (1 + np.exp(-3 * (a - b) @ w))
    return a.astype(np.float32), b.astype(np.float32), (rng.random(n) < p).astype(float)


def test_learns_the_reward_and_is_less_sure_off_distribution() -> None:
    rng = np.random.default_rng(0)
    a, b, y = _pairs(rng, 400, seen=4)
    model = BTEnsemble(SMALL, DIM).fit(a, b, y)
    ta, tb, ty = _pairs(rng, 300, seen=4)
    p_in, unc_in = summarize(model.member_probs(ta, tb))
    assert pairwise_accuracy(p_in, ty) > 0.75
    # pairs that differ in directions no training pair varied in: nothing pinned those weights
    oa, ob, _ = _pairs(rng, 300)
    oa[:, :4] = ob[:, :4] = 0.0
    _, unc_off = summarize(model.member_probs(oa, ob))
    assert np.median(unc_off) > 2 * np.median(unc_in)


def test_ties_half_or_dropped_and_margin_spreads_rewards(tmp_path) -> None:
    rng = np.random.default_rng(1)
    a, b, y = _pairs(rng, 200)
    y[:50] = 0.5
    dropped = BTEnsemble(HeadConfig(**{**SMALL.__dict__, "ties": "drop"}), DIM).fit(a, b, y)
    half = BTEnsemble(SMALL, DIM).fit(a, b, y)
    assert not np.allclose(dropped.member_probs(a, b), half.member_probs(a, b))
    strong = np.full(len(y), 2.0)
    plain = BTEnsemble(SMALL, DIM).fit(a, b, y, strong)
    margin = BTEnsemble(HeadConfig(**{**SMALL.__dict__, "margin": 2.0}), DIM).fit(a, b, y, strong)
    gap = lambda m: np.abs(m.rewards(a) - m.rewards(b)).mean()  # noqa: E731
    assert gap(margin) > gap(plain)


def test_save_and_load_give_the_same_scores(tmp_path) -> None:
    rng = np.random.default_rng(2)
    a, b, y = _pairs(rng, 100)
    model = BTEnsemble(SMALL, DIM).fit(a, b, y)
    model.save(tmp_path / "m")
    again = BTEnsemble.load(tmp_path / "m")
    np.testing.assert_allclose(model.member_probs(a, b), again.member_probs(a, b), rtol=1e-6)
