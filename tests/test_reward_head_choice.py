"""The per-project head choice (``reward.head_choice``): K-fold CV on the training labels keeps the
default head on labels that are noise and moves off it where a planted linear reward makes a
regularised head clearly better. The train job's use of it is in ``test_judge_stack.py``."""

from __future__ import annotations

import numpy as np
import pytest

from annotate_app.reward.config import (
    HEAD_VARIANTS,
    HeadChoiceConfig,
    HeadConfig,
    TrainConfig,
    as_params,
    head_variant,
    train_config,
)
from annotate_app.reward.head_choice import choose_head
from annotate_app.reward.pipeline import fit_head

BASE = HeadConfig(members=3, hidden=16, min_steps=50, max_steps=50)
CHOICE = HeadChoiceConfig(folds=3)


def _pairs(kind: str, seed: int, n: int = 300, dim: int = 16):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(n, dim)).astype(np.float32)
    b = rng.normal(size=(n, dim)).astype(np.float32)
    w = rng.normal(size=dim) / np.sqrt(dim) * 3
    p_a = 0.5 if kind == "noise" else 1 / (1 + np.exp(-(a @ w - b @ w)))
    return a, b, (rng.random(n) < p_a).astype(float)


def _fit_predict(a, b, y):
    def fit_predict(head: HeadConfig, fit: np.ndarray, score: np.ndarray) -> np.ndarray:
        model = fit_head(a[fit], b[fit], y[fit], np.ones(len(fit)), head)
        return model.member_probs(a[score], b[score]).mean(0)

    return fit_predict


@pytest.mark.parametrize("seed", [0, 1])
def test_labels_that_are_noise_keep_the_default_head(seed: int) -> None:
    a, b, y = _pairs("noise", seed)
    choice = choose_head(_fit_predict(a, b, y), y, BASE, CHOICE)
    assert choice.variant == "default" and choice.head == BASE
    assert set(choice.cv) == set(HEAD_VARIANTS)
    # every variant was cross-validated; none beat the default beyond its margin
    assert all(
        c["diff"] >= -CHOICE.margin_se * c["se"] for v, c in choice.cv.items() if v != "default"
    )
    assert choice.crossfit is not None and choice.crossfit.shape == y.shape
    assert choice.as_metrics()["head"] == "MLP, 16 hidden units, weight decay 1"


def test_a_planted_linear_reward_moves_the_choice_to_a_regularised_head() -> None:
    a, b, y = _pairs("linear", 0)
    choice = choose_head(_fit_predict(a, b, y), y, BASE, CHOICE)
    assert choice.variant in ("decay10", "linear_decay10")
    assert choice.head == head_variant(BASE, choice.variant)
    won = choice.cv[choice.variant]
    assert won["diff"] < -CHOICE.margin_se * won["se"]
    assert won["cv_log_loss"] == min(c["cv_log_loss"] for c in choice.cv.values())
    # the chosen head's cross-fitted probabilities are the ones it was judged on
    assert ((choice.crossfit > 0.5) == (y > 0.5)).mean() == pytest.approx(won["cv_accuracy"])


def test_too_few_labels_or_the_choice_off_keep_the_default_without_fitting() -> None:
    def never(*_):
        raise AssertionError("no head should be fitted")

    y = np.ones(40)
    few = choose_head(never, y, BASE, HeadChoiceConfig(min_labels=100))
    assert few.variant == "default" and "only 40 training labels" in few.reason
    assert few.crossfit is None
    off = choose_head(never, np.ones(500), BASE, HeadChoiceConfig(enabled=False))
    assert off.variant == "default" and off.reason == "choice off"


def test_head_choice_settings_are_checked_and_old_job_params_still_load() -> None:
    with pytest.raises(ValueError, match="unknown head variant 'wide'"):
        HeadChoiceConfig(variants=("default", "wide"))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least 2 folds"):
        HeadChoiceConfig(folds=1)
    params = as_params(TrainConfig())
    assert train_config(params) == TrainConfig()  # the variants survive JSON as a list
    del params["head_choice"]  # a version trained before the choice existed
    assert train_config(params).head_choice == HeadChoiceConfig()


def test_more_labels_than_max_labels_cut_the_folds_from_a_fixed_sample() -> None:
    seen: set[int] = set()

    def fit_predict(head: HeadConfig, fit: np.ndarray, score: np.ndarray) -> np.ndarray:
        seen.update(fit.tolist(), score.tolist())
        return np.full(len(score), 0.5)

    y = (np.arange(300) % 2).astype(float)
    config = HeadChoiceConfig(folds=3, min_labels=100, max_labels=120)
    choice = choose_head(fit_predict, y, BASE, config)
    assert len(seen) == 120 and seen <= set(range(300))
    # no head is better than another here, and the stack gets no partial cross-fit
    assert choice.n == 120 and choice.variant == "default" and choice.crossfit is None
    with pytest.raises(ValueError, match="max_labels"):
        HeadChoiceConfig(min_labels=100, max_labels=50)
