"""The Bradley-Terry loss and the accuracy/calibration arithmetic on hand-made cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from annotate_app.reward.loss import bt_loss
from annotate_app.reward.metrics import expected_calibration_error, log_loss, pairwise_accuracy
from annotate_app.reward.pipeline import heldout_mask, label_targets


def test_bt_loss_is_negative_log_sigmoid_of_the_reward_gap() -> None:
    logits = torch.tensor([2.0, -1.0, 0.0])
    target = torch.tensor([1.0, 0.0, 1.0])
    want = -(math.log(1 / (1 + math.exp(-2))) + math.log(1 / (1 + math.exp(-1))) + math.log(0.5))
    assert bt_loss(logits, target).item() == pytest.approx(want / 3, rel=1e-6)


def test_tie_is_half_a_win_and_is_minimised_at_equal_rewards() -> None:
    gaps = torch.linspace(-3, 3, 61)
    losses = [bt_loss(g.view(1), torch.tensor([0.5])).item() for g in gaps]
    assert gaps[int(np.argmin(losses))].item() == pytest.approx(0.0, abs=1e-6)
    assert min(losses) == pytest.approx(math.log(2), rel=1e-6)


def test_margin_asks_the_winner_to_lead_by_more() -> None:
    gap, target = torch.tensor([1.0]), torch.tensor([1.0])
    plain = bt_loss(gap, target).item()
    with_margin = bt_loss(gap, target, margin=torch.tensor([1.0])).item()
    assert with_margin == pytest.approx(math.log(2), rel=1e-6)  # sigmoid(1 - 1) = 0.5
    assert with_margin > plain
    # for B the margin moves the other way: a gap of -1 with margin 1 is the same as 0
    assert bt_loss(-gap, 1 - target, margin=torch.tensor([1.0])).item() == pytest.approx(
        math.log(2), rel=1e-6
    )


def test_weights_are_bootstrap_counts() -> None:
    logits = torch.tensor([[2.0, -2.0]])
    target = torch.tensor([1.0, 1.0])
    only_first = bt_loss(logits, target, weights=torch.tensor([[1.0, 0.0]])).item()
    assert only_first == pytest.approx(math.log1p(math.exp(-2)), rel=1e-6)
    doubled = bt_loss(logits, target, weights=torch.tensor([[2.0, 2.0]])).item()
    assert doubled == pytest.approx(bt_loss(logits, target).item(), rel=1e-6)


def test_accuracy_counts_coin_flips_as_half_and_skips_ties() -> None:
    p = np.array([0.9, 0.2, 0.5, 0.7, 0.6])
    t = np.array([1.0, 1.0, 0.0, 0.5, 0.0])
    # right, wrong, half, (tie: left out), wrong
    assert pairwise_accuracy(p, t) == pytest.approx(1.5 / 4)
    assert math.isnan(pairwise_accuracy(np.array([0.7]), np.array([0.5])))


def test_log_loss_and_ece_by_hand() -> None:
    assert log_loss(np.array([0.8, 0.5]), np.array([1.0, 0.0])) == pytest.approx(
        -(math.log(0.8) + math.log(0.5)) / 2
    )
    # four confident predictions at 0.9 (or 0.1 for B), three right: |0.75 - 0.9| = 0.15
    p = np.array([0.9, 0.1, 0.9, 0.9])
    t = np.array([1.0, 0.0, 1.0, 0.0])
    assert expected_calibration_error(p, t) == pytest.approx(0.15)
    # perfectly calibrated at 0.75 confidence
    p = np.full(4, 0.75)
    assert expected_calibration_error(p, np.array([1.0, 1.0, 1.0, 0.0])) == pytest.approx(0.0)


def test_label_targets_from_votes() -> None:
    import pandas as pd

    votes = pd.DataFrame(
        {
            "n_a": [2, 0, 1, 1],
            "n_b": [0, 1, 1, 0],
            "n_tie": [0, 0, 0, 1],
            "mean_strength": [2.0, 1.0, 1.5, 0.5],
        }
    )
    target, strength = label_targets(votes)
    assert target.tolist() == [1.0, 0.0, 0.5, 0.75]
    assert strength.tolist() == [2.0, 1.0, 1.0, 1.0]  # split votes never get the margin


def test_heldout_split_is_stable_and_about_the_asked_share() -> None:
    ids = [f"pair-{i}" for i in range(2000)]
    mask = heldout_mask(ids, 0.2)
    assert 0.17 < mask.mean() < 0.23
    assert (heldout_mask(ids[::-1], 0.2)[::-1] == mask).all()  # depends on the id only
