"""The `auto` bandit on synthetic gains: unbiased importance weights, a planted better arm found,
random kept when no arm is better. No models: each arm's gain per round is drawn from a known law."""

from __future__ import annotations

import numpy as np
import pytest

from annotate_app.active.acquisition import Candidates, acquire
from annotate_app.active.bandit import (
    AutoBandit,
    BanditConfig,
    Round,
    auto_batch,
    gain,
    importance_terms,
    leader_line,
    standings,
)

ARMS = ("random", "bald", "entropy", "balpm", "random_cluster")


def _play(
    true_gain: dict[str, float],
    rounds: int,
    seed: int,
    noise: float = 0.01,
    config: BanditConfig | None = None,
) -> tuple[AutoBandit, bool]:
    """A bandit history; a round's gain is known only after the next round is drawn, as in the
    app and the replay. Also returns whether any arm but random led at any round."""
    rng = np.random.default_rng(seed)
    bandit = AutoBandit(config or BanditConfig(arms=ARMS))
    pending, left = None, False
    for _ in range(rounds):
        r = bandit.draw(rng)
        if pending is not None:
            pending.gain = true_gain[pending.arm] + noise * rng.normal()
        pending = r
        left |= bandit.leader().arm != "random"
    pending.gain = true_gain[pending.arm] + noise * rng.normal()
    return bandit, left


def test_importance_weights_are_unbiased_with_a_known_better_arm() -> None:
    # Fixed, uneven draw probabilities: the rarely drawn arm is the better one, so a plain mean
    # over the rounds where an arm was drawn would still be right, but a mean over all rounds
    # without weights would shrink it by its draw probability; the weighted mean must not.
    probs = {"random": 0.7, "bald": 0.05, "entropy": 0.1, "balpm": 0.1, "random_cluster": 0.05}
    truth = {
        "random": 0.010,
        "bald": 0.030,
        "entropy": 0.000,
        "balpm": 0.010,
        "random_cluster": 0.0,
    }
    rng = np.random.default_rng(0)
    estimates = {a: [] for a in ARMS}
    for _ in range(300):  # many independent bandit histories of 50 rounds each
        rounds = []
        for _ in range(50):
            arm = ARMS[rng.choice(len(ARMS), p=[probs[a] for a in ARMS])]
            rounds.append(Round(arm, probs, truth[arm] + 0.01 * rng.normal(), baseline=0.01))
        for a in ARMS:
            estimates[a].append(importance_terms(rounds, a).mean())
    for a in ARMS:
        est = np.asarray(estimates[a])
        se = est.std(ddof=1) / np.sqrt(len(est))
        assert abs(est.mean() - truth[a]) < 4 * se + 1e-4, (a, est.mean(), truth[a])
    # unweighted, the rarely drawn better arm would look no better than the baseline
    naive = 0.01 + probs["bald"] * (truth["bald"] - 0.01)
    assert np.mean(estimates["bald"]) > naive + 0.015


def test_auto_starts_on_random() -> None:
    bandit = AutoBandit(BanditConfig(arms=ARMS))
    probs = bandit.probabilities()
    assert max(probs, key=probs.get) == "random"
    assert sum(probs.values()) == pytest.approx(1.0)
    assert bandit.leader().arm == "random"


def test_auto_finds_a_planted_better_strategy() -> None:
    truth = {"random": 0.01, "bald": 0.03, "entropy": 0.0, "balpm": 0.01, "random_cluster": 0.005}
    found = 0
    for seed in range(10):
        bandit, _ = _play(truth, rounds=200, seed=seed)
        lead = bandit.leader()
        found += lead.arm == "bald"
        assert lead.arm in ("random", "bald")  # never a worse arm
        if lead.arm == "bald":
            assert lead.low > 0  # it leads only with an interval above random
            probs = bandit.probabilities()
            assert probs["bald"] > 0.7
            rounds = [
                {"arm": r.arm, "probs": r.probs, "gain": r.gain, "baseline": r.baseline}
                for r in bandit.rounds
            ]
            line = leader_line(standings(rounds))
            assert line.startswith("auto follows bald") and "95% interval" in line
    assert found >= 6  # about 0.8 of runs with these gains and noise after 200 batches


def test_auto_stays_on_random_when_nothing_is_better() -> None:
    # After 200 batches at least 95% of runs end on random; counting every look, an equal arm
    # led at some point in about 5% of runs (the bound is per look, not over the whole run).
    truth = dict.fromkeys(ARMS, 0.01)
    runs = [_play(truth, rounds=200, seed=s) for s in range(40)]
    assert sum(b.leader().arm != "random" for b, _ in runs) <= 2  # >= 95% end on random
    assert sum(left for _, left in runs) <= 4


def test_the_uncorrected_rule_would_switch_falsely_more_often() -> None:
    # The same histories under a per-arm 95% interval (alpha not split over the four arms) and no
    # minimum of own batches: the correction is what keeps false leads rare.
    truth = dict.fromkeys(ARMS, 0.01)
    loose = BanditConfig(arms=ARMS, alpha=0.05 * (len(ARMS) - 1), min_pulls=0)
    strict = sum(_play(truth, 100, s)[1] for s in range(30))
    uncorrected = sum(_play(truth, 100, s, config=loose)[1] for s in range(30))
    assert uncorrected > strict + 2


def test_an_arm_that_never_chose_a_batch_cannot_lead() -> None:
    # Random's own draws came in below the baseline: an arm never drawn then looks better than
    # random by exactly that noise, with a tight interval; it must not lead on it.
    probs = dict.fromkeys(ARMS, 0.2)
    rounds = [Round("random", probs, -0.02 + 0.001 * i, baseline=0.01) for i in range(10)]
    bandit = AutoBandit(BanditConfig(arms=ARMS), rounds)
    bald = next(e for e in bandit.estimates() if e.arm == "bald")
    assert bald.low > 0 and bald.pulls == 0
    assert bandit.leader().arm == "random"
    assert AutoBandit(BanditConfig(arms=ARMS, min_pulls=0), rounds).leader().arm != "random"


def test_bandit_config_rejects_arms_without_random() -> None:
    with pytest.raises(ValueError, match="random"):
        BanditConfig(arms=("bald", "entropy"))


def test_auto_batch_keeps_a_uniform_share_apart() -> None:
    rng = np.random.default_rng(1)
    n = 200
    probs = rng.uniform(0.05, 0.95, size=(5, n))
    feats = rng.normal(size=(n, 8)).astype(np.float32)
    c = Candidates(probs, feats, feats[:0])
    chosen, uniform = auto_batch(c, 50, "bald", 0.2, rng)
    assert len(chosen) == 50 and len(set(chosen.tolist())) == 50
    assert len(uniform) == 10 and set(uniform.tolist()) <= set(chosen.tolist())


def test_gain_is_the_log_likelihood_improvement() -> None:
    target = np.array([1.0, 0.0, 1.0])
    assert gain(np.full(3, 0.5), np.array([0.9, 0.1, 0.9]), target) > 0
    assert gain(np.array([0.9, 0.1, 0.9]), np.full(3, 0.5), target) < 0
    assert gain(np.zeros(0), np.zeros(0), np.zeros(0)) == 0.0


def test_exploration_starts_at_nothing_and_grows_with_the_rounds() -> None:
    config = BanditConfig(arms=ARMS)
    bandit = AutoBandit(config)
    assert bandit.probabilities() == {a: (1.0 if a == "random" else 0.0) for a in ARMS}
    rng = np.random.default_rng(0)
    shares = []
    for _ in range(40):
        probs = bandit.probabilities()
        assert sum(probs.values()) == pytest.approx(1.0)
        shares.append(probs["bald"])
        bandit.draw(rng)
    assert shares == sorted(shares)  # no evidence either way: only the ramp moves it
    ramp = config.explore_ramp
    assert shares[ramp] == pytest.approx(config.explore / 2 / len(ARMS))
    assert config.explore_share(10_000) == pytest.approx(config.explore, rel=0.01)
    assert BanditConfig(arms=ARMS, explore_ramp=0).explore_share(0) == config.explore


def test_importance_weights_stay_unbiased_when_the_probabilities_change() -> None:
    # Probabilities that change every round as the ramp and elimination make them, including
    # rounds where an arm cannot be drawn at all: each arm is estimated over the rounds that
    # offered it, and the mean over many histories must be its true gain.
    truth = {"random": 0.01, "bald": 0.03, "entropy": 0.0, "balpm": 0.01, "random_cluster": 0.0}
    rng = np.random.default_rng(3)
    estimates = {a: [] for a in ARMS}
    for _ in range(300):
        rounds = []
        for t in range(40):
            share = 0.3 * t / (t + 10) / len(ARMS)
            probs = dict.fromkeys(ARMS, share)
            if t >= 20:
                probs["entropy"] = 0.0  # eliminated half way
            probs["random"] += 1.0 - sum(probs.values())
            arm = ARMS[rng.choice(len(ARMS), p=[probs[a] for a in ARMS])]
            rounds.append(Round(arm, probs, truth[arm] + 0.01 * rng.normal(), baseline=0.01))
        for e in AutoBandit(BanditConfig(arms=ARMS), rounds).estimates():
            estimates[e.arm].append(e.gain)
    for a in ARMS:
        est = np.asarray(estimates[a])
        se = est.std(ddof=1) / np.sqrt(len(est))
        assert abs(est.mean() - truth[a]) < 4 * se + 1e-4, (a, est.mean(), truth[a])
    # counted over rounds that could not draw it, entropy would look like the baseline there
    assert np.mean(estimates["entropy"]) < 0.005


def test_an_arm_proven_worse_stops_being_drawn() -> None:
    truth = {"random": 0.01, "bald": 0.01, "entropy": -0.03, "balpm": 0.01, "random_cluster": 0.01}
    bandit, _ = _play(truth, rounds=200, seed=1)
    entropy = next(e for e in bandit.estimates() if e.arm == "entropy")
    assert entropy.high < 0 and bandit.proven_worse(entropy)
    first_out = next(i for i, r in enumerate(bandit.rounds) if i and r.probs["entropy"] == 0.0)
    later = bandit.rounds[first_out:]
    assert all(r.probs["entropy"] == 0.0 for r in later)  # final: its estimate no longer moves
    assert all(r.arm != "entropy" for r in later)
    assert all(r.probs["bald"] > 0 for r in later)  # the equal arms are still explored
    assert bandit.leader().arm == "random"
    rounds = [
        {"arm": r.arm, "probs": r.probs, "gain": r.gain, "baseline": r.baseline}
        for r in bandit.rounds
    ]
    table = standings(rounds).set_index("strategy")
    assert not table.loc["entropy", "explored"] and table.loc["bald", "explored"]
    assert leader_line(table.reset_index()).endswith("proven worse than random: entropy")
    # without elimination the same arm keeps its share
    kept, _ = _play(truth, rounds=200, seed=1, config=BanditConfig(arms=ARMS, eliminate=False))
    assert kept.probabilities()["entropy"] > 0


def test_the_random_arm_draws_the_batch_random_would_draw() -> None:
    # Common random numbers: with random's own seed, auto's random batch is random's batch, and
    # its evaluation share a uniform part of it.
    rng = np.random.default_rng(2)
    n = 120
    probs = rng.uniform(0.05, 0.95, size=(5, n))
    feats = rng.normal(size=(n, 8)).astype(np.float32)
    c = Candidates(probs, feats, feats[:0])
    chosen, uniform = auto_batch(c, 30, "random", 0.2, rng, batch_seed=77)
    assert chosen.tolist() == acquire("random", c, 30, 77)[0].tolist()
    assert len(uniform) == 6 and set(uniform.tolist()) <= set(chosen.tolist())
    # the evaluation share is uniform over the candidates: every pair about equally often
    counts = np.zeros(n)
    for seed in range(2000):
        _, u = auto_batch(c, 30, "random", 0.2, np.random.default_rng(seed), batch_seed=seed)
        counts[u] += 1
    expected = 2000 * 6 / n
    assert abs(counts.mean() - expected) < 1e-9 and counts.std() < 4 * np.sqrt(expected)


def test_bandit_config_rejects_bad_exploration() -> None:
    with pytest.raises(ValueError, match="explore"):
        BanditConfig(explore=1.5)
    with pytest.raises(ValueError, match="explore_ramp"):
        BanditConfig(explore_ramp=-1)
